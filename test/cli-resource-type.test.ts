import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// az 2.45's `keyvault list` and `keyvault list-deleted` take --resource-type
// (list_vault_or_hsm, list_deleted_vault_or_hsm): `vault`, `hsm` (coffer
// serves no managed HSMs, so none), or anything else refused with
// "Unsupported resource type: X", exit 1. And `keyvault create`'s
// --network-acls-ips and --network-acls-vnets (_parse_network_acls).

describe('CLI: keyvault list --resource-type, create --network-acls-*', () => {
  let server: TestServer;
  let home = '';
  const { cli, json, signIn } = cliRunners(() => home);
  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'typed-live', '-g', 'rg', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'typed-gone', '-g', 'rg', '-o', 'none');
    await cli('keyvault', 'delete', '-n', 'typed-gone', '--only-show-errors');
  });
  after(() => server?.stop());

  it('lists vaults for vault, nothing for hsm, and refuses any other type as az does', async () => {
    assert.deepEqual(await json('keyvault', 'list', '--resource-type', 'vault', '--query', '[].name'), ['typed-live']);
    assert.deepEqual(await json('keyvault', 'list', '-g', 'rg', '--resource-type', 'vault', '--query', '[].name'), ['typed-live']);
    assert.deepEqual(await json('keyvault', 'list', '--resource-type', 'hsm'), []);
    assert.deepEqual(await json('keyvault', 'list-deleted', '--resource-type', 'vault', '--query', '[].name'), ['typed-gone']);
    assert.deepEqual(await json('keyvault', 'list-deleted', '--resource-type', 'hsm'), []);
    for (const command of ['list', 'list-deleted']) {
      const r = await coffer(home, ['keyvault', command, '--resource-type', 'Vault']);
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', 'ERROR: Unsupported resource type: Vault\n'], command);
    }
  });

  it('create takes --network-acls-ips and --network-acls-vnets as az does', async () => {
    const sub = server.bootstrap.subscriptionId;
    const acls = await json('keyvault', 'create', '-n', 'acl-vault', '-g', 'rg', '--default-action', 'Deny', '--network-acls-ips', '1.2.3.4', '5.6.7.0/24', '1.2.3.4',
      '--network-acls-vnets', 'MyVnet/MySubnet', `/subscriptions/${sub}/resourceGroups/Other/providers/Microsoft.Network/virtualNetworks/V/subnets/S`, '--query', 'properties.networkAcls');
    // What az 2.45 printed for the same command line against coffer.
    assert.deepEqual(acls, {
      bypass: 'AzureServices',
      defaultAction: 'Deny',
      ipRules: [{ value: '1.2.3.4/32' }, { value: '5.6.7.0/24' }],
      virtualNetworkRules: [
        { id: `/subscriptions/${sub}/resourcegroups/rg/providers/microsoft.network/virtualnetworks/myvnet/subnets/mysubnet`, ignoreMissingVnetServiceEndpoint: null, resourceGroup: 'rg' },
        { id: `/subscriptions/${sub}/resourcegroups/other/providers/microsoft.network/virtualnetworks/v/subnets/s`, ignoreMissingVnetServiceEndpoint: null, resourceGroup: 'other' },
      ],
    });
    const bad = await coffer(home, ['keyvault', 'create', '-n', 'acl-bad', '-g', 'rg', '--network-acls-vnets', 'bad-rule']);
    assert.deepEqual([bad.code, bad.stderr], [1, 'ERROR: Invalid VNet rule: bad-rule. Format: {vnet_name}/{subnet_name} or {subnet_id}\n']);
  });
});
