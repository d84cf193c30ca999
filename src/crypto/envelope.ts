import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { pooledRandomBytes } from './random-pool.js';

// Sealed blob layout: [1 byte format][12 byte IV][16 byte tag][ciphertext].
// AES-256-GCM authenticates the associated data, so a blob moved to another
// vault, name or version (or a swapped row) fails to open instead of
// decrypting to the wrong plaintext.
const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER = 1 + IV_BYTES + TAG_BYTES;

export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** A key as raw bytes, or as a KeyObject made once (cheaper per use: no key import each time). */
export type SealKey = Buffer | KeyObject;

export function seal(key: SealKey, plaintext: Buffer, aad: string): Buffer {
  const iv = pooledRandomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([FORMAT]), iv, cipher.getAuthTag(), body]);
}

export function open(key: SealKey, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < HEADER || sealed[0] !== FORMAT) {
    throw new IntegrityError('sealed data has an unknown format');
  }
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, HEADER);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    const body = decipher.update(sealed.subarray(HEADER));
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

export const vaultKeyAad = (vaultId: string): string => `coffer/vault-dek/v1|${vaultId}`;

/** A retired key is resealed with its retirement bound in: a database writer cannot make it active again, or move the time. */
export const signingKeyAad = (kid: string, retiredAt: number | null = null): string => `coffer/signing-key/v1|${kid}${retiredAt === null ? '' : `|retired:${retiredAt}`}`;

export const backupAad = (deploymentId: string): string => `coffer/backup/v1|${deploymentId}`;

export const newDataKey = (): Buffer => randomBytes(32);
