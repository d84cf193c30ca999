import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BACKUP_KEY_SETTING, checkRenewedBackupKey, ensureBackupKey, renewBackupKeyWrapping, rewrapBackupKeys } from '../src/crypto/backup-key.js';
import { createKeyring, type Keyring } from '../src/crypto/keyring.js';
import { rewrapAll } from '../src/crypto/master-key-rotation.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { SettingsStore, Store } from '../src/storage/store-types.js';

// While a master key rotation runs, the keyring still holds the old master key,
// and whoever else holds it (the reason for rotating) could put a backup key of
// their own in the settings row, labelled as made under the new one: the
// rotation's rewrap would then take it under the new master key, and backups
// made after the rotation would open with it. The rotation checks, after the
// rewrap, that the current backup key is the one its renewal made.

describe('the backup key renewed by a master key rotation', () => {
  let dir: string;
  let store: Store;
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const old = createKeyring(oldKey);
  const both = createKeyring(newKey, [oldKey]);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-backup-key-'));
    store = openSqliteStore({ file: join(dir, 'coffer.db') });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A backup key of the planter's own, as generation `generation`, wrapped under the old master key and labelled as born under the new one. */
  const planted = (keyring: Keyring, stored: Record<string, unknown>, generation: number) => {
    const { sealed, keyId } = keyring.wrap(randomBytes(32), `coffer/backup-key/v1|generation:${generation}|born:${both.primaryId}`);
    return JSON.stringify({ ...stored, keyId, sealed: sealed.toString('base64'), born: both.primaryId, generation });
  };

  it('refuses a current key put in its place after the renewal, which the rewrap would take', async () => {
    await ensureBackupKey(store.settings, old);
    const renewed = (await renewBackupKeyWrapping(store.settings, both))!;
    assert.ok(renewed);
    await rewrapBackupKeys(store.settings, both);
    await checkRenewedBackupKey(store.settings, renewed);
    const stored = JSON.parse((await store.settings.get(BACKUP_KEY_SETTING))!) as Record<string, unknown>;
    await store.settings.set(BACKUP_KEY_SETTING, planted(old, stored, 1));
    assert.equal(await rewrapBackupKeys(store.settings, both), true, 'the rewrap takes it under the new master key');
    await assert.rejects(checkRenewedBackupKey(store.settings, renewed), /backup key was changed in the database while the master key rotation renewed it/);
  });

  it('stops a rotation whose backup key is replaced between its renewal and its rewrap', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'coffer-backup-key-'));
    const fresh = openSqliteStore({ file: join(dir2, 'coffer.db') });
    try {
      await ensureBackupKey(fresh.settings, old);
      // The planter acts right after the renewal's write, as a trigger could.
      let renewals = 0;
      const settings: SettingsStore = {
        ...fresh.settings,
        async replace(key, expected, value) {
          const done = await fresh.settings.replace(key, expected, value);
          if (done && key === BACKUP_KEY_SETTING && ++renewals === 1) {
            await fresh.settings.set(key, planted(old, JSON.parse(value) as Record<string, unknown>, 1));
          }
          return done;
        },
      };
      await assert.rejects(rewrapAll({ ...fresh, settings }, both), /backup key was changed in the database while the master key rotation renewed it/);
    } finally {
      await fresh.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
