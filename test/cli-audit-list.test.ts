import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { armClient, createVault, credential, secretClient } from './support/clients.js';
import { assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// coffer audit list: the trail through the CLI, its filters named as people
// know principals, and its table of who touched what.

describe('coffer audit list', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    await createVault(server, 'audit-vault');
  });
  after(() => server?.stop());

  it('coffer audit list: a caller named by appId or display name, a result in any case, and a table of who touched what', async () => {
    const reader = await newServicePrincipal(server, 'audit-list-reader');
    const vault = (await armClient(server).vaults.get('rg-test', 'audit-vault')).id!;
    assert.equal((await assignRole(server, `${vault}/secrets/s-get`, ROLE_IDS['Key Vault Secrets User'], reader.id)).status, 201);
    await secretClient(server, 'audit-vault').setSecret('s-get', 'value of s-get');
    await secretClient(server, 'audit-vault', credential(server, reader.appId, reader.secret))
      .getSecret('s-get')
      .catch(() => undefined);
    const home = cliHome();
    assert.equal((await coffer(home, ['login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none'])).code, 0);
    const ops = async (...args: string[]) => {
      const r = await coffer(home, ['audit', 'list', '--vault', 'audit-vault', ...args, '--query', '[].identity.claim.oid']);
      assert.equal(r.code, 0, r.stderr);
      return r.json<string[]>();
    };
    const byObjectId = await ops('--principal', reader.id);
    assert.ok(byObjectId.length >= 1 && byObjectId.every((oid) => oid === reader.id));
    assert.deepEqual(await ops('--principal', reader.appId), byObjectId);
    assert.deepEqual(await ops('--principal', 'audit-list-reader'), byObjectId);
    assert.deepEqual(await ops('--principal', reader.id, '--result', 'success'), await ops('--principal', reader.id, '--result', 'Success'));
    const gone = crypto.randomUUID();
    assert.deepEqual(await ops('--principal', gone), [], "an object id the directory does not know is searched for as it is (a deleted principal's)");
    const table = await coffer(home, ['audit', 'list', '--principal', reader.appId, '-o', 'table']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^Time +Operation +Result +Caller +Target/);
    // An access-policy vault: the secret-scope role grants nothing there.
    assert.match(table.stdout, new RegExp(`SecretGet +Forbidden +${reader.appId} +audit-vault/secrets/s-get`));
  });
});
