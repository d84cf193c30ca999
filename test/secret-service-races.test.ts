import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { createBackupKeys, ensureBackupKey, type BackupKeys } from '../src/crypto/backup-key.js';
import { createKeyring } from '../src/crypto/keyring.js';
import { createVaultKeys, type VaultKeys } from '../src/crypto/vault-keys.js';
import { MAX_BACKUP_VERSIONS, openBackup, unpackBackup } from '../src/secrets/secret-backup.js';
import { createSecretService, type SecretService } from '../src/secrets/secret-service.js';
import { ServiceError } from '../src/server/errors.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { SecretStore, Store, VaultRow } from '../src/storage/store-types.js';
import { insertVault, vaultRow } from './support/store-conformance-kit.js';

// The secrets service reads a secret more than once for some operations; a
// change landing between its reads must give a clean answer, never a blob
// without versions or a 500. The interleaving is forced: the real store is
// wrapped so that the change happens exactly between the two reads.

const root = mkdtempSync(join(tmpdir(), 'coffer-races-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('secret service: changes between its reads', () => {
  let store: Store;
  let vault: VaultRow;
  let backupKeys: BackupKeys;
  const deploymentId = randomUUID();
  let vaultKeys: VaultKeys;

  beforeEach(async () => {
    store = openSqliteStore({ file: join(mkdtempSync(join(root, 'db-')), 'coffer.db') });
    const keyring = createKeyring(randomBytes(32));
    vaultKeys = createVaultKeys(keyring, store.vaults);
    await ensureBackupKey(store.settings, keyring);
    backupKeys = createBackupKeys(store.settings, keyring);
    const id = randomUUID();
    vault = vaultRow({ id, ...vaultKeys.create(id) });
    await insertVault(store, vault);
  });
  afterEach(() => store.close());

  /** The service over the real store, with `before` run just before allVersions reads. */
  function serviceWith(before: (vaultId: string, name: string) => Promise<void>): SecretService {
    const secrets: SecretStore = {
      ...store.secrets,
      allVersions: async (vaultId, name, limit) => {
        await before(vaultId, name);
        return store.secrets.allVersions(vaultId, name, limit);
      },
    };
    return createSecretService({ secrets, vaultKeys, backupKeys, deploymentId });
  }

  const input = (value: string) => ({ value, contentType: null, tags: null, attributes: {} });

  it('a backup whose secret is purged between its reads answers 404, not an empty blob', async () => {
    const service = serviceWith(async (vaultId, name) => {
      assert.equal(await store.secrets.purge(vaultId, name), true);
    });
    await service.set(vault, 'racing', input('v1'));
    await assert.rejects(service.backup(vault, 'racing'), (err: unknown) => {
      assert.ok(err instanceof ServiceError, String(err));
      assert.equal(err.status, 404);
      assert.equal(err.code, 'SecretNotFound');
      return true;
    });
  });

  it('a backup whose secret gains a version between its reads holds every version it read', async () => {
    const service = serviceWith(async () => {
      await createSecretService({ secrets: store.secrets, vaultKeys, backupKeys, deploymentId }).set(vault, 'growing', input('v2'));
    });
    await service.set(vault, 'growing', input('v1'));
    const { sealed, generation } = unpackBackup(await service.backup(vault, 'growing'));
    const content = openBackup(await backupKeys.opening(generation), deploymentId, sealed);
    assert.deepEqual(content.versions.map((v) => v.value).sort(), ['v1', 'v2']);
    assert.equal(content.name, 'growing');
  });
  it('a backup of a secret with more versions than a backup takes reads one past the limit, not all of them', async () => {
    const read: number[] = [];
    const service = createSecretService({
      secrets: { ...store.secrets, allVersions: async (vaultId, name, limit) => {
        const rows = await store.secrets.allVersions(vaultId, name, limit);
        read.push(rows.length);
        return rows;
      } },
      vaultKeys,
      backupKeys,
      deploymentId,
    });
    await Promise.all(Array.from({ length: MAX_BACKUP_VERSIONS + 50 }, (_, i) => service.set(vault, 'many', input(`v${i}`))));
    await assert.rejects(service.backup(vault, 'many'), (err: unknown) => err instanceof ServiceError && err.status === 400 && /more than 500 versions/.test(err.message));
    assert.deepEqual(read, [MAX_BACKUP_VERSIONS + 1]);
  });
});
