import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

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

export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([FORMAT]), iv, cipher.getAuthTag(), body]);
}

export function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < HEADER || sealed[0] !== FORMAT) {
    throw new IntegrityError('sealed data has an unknown format');
  }
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, HEADER);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(sealed.subarray(HEADER)), decipher.final()]);
  } catch {
    throw new IntegrityError('sealed data failed authentication (tampered, moved or wrong key)');
  }
}

/** Associated data binding a secret value to its identity. */
export const secretAad = (vaultId: string, nameKey: string, version: string): string =>
  `coffer/secret/v1|${vaultId}|${nameKey}|${version}`;

export const vaultKeyAad = (vaultId: string): string => `coffer/vault-dek/v1|${vaultId}`;

export const signingKeyAad = (kid: string): string => `coffer/signing-key/v1|${kid}`;

export const backupAad = (deploymentId: string): string => `coffer/backup/v1|${deploymentId}`;

export const newDataKey = (): Buffer => randomBytes(32);
