import { randomBytes } from 'node:crypto';
import type { SettingsStore } from '../storage/store-types.js';
import type { Keyring } from './keyring.js';

// The deployment's backup key, stored wrapped by the master keyring in the
// settings table. Backups stay restorable across master key rotations.

const SETTING = 'backupKey';
const AAD = 'coffer/backup-key/v1';

interface Stored {
  keyId: string;
  sealed: string;
}

export async function loadBackupKey(settings: SettingsStore, keyring: Keyring): Promise<Buffer> {
  const fresh = (): string => {
    const { sealed, keyId } = keyring.wrap(randomBytes(32), AAD);
    return JSON.stringify({ keyId, sealed: sealed.toString('base64') } satisfies Stored);
  };
  const stored = JSON.parse(await settings.setIfAbsent(SETTING, fresh())) as Stored;
  return keyring.unwrap(stored.keyId, Buffer.from(stored.sealed, 'base64'), AAD);
}

export async function rewrapBackupKey(settings: SettingsStore, from: Keyring, to: Keyring): Promise<boolean> {
  const raw = await settings.get(SETTING);
  if (!raw) return false;
  const stored = JSON.parse(raw) as Stored;
  if (stored.keyId === to.primaryId) return false;
  const key = from.unwrap(stored.keyId, Buffer.from(stored.sealed, 'base64'), AAD);
  const { sealed, keyId } = to.wrap(key, AAD);
  await settings.set(SETTING, JSON.stringify({ keyId, sealed: sealed.toString('base64') } satisfies Stored));
  return true;
}
