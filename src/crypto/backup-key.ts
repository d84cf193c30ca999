import { randomBytes } from 'node:crypto';
import type { SettingsStore } from '../storage/store-types.js';
import type { Keyring } from './keyring.js';
import { rewrapSetting, unwrapFrom, wrapInto, type WrappedSetting } from './wrapped-setting.js';

// The deployment's backup key, stored wrapped by the master keyring in the
// settings table. Backups stay restorable across master key rotations.

export const BACKUP_KEY_SETTING = 'backupKey';
const AAD = 'coffer/backup-key/v1';

export async function loadBackupKey(settings: SettingsStore, keyring: Keyring): Promise<Buffer> {
  const fresh = JSON.stringify(wrapInto(keyring, randomBytes(32), AAD, {}));
  const stored = JSON.parse(await settings.setIfAbsent(BACKUP_KEY_SETTING, fresh)) as WrappedSetting;
  return unwrapFrom(keyring, stored, AAD);
}

export const rewrapBackupKey = (settings: SettingsStore, from: Keyring, to: Keyring): Promise<boolean> => rewrapSetting(settings, BACKUP_KEY_SETTING, () => AAD, from, to);
