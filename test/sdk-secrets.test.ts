import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SecretClient } from '@azure/keyvault-secrets';
import { createVault, credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Every SecretClient method of the official SDK against a running server over
// HTTPS, with the SDK's challenge-resource verification left on.

const VERSION_RE = /^[0-9a-f]{32}$/;

describe('@azure/keyvault-secrets against coffer', () => {
  let server: TestServer;
  let client: SecretClient;
  const vault = 'sdk-vault';

  before(async () => {
    server = await startTestServer();
    await createVault(server, vault, { softDeleteRetentionInDays: 7 });
    client = secretClient(server, vault);
  });
  after(() => server?.stop());

  it('sets and gets a secret with and without a version, ids as Azure forms them', async () => {
    const value = '{"username": "USERNAME", "password": "PASSWORD"}';
    const set = await client.setSecret('apono-mysql-user', value, { contentType: 'application/json', tags: { team: 'data' } });
    assert.equal(set.value, value);
    assert.match(set.properties.version!, VERSION_RE);
    assert.equal(set.properties.id, `${server.vaultUrl(vault)}/secrets/apono-mysql-user/${set.properties.version}`);
    assert.equal(set.properties.vaultUrl, server.vaultUrl(vault));
    assert.equal(set.properties.contentType, 'application/json');
    assert.deepEqual(set.properties.tags, { team: 'data' });
    assert.equal(set.properties.enabled, true);
    assert.equal(set.properties.recoverableDays, 7);
    assert.equal(set.properties.recoveryLevel, 'CustomizedRecoverable+Purgeable');
    assert.ok(set.properties.createdOn instanceof Date);
    assert.ok(Math.abs(set.properties.createdOn!.getTime() - Date.now()) < 60_000);

    const latest = await client.getSecret('apono-mysql-user');
    assert.equal(latest.value, value);
    assert.equal(latest.properties.version, set.properties.version);
    const byVersion = await client.getSecret('APONO-MYSQL-USER', { version: set.properties.version });
    assert.equal(byVersion.value, value);
  });

  it('latest follows the newest version; old versions stay readable', async () => {
    const v1 = await client.setSecret('rotating', 'one');
    const v2 = await client.setSecret('rotating', 'two');
    assert.notEqual(v1.properties.version, v2.properties.version);
    assert.equal((await client.getSecret('rotating')).value, 'two');
    assert.equal((await client.getSecret('rotating', { version: v1.properties.version })).value, 'one');
    const versions = [];
    for await (const p of client.listPropertiesOfSecretVersions('rotating')) versions.push(p.version);
    assert.deepEqual(versions.sort(), [v1.properties.version, v2.properties.version].sort());
  });

  it('lists no versions (200, as Azure) for a secret that does not exist or is deleted', async () => {
    const names = async (name: string) => {
      const found: string[] = [];
      for await (const p of client.listPropertiesOfSecretVersions(name)) found.push(p.version!);
      for await (const page of client.listPropertiesOfSecretVersions(name).byPage()) found.push(...page.map((p) => p.version!));
      return found;
    };
    assert.deepEqual(await names('never-existed'), []);
    await client.setSecret('versions-then-deleted', 'v');
    assert.equal((await names('versions-then-deleted')).length, 2);
    await (await client.beginDeleteSecret('versions-then-deleted')).pollUntilDone();
    assert.deepEqual(await names('versions-then-deleted'), []);
  });

  it('lists more than 25 secrets across pages without values', async () => {
    for (let i = 0; i < 30; i++) await client.setSecret(`page-${String(i).padStart(2, '0')}`, `v${i}`);
    const names: string[] = [];
    let pages = 0;
    for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 25 })) {
      pages++;
      for (const p of page) {
        names.push(p.name);
        assert.equal((p as { value?: string }).value, undefined);
        assert.equal(p.id, `${server.vaultUrl(vault)}/secrets/${p.name}`);
      }
    }
    assert.ok(pages >= 2, `expected several pages, got ${pages}`);
    const paged = names.filter((n) => n.startsWith('page-'));
    assert.equal(paged.length, 30);
    assert.equal(new Set(names).size, names.length, 'no duplicates across pages');
  });

  it('updates properties but not the value', async () => {
    const set = await client.setSecret('updatable', 'keep-me');
    const exp = new Date(Math.floor(Date.now() / 1000 + 86400) * 1000);
    const updated = await client.updateSecretProperties('updatable', set.properties.version!, { enabled: true, tags: { a: 'b' }, contentType: 'text/plain', expiresOn: exp });
    assert.deepEqual(updated.tags, { a: 'b' });
    assert.equal(updated.contentType, 'text/plain');
    assert.equal(updated.expiresOn?.getTime(), exp.getTime());
    assert.equal((await client.getSecret('updatable')).value, 'keep-me');
  });

  it('a disabled secret answers 403 SecretDisabled', async () => {
    const set = await client.setSecret('switch', 'off soon');
    await client.updateSecretProperties('switch', set.properties.version!, { enabled: false });
    await assert.rejects(client.getSecret('switch'), (err: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(err.statusCode, 403);
      assert.equal(err.code, 'Forbidden');
      assert.match(err.message, /disabled secret/);
      return true;
    });
  });

  it('deletes, shows and lists deleted, recovers, deletes and purges', async () => {
    await client.setSecret('doomed', 'bye');
    const poller = await client.beginDeleteSecret('doomed');
    const deleted = await poller.pollUntilDone();
    assert.equal(deleted.name, 'doomed');
    assert.equal(deleted.recoveryId, `${server.vaultUrl(vault)}/deletedsecrets/doomed`);
    assert.ok(deleted.deletedOn instanceof Date);
    assert.ok(deleted.scheduledPurgeDate instanceof Date);
    assert.ok(deleted.scheduledPurgeDate!.getTime() - deleted.deletedOn!.getTime() >= 7 * 86400 * 1000 - 2000);

    await assert.rejects(client.getSecret('doomed'), (err: { statusCode?: number; code?: string }) => err.statusCode === 404 && err.code === 'SecretNotFound');
    const got = await client.getDeletedSecret('doomed');
    assert.equal(got.properties.recoveryId, deleted.recoveryId);
    const listed = [];
    for await (const d of client.listDeletedSecrets()) listed.push(d.name);
    assert.ok(listed.includes('doomed'));

    await assert.rejects(client.setSecret('doomed', 'again'), (err: { statusCode?: number; message: string }) => {
      assert.equal(err.statusCode, 409);
      assert.match(err.message, /deleted but recoverable/);
      return true;
    });

    const recovered = await (await client.beginRecoverDeletedSecret('doomed')).pollUntilDone();
    assert.equal(recovered.name, 'doomed');
    assert.equal((await client.getSecret('doomed')).value, 'bye');

    await (await client.beginDeleteSecret('doomed')).pollUntilDone();
    await client.purgeDeletedSecret('doomed');
    await assert.rejects(client.getDeletedSecret('doomed'), (err: { statusCode?: number }) => err.statusCode === 404);
    const again = await client.setSecret('doomed', 'reborn');
    assert.equal(again.value, 'reborn');
  });

  it('backs up and restores every version', async () => {
    const v1 = await client.setSecret('precious', 'first');
    await client.setSecret('precious', 'second');
    const blob = await client.backupSecret('precious');
    assert.ok(blob instanceof Uint8Array && blob.length > 0);
    assert.ok(!Buffer.from(blob).toString('latin1').includes('second'), 'backup is not plaintext');

    await assert.rejects(client.restoreSecretBackup(blob!), (err: { statusCode?: number }) => err.statusCode === 409);
    await (await client.beginDeleteSecret('precious')).pollUntilDone();
    await client.purgeDeletedSecret('precious');
    const restored = await client.restoreSecretBackup(blob!);
    assert.equal(restored.name, 'precious');
    assert.equal((await client.getSecret('precious')).value, 'second');
    assert.equal((await client.getSecret('precious', { version: v1.properties.version })).value, 'first');
  });

  it('a backup restores into another vault of the same deployment, and a tampered one is refused', async () => {
    await createVault(server, 'sdk-vault-two');
    const other = secretClient(server, 'sdk-vault-two');
    await client.setSecret('portable', 'travels');
    const blob = await client.backupSecret('portable');
    await other.restoreSecretBackup(blob!);
    assert.equal((await other.getSecret('portable')).value, 'travels');

    const tampered = Uint8Array.from(blob!);
    tampered[tampered.length - 5]! ^= 0x01;
    await assert.rejects(other.restoreSecretBackup(tampered), (err: { statusCode?: number }) => err.statusCode === 400);
  });

  it('purge is refused under purge protection, and a soft-delete-off vault deletes at once', async () => {
    await createVault(server, 'protected-vault', { enablePurgeProtection: true });
    const protectedClient = secretClient(server, 'protected-vault');
    await protectedClient.setSecret('kept', 'x');
    await (await protectedClient.beginDeleteSecret('kept')).pollUntilDone();
    await assert.rejects(protectedClient.purgeDeletedSecret('kept'), (err: { statusCode?: number; message: string }) => {
      assert.equal(err.statusCode, 403);
      assert.equal(err.message, 'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed. Vault: protected-vault;location=local');
      return true;
    });
    assert.equal((await protectedClient.getDeletedSecret('kept')).name, 'kept');
    const recovered = await (await protectedClient.beginRecoverDeletedSecret('kept')).pollUntilDone();
    assert.equal(recovered.recoveryLevel, 'Recoverable');

    // Without soft delete the answer has no recoveryId: that is how the SDK's poller knows the secret is gone
    // (with one, it polls GET /deletedsecrets until that answers, which never happens here).
    await createVault(server, 'no-soft-delete', { enableSoftDelete: false });
    const gone = secretClient(server, 'no-soft-delete');
    await gone.setSecret('gone', 'v', { tags: { t: '1' } });
    const poller = await gone.beginDeleteSecret('gone', { abortSignal: AbortSignal.timeout(10_000) });
    const deleted = await poller.pollUntilDone();
    assert.equal(deleted.recoveryId, undefined);
    assert.equal(deleted.properties.deletedOn, undefined);
    assert.equal(deleted.properties.recoveryLevel, 'Purgeable');
    assert.deepEqual(deleted.properties.tags, { t: '1' });
    for (const read of [() => gone.getSecret('gone'), () => gone.getDeletedSecret('gone')]) {
      await assert.rejects(read(), (err: { statusCode?: number }) => err.statusCode === 404);
    }
    await gone.setSecret('raw', 'v');
    const token = await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`);
    const res = await fetch(`${server.vaultUrl('no-soft-delete')}/secrets/raw?api-version=7.6`, { method: 'DELETE', headers: { authorization: `Bearer ${token.token}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    for (const field of ['recoveryId', 'deletedDate', 'scheduledPurgeDate', 'value']) assert.equal(field in body, false, field);
    assert.match(String(body.id), /\/secrets\/raw\/[0-9a-f]{32}$/);
  });
});
