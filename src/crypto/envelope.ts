import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { pooledRandomBytes } from './random-pool.js';

// Sealed blob layout: [1 byte format][12 byte IV][16 byte tag][ciphertext],
// or with format 2 [2][4 byte key generation, big-endian][IV][tag][ciphertext]
// for a value sealed by a vault's data key after it was renewed (generation 1
// on). The generation only says which key to try: a wrong one fails to open.
// AES-256-GCM authenticates the associated data, so a blob moved to another
// vault, name or version (or a swapped row) fails to open instead of
// decrypting to the wrong plaintext.
const FORMAT = 1;
const FORMAT_WITH_GENERATION = 2;
const GENERATION_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CIPHER_HEADER = IV_BYTES + TAG_BYTES;
const MAX_GENERATION = 0xffffffff;

export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** A key as raw bytes, or as a KeyObject made once (cheaper per use: no key import each time). */
export type SealKey = Buffer | KeyObject;

/** Seals under `key`; a `generation` above 0 (a renewed vault data key) is written into the blob's header. */
export function seal(key: SealKey, plaintext: Buffer, aad: string, generation = 0): Buffer {
  if (!Number.isInteger(generation) || generation < 0 || generation > MAX_GENERATION) throw new RangeError(`key generation ${generation} is out of range`);
  const iv = pooledRandomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  if (generation === 0) return Buffer.concat([Buffer.from([FORMAT]), iv, cipher.getAuthTag(), body]);
  const head = Buffer.alloc(1 + GENERATION_BYTES);
  head[0] = FORMAT_WITH_GENERATION;
  head.writeUInt32BE(generation, 1);
  return Buffer.concat([head, iv, cipher.getAuthTag(), body]);
}

/** Where the IV starts, by format; throws for a blob of no known format or too short for its header. */
function cipherStart(sealed: Buffer): number {
  const start = sealed[0] === FORMAT ? 1 : sealed[0] === FORMAT_WITH_GENERATION ? 1 + GENERATION_BYTES : -1;
  if (start < 0 || sealed.length < start + CIPHER_HEADER) throw new IntegrityError('sealed data has an unknown format');
  return start;
}

/** The generation of the key that sealed `sealed` (0 for a blob without one). */
export function sealedGeneration(sealed: Buffer): number {
  return cipherStart(sealed) === 1 ? 0 : sealed.readUInt32BE(1);
}

export function open(key: SealKey, sealed: Buffer, aad: string): Buffer {
  const start = cipherStart(sealed);
  const iv = sealed.subarray(start, start + IV_BYTES);
  const tag = sealed.subarray(start + IV_BYTES, start + CIPHER_HEADER);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    const body = decipher.update(sealed.subarray(start + CIPHER_HEADER));
    // GCM is a stream mode: final() only checks the tag and returns nothing.
    const rest = decipher.final();
    return rest.length === 0 ? body : Buffer.concat([body, rest]);
  } catch {
    throw new IntegrityError('sealed data failed authentication (tampered, moved or wrong key)');
  }
}

/** Associated data binding a secret value to its identity. */
export const secretAad = (vaultId: string, nameKey: string, version: string): string =>
  `coffer/secret/v1|${vaultId}|${nameKey}|${version}`;

/** A vault data key's wrapping binds its vault and, once renewed, its generation (the first one's AAD predates generations). */
export const vaultKeyAad = (vaultId: string, generation = 0): string => `coffer/vault-dek/v1|${vaultId}${generation === 0 ? '' : `|generation:${generation}`}`;

/** A retired key is resealed with its retirement bound in: a database writer cannot make it active again, or move the time. */
export const signingKeyAad = (kid: string, retiredAt: number | null = null): string => `coffer/signing-key/v1|${kid}${retiredAt === null ? '' : `|retired:${retiredAt}`}`;

export const backupAad = (deploymentId: string): string => `coffer/backup/v1|${deploymentId}`;

export const newDataKey = (): Buffer => randomBytes(32);
