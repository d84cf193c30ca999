import { open, seal, backupAad, IntegrityError, sealedGeneration } from '../crypto/envelope.js';
import { errors } from '../server/errors.js';

// A backup blob is the secret's versions sealed with the deployment's backup
// key: authenticated, opaque, and restorable only into this deployment. The
// sealed part names the key's generation (crypto/backup-key.ts) from the
// first renewal on.

export interface BackupVersion {
  version: string;
  value: string;
  contentType: string | null;
  tags: Record<string, string> | null;
  enabled: boolean;
  nbf: number | null;
  exp: number | null;
  created: number;
  updated: number;
}

export interface BackupContent {
  format: 1;
  name: string;
  versions: BackupVersion[];
}

const PREFIX = Buffer.from('COFFERBK1');
export const MAX_BACKUP_VERSIONS = 500;
/**
 * The most a backup's content may hold (its JSON, before sealing): its blob
 * (base64) then stays well inside the 32 MiB a restore accepts, and building
 * it stays well inside the server's heap. JSON escaping can make a value up
 * to six times its size, so the count of versions alone bounds nothing.
 */
export const MAX_BACKUP_BYTES = 8 * 1024 * 1024;

/** The bytes a version adds to a backup's content. */
export const backupBytes = (v: BackupVersion): number => Buffer.byteLength(JSON.stringify(v)) + 1;

export function sealBackup(key: Buffer, generation: number, deploymentId: string, content: BackupContent): string {
  const body = seal(key, Buffer.from(JSON.stringify(content), 'utf8'), backupAad(deploymentId), generation);
  return Buffer.concat([PREFIX, body]).toString('base64url');
}

/** The sealed part of a blob, and the generation of the backup key it names; a blob of no known form is a bad backup. */
export function unpackBackup(blob: string): { sealed: Buffer; generation: number } {
  const raw = Buffer.from(blob, 'base64url');
  if (raw.length <= PREFIX.length || !raw.subarray(0, PREFIX.length).equals(PREFIX)) throw errors.badBackup();
  const sealed = raw.subarray(PREFIX.length);
  try {
    return { sealed, generation: sealedGeneration(sealed) };
  } catch (err) {
    if (err instanceof IntegrityError) throw errors.badBackup();
    throw err;
  }
}

/** Opens an unpacked blob with its generation's key (null: the deployment has no key of that generation). */
export function openBackup(key: Buffer | null, deploymentId: string, sealed: Buffer): BackupContent {
  if (!key) throw errors.badBackup();
  let plain: Buffer;
  try {
    plain = open(key, sealed, backupAad(deploymentId));
  } catch (err) {
    if (err instanceof IntegrityError) throw errors.badBackup();
    throw err;
  }
  const content = JSON.parse(plain.toString('utf8')) as BackupContent;
  if (content.format !== 1 || !Array.isArray(content.versions) || content.versions.length === 0 || typeof content.name !== 'string') throw errors.badBackup();
  return content;
}
