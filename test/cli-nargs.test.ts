import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { azSignedIn, keyvaultCreateByBoth, outcome, type AzResult } from './support/az-cli.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// az 2.45's options of nargs='*' (keyvault create's --network-acls-ips and --network-acls-vnets, set-policy's
// permissions, network-rule's --ip-address, get-access-token's --scope) take no value at all: an empty list,
// which az's code reads as it reads any empty list. And as argparse stores every nargs option, a repeated one
// keeps its last occurrence's values. Each command runs in the real az and in coffer against one server.

describe("CLI: options of zero or more values, as az 2.45's argparse reads them", () => {
  let server: TestServer;
  let home = '';
  let az: (args: string[]) => Promise<AzResult>;
  const { signIn, cli } = cliRunners(() => home);
  const run = async (args: string[]) => {
    const a = await az(args);
    const c = await coffer(home, args);
    return { az: outcome(a), coffer: { ...outcome(c), stderr: c.stderr.replaceAll('coffer', 'az') } };
  };
  /** `keyvault create` by az and by coffer, each with a vault name of its own, printing its rule set. */
  const createByBoth = keyvaultCreateByBoth(() => az, (args, cwd) => coffer(home, args, {}, cwd), 'nargs');
  const create = (args: string[]) => createByBoth([...args, '--query', 'properties.networkAcls', '-o', 'json']);

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'nargs-ap', '-g', 'rg', '--enable-rbac-authorization', 'false', '--network-acls-ips', '198.51.100.7', '-o', 'none');
    az = await azSignedIn(server);
  });
  after(() => server?.stop());

  it('keyvault create: --network-acls-ips and --network-acls-vnets without a value, and repeated', async () => {
    for (const args of [
      ['--network-acls-ips', '--network-acls-vnets'],
      ['--network-acls-ips', '--default-action', 'Deny'],
      ['--network-acls', '{"ip": ["1.2.3.4"]}', '--network-acls-ips', '--network-acls-vnets'],
      ['--network-acls-ips', '1.1.1.1', '--network-acls-ips', '2.2.2.2', '--network-acls-vnets', 'V/S', '--network-acls-vnets'],
    ]) {
      const r = await create(args);
      assert.equal(r.az.code, 0, r.az.stderr);
      assert.deepEqual(r.coffer, r.az, args.join(' '));
    }
  });

  it('keyvault set-policy: a permission list without a value empties that list', async () => {
    const objectId = (await cli('ad', 'sp', 'show', '--id', server.bootstrap.clientId, '--query', 'id', '-o', 'tsv')).stdout.trim();
    const policy = ['--query', `properties.accessPolicies[?objectId=='${objectId}'].permissions`, '-o', 'json'];
    for (const args of [
      ['--secret-permissions', 'get', 'list', '--key-permissions', 'get'],
      ['--secret-permissions'],
      ['--key-permissions', '--certificate-permissions', 'get', '--certificate-permissions'],
    ]) {
      // Each sets the same policy in turn; az's permissions come out of a set, so their order is not compared.
      const command = ['keyvault', 'set-policy', '-n', 'nargs-ap', '--object-id', objectId, ...args, ...policy];
      const a = await az(command);
      assert.equal(a.code, 0, a.stderr);
      const c = await coffer(home, command);
      assert.equal(c.code, 0, c.stderr);
      const sorted = (out: string) => (JSON.parse(out) as Array<Record<string, string[]>>).map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, [...v].sort()])));
      assert.deepEqual(sorted(c.stdout), sorted(a.stdout), args.join(' '));
    }
  });

  it('keyvault network-rule add and remove: --ip-address without a value changes nothing, and add warns as az does', async () => {
    for (const verb of ['add', 'remove']) {
      const r = await run(['keyvault', 'network-rule', verb, '-n', 'nargs-ap', '--ip-address', '--query', 'properties.networkAcls.ipRules', '-o', 'json']);
      assert.equal(r.az.code, 0, r.az.stderr);
      assert.deepEqual(r.coffer, r.az, verb);
    }
    // Repeated: the last occurrence's addresses only.
    const r = await run(['keyvault', 'network-rule', 'add', '-n', 'nargs-ap', '--ip-address', '203.0.113.1', '--ip-address', '198.51.100.7', '--query', 'properties.networkAcls.ipRules', '-o', 'json']);
    assert.deepEqual(r.coffer, r.az);
  });

  it('account get-access-token: --scope without a value is the default scope', async () => {
    const r = await run(['account', 'get-access-token', '--scope', '--query', 'keys(@)', '-o', 'json']);
    assert.equal(r.az.code, 0, r.az.stderr);
    assert.deepEqual(r.coffer, r.az);
  });
});
