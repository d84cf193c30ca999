import assert from 'node:assert/strict';
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { IntegrityError, newDataKey, open, seal, sealedGeneration, vaultKeyAad } from '../src/crypto/envelope.js';
import { createBackupKeys, ensureBackupKey, renewUnsealableBackupKey, type BackupKeys } from '../src/crypto/backup-key.js';
import { createKeyring, type Keyring } from '../src/crypto/keyring.js';
import { renewUnsealableDataKeys, rewrapAll, RotationRefusedError } from '../src/crypto/master-key-rotation.js';
import { createVaultKeys, type VaultKeys } from '../src/crypto/vault-keys.js';
import { unpackBackup } from '../src/secrets/secret-backup.js';
import type { ServiceError } from '../src/server/errors.js';
import { createSecretService } from '../src/secrets/secret-service.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { Store, VaultRow } from '../src/storage/store-types.js';
import { insertVault, vaultRow } from './support/store-conformance-kit.js';

// A master key rotation renews each vault's data key (crypto/vault-keys.ts):
// values written after it are sealed with a key the old master key never
// wrapped, and values written before still open with theirs.

const root = mkdtempSync(join(tmpdir(), 'coffer-renewal-'));
after(() => rmSync(root, { recursive: true, force: true }));

const resolved = async <T>(x: T | Promise<T>): Promise<T> => x;

