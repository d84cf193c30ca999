import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credential, secretClient } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { rawRequest } from './support/raw-http.js';
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

  it('account list, set and get-access-token as az 2.45 prints them; the tokens work', async () => {
    const b = server.bootstrap;
    const cli = async (...args: string[]) => {
      const r = await coffer(home, args);
      assert.equal(r.code, 0, r.stderr);
      return r;
    };
    const [listed] = (await cli('account', 'list')).json<Array<Record<string, unknown>>>();
    assert.deepEqual(Object.keys(listed!).sort(), ['cloudName', 'homeTenantId', 'id', 'isDefault', 'managedByTenants', 'name', 'state', 'tenantId', 'user']);
    assert.equal(listed!.id, b.subscriptionId);
    const table = (await cli('account', 'list', '-o', 'table')).stdout.split('\n');
    assert.match(table[0]!, /^Name +CloudName +SubscriptionId +TenantId +State +IsDefault$/);
    assert.match(table[2]!, new RegExp(`^coffer +coffer +${b.subscriptionId} +${b.tenantId} +Enabled +True$`));

    assert.equal((await cli('account', 'set', '-s', b.subscriptionId.toUpperCase())).stdout, '');
    assert.equal((await cli('account', 'set', '--name', 'COFFER')).stdout, '');
    const unknown = await coffer(home, ['account', 'set', '-s', 'Other']);
    assert.deepEqual([unknown.code, unknown.stderr], [1, "ERROR: The subscription of 'other' doesn't exist in cloud 'coffer'.\n"]);

    const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { aud: string; exp: number };
    const arm = (await cli('account', 'get-access-token')).json<Record<string, string>>();
    assert.deepEqual(Object.keys(arm).sort(), ['accessToken', 'expiresOn', 'subscription', 'tenant', 'tokenType']);
    assert.deepEqual([arm.tokenType, arm.subscription, arm.tenant], ['Bearer', b.subscriptionId, b.tenantId]);
    // Python's datetime.fromtimestamp(t) in local time, with microseconds; t is the client's clock plus expires_in, as MSAL
    // computes it for az, so it may be a little before the token's exp (the server's clock at issuance).
    const local = (seconds: number) => {
      const t = new Date(seconds * 1000);
      return `${t.getFullYear()}-${String(t.getMonth() + 1).padStart(2, '0')}-${String(t.getDate()).padStart(2, '0')} ${t.toTimeString().slice(0, 8)}.000000`;
    };
    const exp = claims(arm.accessToken!).exp;
    assert.ok([0, 1, 2, 3, 4, 5].map((d) => local(exp - d)).includes(arm.expiresOn!), `${arm.expiresOn} is not within 5 s before ${local(exp)}`);
    const subscriptions = await rawRequest(`${server.url}/subscriptions?api-version=2022-12-01`, { headers: { authorization: `Bearer ${arm.accessToken}` } });
    assert.equal(subscriptions.status, 200, 'the management token is accepted');

    const vaultResource = `https://${b.vaultDnsSuffix}:${server.port}`;
    const vault = (await cli('account', 'get-access-token', '--resource', vaultResource)).json<Record<string, string>>();
    assert.equal(claims(vault.accessToken!).aud, vaultResource);
    const byScope = (await cli('account', 'get-access-token', '--scope', `${vaultResource}/.default`, '-t', b.tenantId)).json<Record<string, string>>();
    assert.equal(claims(byScope.accessToken!).aud, vaultResource);
    assert.equal(byScope.subscription, undefined, 'a token asked for by tenant names no subscription');

    const both = await coffer(home, ['account', 'get-access-token', '-s', b.subscriptionId, '-t', b.tenantId]);
    assert.deepEqual([both.code, both.stderr], [1, 'ERROR: Please specify only one of subscription and tenant, not both\n']);
    const otherCloud = await coffer(home, ['account', 'get-access-token', '--resource-type', 'batch']);
    assert.deepEqual([otherCloud.code, otherCloud.stderr], [1, "ERROR: The endpoint 'batch_resource_id' for this cloud is not set but is used.\n"]);
    assert.equal((await coffer(home, ['account', 'get-access-token', '--resource-type', 'nope'])).code, 2);

    const loggedOut = await coffer(cliHome(), ['account', 'list']);
    assert.deepEqual([loggedOut.code, loggedOut.stdout, loggedOut.stderr], [0, '[]\n', 'WARNING: Please run "coffer login" to access your accounts.\n']);
  });

  it('a wrong secret fails az-style', async () => {
    const r = await coffer(cliHome(), ['login', '--service-principal', '-u', server.bootstrap.clientId, '-p', 'wrong', '--tenant', server.bootstrap.tenantId, '--server', server.url]);
    assert.equal(r.code, 1);
    // az 2.45 (aad_error_handler): the whole error_description, no error code, then its recommendation.
    assert.match(r.stderr, /^ERROR: AADSTS7000215: Invalid client secret provided\. .*\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: [0-9: -]+Z\nInteractive authentication is needed\. Please run:\ncoffer login\n$/);
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
    const invalid = await coffer(home, ['keyvault', 'secret', 'show', '--vault-name', 'cli-vault', '--name', 'bad_name']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^ERROR: The request URI contains an invalid name: bad_name/, "a secret command prints the vault's message alone, as az");
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
