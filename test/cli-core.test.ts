import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credential, secretClient } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The newcomer's path through the built executable: log in, make a vault,
// store the seed's secret, create the connector's principal.

describe('coffer CLI: getting started', () => {
  let server: TestServer;
  let home: string;
  before(async () => {
    server = await startTestServer();
    home = cliHome();
  });
  after(() => server?.stop());

  it('logs in as a service principal and keeps the profile private', async () => {
    const b = server.bootstrap;
    const r = await coffer(home, ['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '--server', server.url]);
    assert.equal(r.code, 0, r.stderr);
    const accounts = r.json<Array<{ id: string; tenantId: string; user: { type: string } }>>();
    assert.equal(accounts[0]!.id, b.subscriptionId);
    assert.equal(accounts[0]!.user.type, 'servicePrincipal');
    assert.equal(statSync(join(home, 'profile.json')).mode & 0o777, 0o600);
    const show = await coffer(home, ['account', 'show', '--query', 'tenantId', '-o', 'tsv']);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout.trim(), b.tenantId);
  });

  it('a wrong secret fails az-style', async () => {
    const r = await coffer(cliHome(), ['login', '--service-principal', '-u', server.bootstrap.clientId, '-p', 'wrong', '--tenant', server.bootstrap.tenantId, '--server', server.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: \(invalid_client\) AADSTS7000215/);
  });

  it('creates a resource group and a vault', async () => {
    assert.equal((await coffer(home, ['group', 'create', '--name', 'rg-cli', '--location', 'local'])).code, 0);
    const r = await coffer(home, ['keyvault', 'create', '--name', 'cli-vault', '--resource-group', 'rg-cli']);
    assert.equal(r.code, 0, r.stderr);
    const vault = r.json<{ name: string; properties: { vaultUri: string } }>();
    assert.equal(vault.name, 'cli-vault');
    assert.equal(vault.properties.vaultUri, `${server.vaultUrl('cli-vault')}/`);
    const list = await coffer(home, ['keyvault', 'list', '-o', 'table']);
    assert.equal(list.code, 0);
    assert.match(list.stdout.split('\n')[0]!, /^Location +Name +ResourceGroup$/, 'knack: scalar fields sorted, id and type left out');
    assert.match(list.stdout, /cli-vault/);
  });

  it("runs the seed's command and the SDK reads back exactly that string", async () => {
    const value = '{"username": "USERNAME", "password": "PASSWORD"}';
    const r = await coffer(home, ['keyvault', 'secret', 'set', '--vault-name', 'cli-vault', '--name', 'apono-mysql-user', '--value', value]);
    assert.equal(r.code, 0, r.stderr);
    const shown = r.json<{ name: string; value: string; attributes: { enabled: boolean } }>();
    assert.equal(shown.name, 'apono-mysql-user');
    assert.equal(shown.value, value);
    assert.equal((await secretClient(server, 'cli-vault').getSecret('apono-mysql-user')).value, value);
    const show = await coffer(home, ['keyvault', 'secret', 'show', '--vault-name', 'cli-vault', '--name', 'apono-mysql-user', '--query', 'value', '-o', 'tsv']);
    assert.equal(show.stdout.trim(), value);
  });

  it('creates a service principal that can then get tokens', async () => {
    const r = await coffer(home, ['ad', 'sp', 'create-for-rbac', '--name', 'apono-connector']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^WARNING: The output includes credentials that you must protect\./m, "az's warning");
    const sp = r.json<{ appId: string; password: string; tenant: string; displayName: string }>();
    assert.equal(sp.tenant, server.bootstrap.tenantId);
    assert.equal(sp.displayName, 'apono-connector');
    const token = await credential(server, sp.appId, sp.password).getToken(`${server.url}/.default`);
    assert.ok(token.token);
    // An identity without a role sees no subscription: az refuses it unless --allow-no-subscriptions.
    const spHome = cliHome();
    const spLogin = ['login', '--service-principal', '-u', sp.appId, '-p', sp.password, '--tenant', sp.tenant, '--server', server.url];
    const refused = await coffer(spHome, spLogin);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^ERROR: No subscriptions found for /);
    const caFile = server.bootstrap.caCertFile;
    const tenantLevel = await coffer(spHome, [...spLogin, '--allow-no-subscriptions', '--ca-file', basename(caFile)], {}, dirname(caFile));
    assert.equal(tenantLevel.code, 0, tenantLevel.stderr);
    assert.deepEqual(tenantLevel.json<Array<{ id: string; name: string }>>().map((a) => [a.id, a.name]), [[sp.tenant, 'N/A(tenant level account)']]);
    assert.equal(JSON.parse(readFileSync(join(spHome, 'profile.json'), 'utf8')).caFile, caFile, 'stored absolute');
    const shown = await coffer(spHome, ['account', 'show']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual([shown.json<{ id: string }>().id, shown.json<{ name: string }>().name], [sp.tenant, 'N/A(tenant level account)'], 'a tenant-level account has no subscription to fetch');
    const reset = await coffer(home, ['ad', 'sp', 'credential', 'reset', '--id', sp.appId]);
    assert.equal(reset.code, 0, reset.stderr);
    const fresh = reset.json<{ password: string }>();
    assert.notEqual(fresh.password, sp.password);
    await assert.rejects(credential(server, sp.appId, sp.password).getToken(`${server.url}/.default`));
    assert.ok((await credential(server, sp.appId, fresh.password).getToken(`${server.url}/.default`)).token);
  });

  it('answers errors az-style with a non-zero exit', async () => {
    const missing = await coffer(home, ['keyvault', 'secret', 'show', '--vault-name', 'cli-vault', '--name', 'nope']);
    assert.equal(missing.code, 3, 'a 404 exits 3, as in az');
    assert.match(missing.stderr, /^ERROR: \(SecretNotFound\) A secret with \(name\/id\) nope was not found/);
    const invalid = await coffer(home, ['keyvault', 'secret', 'set', '--vault-name', 'cli-vault', '--name', 'bad_name', '--value', 'x']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^ERROR: \(BadParameter\)/);
    const noVault = await coffer(home, ['keyvault', 'show', '--name', 'ghost-vault']);
    // az looks the vault up in a validator, whose CLIError exits 1.
    assert.equal(noVault.code, 1);
    assert.match(noVault.stderr, /^ERROR: The Vault 'ghost-vault' not found within subscription\.$/m);
    const loggedOut = await coffer(cliHome(), ['keyvault', 'list']);
    assert.equal(loggedOut.code, 1);
    assert.match(loggedOut.stderr, /coffer login/);
  });

  it('documents every command with --help', async () => {
    for (const args of [['server'], ['login'], ['keyvault', 'create'], ['keyvault', 'secret', 'set'], ['ad', 'sp', 'create-for-rbac'], ['admin', 'rotate-master-key'], ['hosts']]) {
      const r = await coffer(home, [...args, '--help']);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /Usage: coffer/);
    }
  });
});