describe('vault data key renewal', () => {
  let store: Store;
  let keyring: Keyring;
  let masterKeys: Buffer[];
  let keys: VaultKeys;
  let vault: VaultRow;
  let backupKeys: BackupKeys;
  let dbFile: string;

  beforeEach(async () => {
    dbFile = join(mkdtempSync(join(root, 'db-')), 'coffer.db');
    store = openSqliteStore({ file: dbFile });
    masterKeys = [randomBytes(32)];
    keyring = createKeyring(masterKeys[0]!);
    keys = createVaultKeys(keyring, store.vaults);
    await ensureBackupKey(store.settings, keyring);
    backupKeys = createBackupKeys(store.settings, keyring);
    const id = randomUUID();
    vault = await insertVault(store, vaultRow({ id, ...keys.create(id) }));
  });
  afterEach(() => store.close());

  /** Rotates to a new master key (both keys in the keyring, as during a rotation) with this process's VaultKeys told; `vaults`: how many the store holds. */
  async function rotate(vaults = 1): Promise<void> {
    masterKeys.unshift(randomBytes(32));
    keyring = createKeyring(masterKeys[0]!, masterKeys.slice(1));
    keys.useKeyring(keyring);
    backupKeys.useKeyring(keyring);
    const result = await rewrapAll(store, keyring, { renewed: (id, generation, raw) => keys.renewed(id, generation, raw) });
    assert.equal(result.renewedDataKeys, vaults);
    assert.equal(result.renewedBackupKey, true);
  }

  it('after a renewal, a request holding the row from before seals with the new key; both generations open', async () => {
    const before = await resolved(keys.sealingKey(vault));
    assert.equal(before.generation, 0);
    const old = seal(before.key, Buffer.from('before'), 'aad', before.generation);

    await rotate();
    const staleRow = vault;
    const after = await resolved(keys.sealingKey(staleRow));
    assert.equal(after.generation, 1, 'the row from before the rotation does not seal with the old key');
    const renewedBlob = seal(after.key, Buffer.from('after'), 'aad', after.generation);
    assert.equal(sealedGeneration(renewedBlob), 1);
    assert.throws(() => open(before.key, renewedBlob, 'aad'), IntegrityError, 'the old key does not open what the new one sealed');

    const fresh = (await store.vaults.getById(vault.id))!;
    assert.equal(fresh.dekGeneration, 1);
    assert.equal(open(await resolved(keys.openingKey(fresh, 0)), old, 'aad').toString(), 'before');
    assert.equal(open(await resolved(keys.openingKey(staleRow, 1)), renewedBlob, 'aad').toString(), 'after');
  });

  it('a process that has forgotten the vault reads its keys from the store: the new one to seal, earlier ones to open', async () => {
    const old = seal((await resolved(keys.sealingKey(vault))).key, Buffer.from('before'), 'aad');
    await rotate();
    keys.forget(vault.id);
    const found = keys.sealingKey(vault);
    assert.ok(found instanceof Promise, 'a row older than the renewal is not trusted for sealing: the current key is read');
    assert.equal((await found).generation, 1);

    const restarted = createVaultKeys(keyring, store.vaults);
    const fresh = (await store.vaults.getById(vault.id))!;
    const opening = restarted.openingKey(fresh, 0);
    assert.ok(opening instanceof Promise, 'an earlier generation comes from the store');
    assert.equal(open(await opening, old, 'aad').toString(), 'before');
    await assert.rejects(async () => restarted.openingKey(fresh, 7), IntegrityError, 'no such generation');
  });

  it('a read during a rotation, with the row from before and no key in memory, does not put the old key back for the writes that follow', async () => {
    keys.forget(vault.id); // as after a restart: nothing of this vault in memory
    const staleRow = vault;
    await rotate();
    const old = keys.openingKey(staleRow, 0); // a GET that looked the vault up before the rotation
    assert.ok(!(old instanceof Promise));
    const sealing = await resolved(keys.sealingKey(staleRow)); // then a write with the same row
    assert.equal(sealing.generation, 1, 'the write seals with the renewed key');
  });

  it("another cluster member holding the vault's row from before a renewal opens a value sealed after it", async () => {
    const member = createVaultKeys(keyring, store.vaults);
    const staleRow = vault;
    assert.equal((await resolved(member.sealingKey(staleRow))).generation, 0);
    await rotate();
    const renewed = await resolved(keys.sealingKey((await store.vaults.getById(vault.id))!));
    const blob = seal(renewed.key, Buffer.from('after'), 'aad', renewed.generation);
    member.useKeyring(keyring);
    assert.equal(open(await resolved(member.openingKey(staleRow, sealedGeneration(blob))), blob, 'aad').toString(), 'after');
  });

  it('the secret service reads values of every generation, backs them up and restores them, with backups of every generation', async () => {
    const deploymentId = randomUUID();
    const service = createSecretService({ secrets: store.secrets, vaultKeys: keys, backupKeys, deploymentId });
    const put = (value: string, row = vault) => service.set(row, 'db', { value, contentType: null, tags: null, attributes: {} });
    const first = await put('one');
    const oldBlob = await service.backup(vault, 'db');
    await rotate();
    const second = await put('two'); // with the row from before the rotation
    await rotate();
    const fresh = (await store.vaults.getById(vault.id))!;
    assert.equal(fresh.dekGeneration, 2);
    const third = await put('three', fresh);
    const generations = await Promise.all([first, second, third].map(async (s) => sealedGeneration((await store.secrets.getVersion(vault.id, 'db', s.meta.version))!.ciphertext)));
    assert.deepEqual(generations, [0, 1, 2]);

    const restarted = createVaultKeys(keyring, store.vaults);
    const reader = createSecretService({ secrets: store.secrets, vaultKeys: restarted, backupKeys: createBackupKeys(store.settings, keyring), deploymentId });
    for (const [s, value] of [[first, 'one'], [second, 'two'], [third, 'three']] as const) {
      assert.equal((await reader.get(fresh, 'db', s.meta.version)).value, value);
    }
    const blob = await service.backup(fresh, 'db');
    assert.equal(unpackBackup(blob).generation, 2, 'a backup is sealed with the current backup key');
    assert.equal(unpackBackup(oldBlob).generation, 0);
    // Restored by a process that has not held any backup key yet: each generation is read from the store.
    for (const [b, versions] of [[blob, 3], [oldBlob, 1]] as const) {
      await service.delete(fresh, 'db');
      await service.purge(fresh, 'db');
      await reader.restore(fresh, b);
      assert.equal((await service.get(fresh, 'db', first.meta.version)).value, 'one');
      assert.equal((await store.secrets.allVersions(vault.id, 'db', 10)).length, versions);
    }
    assert.equal(sealedGeneration((await store.secrets.getVersion(vault.id, 'db', first.meta.version))!.ciphertext), 2, 'a restore seals with the current key');
  });

  it('a write in progress holds a rotation back, and a write asked for during it waits, then seals with the new key', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let sealedWith = -1;
    const inProgress = keys.writing(async () => {
      sealedWith = (await resolved(keys.sealingKey(vault))).generation;
      await held;
    });
    let rotated = false;
    const rotation = keys.rotating(async () => {
      await rotate();
      rotated = true;
    });
    let laterSealedWith = -1;
    const later = keys.writing(async () => {
      laterSealedWith = (await resolved(keys.sealingKey(vault))).generation;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(rotated, false, 'the rotation waits for the write in progress');
    assert.equal(laterSealedWith, -1, 'the later write waits for the rotation');
    release();
    await Promise.all([inProgress, rotation, later]);
    assert.equal(sealedWith, 0);
    assert.equal(laterSealedWith, 1);
  });

  it('a rotation over many vaults lets other work run between vaults (SQLite answers synchronously)', async () => {
    for (let i = 0; i < 20; i++) {
      const id = randomUUID();
      await insertVault(store, vaultRow({ id, name: `many-${i}`, ...keys.create(id) }));
    }
    const order: string[] = [];
    setImmediate(() => order.push('other work'));
    await rotate(21).then(() => order.push('rotation done'));
    assert.deepEqual(order, ['other work', 'rotation done']);
  });

  it('a vault key that does not open stops the rotation before it changes anything, with the vault named', async () => {
    await rotate(); // a backup key and a vault of generation 1, and an earlier generation
    await store.vaults.rewrapKey({ id: vault.id, generation: 0, dekWrapped: randomBytes(60), masterKeyId: keyring.primaryId });
    const backupBefore = await store.settings.get('backupKey');
    masterKeys.unshift(randomBytes(32));
    keyring = createKeyring(masterKeys[0]!, masterKeys.slice(1));
    await assert.rejects(rewrapAll(store, keyring), (err: Error) => err instanceof RotationRefusedError && err.message.startsWith(`the data key of vault ${vault.id} (generation 0, master key `) && /Nothing was changed/.test(err.message));
    assert.equal((await store.vaults.getById(vault.id))!.dekGeneration, 1, 'no data key was renewed');
    assert.equal(await store.settings.get('backupKey'), backupBefore, 'nor the backup key');
  });

  it('an earlier generation put back as the current key seals nothing once its master key is gone; a start renews it', async () => {
    const before = await resolved(keys.sealingKey(vault));
    await rotate();
    // The rotation is over: only the new master key is left.
    keyring = createKeyring(masterKeys[0]!);
    const earlier = (await store.vaults.earlierKey(vault.id, 0))!;
    // A database writer who knows generation 0's key (the old master key and a copy) makes it current again.
    const db = new Database(dbFile);
    db.prepare('UPDATE vaults SET dek_wrapped = ?, master_key_id = ?, dek_generation = 0 WHERE id = ?').run(earlier.dekWrapped, earlier.masterKeyId, vault.id);
    db.prepare('DELETE FROM vault_earlier_keys WHERE vault_id = ?').run(vault.id);
    db.close();
    const member = createVaultKeys(keyring, store.vaults);
    const downgraded = (await store.vaults.getById(vault.id))!;
    assert.equal(member.openingKey(downgraded, 0) instanceof Promise, false, 'it still opens what it sealed');
    await assert.rejects(async () => member.sealingKey(downgraded), (err: Error) => err instanceof IntegrityError && /was made under a master key that is no longer in use/.test(err.message));
    // A write through the service is refused with a 500 that says what to do.
    const service = createSecretService({ secrets: store.secrets, vaultKeys: member, backupKeys: createBackupKeys(store.settings, keyring), deploymentId: randomUUID() });
    await assert.rejects(service.set(downgraded, 'after', { value: 'x', contentType: null, tags: null, attributes: {} }), (err: ServiceError) =>
      err.status === 500 && err.message === `The data key of vault ${downgraded.name} was made under a master key that is no longer in use, so nothing is sealed with it. Restart the server to renew it.`);

    assert.deepEqual(await renewUnsealableDataKeys(store, keyring), { unrecorded: 0, foreign: 1, rolledBack: [] });
    const renewed = (await store.vaults.getById(vault.id))!;
    const sealing = await resolved(createVaultKeys(keyring, store.vaults).sealingKey(renewed));
    assert.equal(sealing.generation, 1);
    const blob = seal(sealing.key, Buffer.from('after'), 'aad', sealing.generation);
    assert.throws(() => open(before.key, blob, 'aad'), IntegrityError, 'what is sealed now does not open with the key put back');
    assert.deepEqual(await renewUnsealableDataKeys(store, keyring), { unrecorded: 0, foreign: 0, rolledBack: [] }, 'nothing more to renew');
  });

  it('a vault row put back from before a renewal, its later generation still stored, is named and left alone; a rotation refuses', async () => {
    await rotate();
    keyring = createKeyring(masterKeys[0]!);
    const earlier = (await store.vaults.earlierKey(vault.id, 0))!;
    const db = new Database(dbFile);
    db.prepare('UPDATE vaults SET dek_wrapped = ?, master_key_id = ?, dek_generation = 0 WHERE id = ?').run(earlier.dekWrapped, earlier.masterKeyId, vault.id);
    db.close();
    assert.deepEqual(await renewUnsealableDataKeys(store, keyring), { unrecorded: 0, foreign: 0, rolledBack: [{ id: vault.id, generation: 0, newestEarlier: 0 }] });
    assert.equal((await store.vaults.getById(vault.id))!.dekGeneration, 0, 'not renewed: a renewal would collide with the generation stored');
    masterKeys.unshift(randomBytes(32));
    await assert.rejects(rewrapAll(store, createKeyring(masterKeys[0]!, masterKeys.slice(1))), (err: Error) => err instanceof RotationRefusedError && /put back from before a key renewal/.test(err.message));
  });

  it('a data key wrapped before births were recorded is renewed once at start, and its values still open', async () => {
    const legacy = newDataKey();
    const { sealed, keyId } = keyring.wrap(legacy, vaultKeyAad(vault.id, 0));
    await store.vaults.rewrapKey({ id: vault.id, generation: 0, dekWrapped: sealed, masterKeyId: keyId });
    const old = seal(createSecretKey(legacy), Buffer.from('legacy'), 'aad', 0);
    await assert.rejects(async () => createVaultKeys(keyring, store.vaults).sealingKey((await store.vaults.getById(vault.id))!), IntegrityError);
    assert.deepEqual(await renewUnsealableDataKeys(store, keyring), { unrecorded: 1, foreign: 0, rolledBack: [] });
    const restarted = createVaultKeys(keyring, store.vaults);
    const row = (await store.vaults.getById(vault.id))!;
    assert.equal((await resolved(restarted.sealingKey(row))).generation, 1);
    assert.equal(open(await resolved(restarted.openingKey(row, 0)), old, 'aad').toString(), 'legacy');
  });

  it('an earlier backup key relabelled as made under the current master key does not seal, even in a process that opened it for a restore', async () => {
    const leaked = await backupKeys.sealing();
    await rotate();
    keyring = createKeyring(masterKeys[0]!);
    const restarted = createBackupKeys(store.settings, keyring);
    assert.ok((await restarted.opening(0))!.equals(leaked.key), 'a restore of an old backup opens generation 0');
    const stored = JSON.parse((await store.settings.get('backupKey'))!) as { earlier: Record<string, { born: string }> };
    // The label is not authenticated until the wrapping is opened under it: a cached key must not vouch for it.
    await store.settings.set('backupKey', JSON.stringify({ ...stored.earlier['0'], born: keyring.primaryId }));
    await assert.rejects(restarted.sealing());
    await assert.rejects(createBackupKeys(store.settings, keyring).sealing());
  });

  it('a backup or restore whose backup key fails its check answers an Azure-style 500 naming the key, its reason kept for the log', async () => {
    const service = (k: Keyring) => createSecretService({ secrets: store.secrets, vaultKeys: createVaultKeys(k, store.vaults), backupKeys: createBackupKeys(store.settings, k), deploymentId: 'd' });
    await service(keyring).set(vault, 'db', { value: 'x', contentType: null, tags: null, attributes: {} });
    const oldBlob = await service(keyring).backup(vault, 'db');
    await rotate();
    const integrity = (what: string, why: RegExp) => (err: ServiceError) =>
      err.status === 500 && err.code === 'InternalServerError' && err.message === `The stored data for ${what} failed its integrity check and cannot be returned.` && why.test((err.cause as Error).message);
    // Generation 0 is wrapped under the master key from before the rotation; a server given only the new one cannot open it.
    const stored = JSON.parse((await store.settings.get('backupKey'))!) as { earlier: Record<string, { keyId: string }> };
    await store.settings.set('backupKey', JSON.stringify({ ...stored, earlier: { 0: { ...stored.earlier['0']!, keyId: 'feedfeedfeedfeed' } } }));
    await assert.rejects(service(keyring).restore(vault, oldBlob), integrity('the backup key of generation 0', /master key feedfeedfeedfeed is not in the keyring/));
    // The current one relabelled: it does not open under its AAD.
    const current = JSON.parse((await store.settings.get('backupKey'))!) as { born: string };
    await store.settings.set('backupKey', JSON.stringify({ ...current, born: 'another' }));
    await assert.rejects(service(keyring).backup(vault, 'db'), integrity('the backup key', /./));
  });

  it('an earlier backup key put back as the current one seals nothing once its master key is gone; a start renews it', async () => {
    const leaked = await backupKeys.sealing();
    await rotate();
    keyring = createKeyring(masterKeys[0]!);
    const stored = JSON.parse((await store.settings.get('backupKey'))!) as { earlier: Record<string, object> };
    await store.settings.set('backupKey', JSON.stringify(stored.earlier['0']));
    await assert.rejects(createBackupKeys(store.settings, keyring).sealing(), /was made under a master key that is no longer in use/);
    const service = createSecretService({ secrets: store.secrets, vaultKeys: createVaultKeys(keyring, store.vaults), backupKeys: createBackupKeys(store.settings, keyring), deploymentId: randomUUID() });
    await service.set((await store.vaults.getById(vault.id))!, 'db', { value: 'x', contentType: null, tags: null, attributes: {} });
    await assert.rejects(service.backup((await store.vaults.getById(vault.id))!, 'db'), (err: ServiceError) => err.status === 500 && /^The backup key was made under a master key that is no longer in use/.test(err.message));
    assert.equal(await renewUnsealableBackupKey(store.settings, keyring), true);
    const sealing = await createBackupKeys(store.settings, keyring).sealing();
    assert.equal(sealing.generation, 1);
    assert.ok(!sealing.key.equals(leaked.key));
    assert.equal(await renewUnsealableBackupKey(store.settings, keyring), false, 'nothing more to renew');
  });
});
