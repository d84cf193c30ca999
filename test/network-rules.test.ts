import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseVaultPatch, parseVaultPut } from '../src/vaults/vault-input.js';
import { api } from './support/access-kit.js';
import { armClient, createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A vault's network rules (publicNetworkAccess, networkAcls) set through
// @azure/arm-keyvault and enforced on the data plane as Key Vault's firewall
// does; the management plane stays open.

describe('vault network rules', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'fenced');
    await secretClient(server, 'fenced').setSecret('db', 'behind-the-fence');
  });
  after(() => server?.stop());

  const refusal = async () => {
    try {
      await secretClient(server, 'fenced').getSecret('db');
      return null;
    } catch (err) {
      const e = err as { statusCode?: number; code?: string; message: string };
      return { status: e.statusCode, code: e.code, message: e.message };
    }
  };

  it('a Deny default lets in only the listed addresses, and says who was refused from where', async () => {
    const arm = armClient(server);
    const fenced = await arm.vaults.update('rg-test', 'fenced', { properties: { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '203.0.113.0/24' }] } } });
    assert.deepEqual(fenced.properties.networkAcls, { bypass: 'AzureServices', defaultAction: 'Deny', ipRules: [{ value: '203.0.113.0/24' }], virtualNetworkRules: [] });
    const refused = await refusal();
    assert.equal(refused?.status, 403);
    assert.equal(refused?.code, 'Forbidden');
    assert.match(refused!.message, /^Client address is not authorized and caller is not a trusted service\.\r\nClient address: 127\.0\.0\.1\r\nCaller: appid=.*;oid=.*\r\nVault: fenced;location=local$/);

    await arm.vaults.update('rg-test', 'fenced', { properties: { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '203.0.113.0/24' }, { value: '127.0.0.0/8' }] } } });
    assert.equal((await secretClient(server, 'fenced').getSecret('db')).value, 'behind-the-fence');
    await arm.vaults.update('rg-test', 'fenced', { properties: { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '127.0.0.1' }] } } });
    assert.equal((await secretClient(server, 'fenced').getSecret('db')).value, 'behind-the-fence', 'a single address');
    await arm.vaults.update('rg-test', 'fenced', { properties: { networkAcls: { defaultAction: 'Allow', ipRules: [] } } });
    assert.equal(await refusal(), null);
  });

  it('publicNetworkAccess Disabled closes the data plane, not the management plane', async () => {
    const arm = armClient(server);
    const closed = await arm.vaults.update('rg-test', 'fenced', { properties: { publicNetworkAccess: 'disabled' } });
    assert.equal(closed.properties.publicNetworkAccess, 'Disabled');
    const refused = await refusal();
    assert.equal(refused?.status, 403);
    assert.match(refused!.message, /^Public network access is disabled and request is not from a trusted service nor via an approved private link\.\r\nCaller: /);
    // The denial is on the record, with its inner code.
    const trail = await api(server, 'GET', '/coffer/audit?vault=fenced&resultType=Failure&maxresults=1000');
    const denied = (trail.body!.value as Array<{ properties: { httpStatusCode: number; requestUri: string } }>).filter((r) => r.properties.httpStatusCode === 403 && r.properties.requestUri.includes('/secrets/db'));
    assert.ok(denied.length >= 2, 'the firewall and the closed vault refusals are both recorded');
    const reopened = await arm.vaults.update('rg-test', 'fenced', { properties: { publicNetworkAccess: 'Enabled' } });
    assert.equal(reopened.properties.publicNetworkAccess, 'Enabled');
    assert.equal((await secretClient(server, 'fenced').getSecret('db')).value, 'behind-the-fence');
  });

  it('refuses malformed rules and properties, with nothing changed', async () => {
    const path = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/fenced?api-version=2023-07-01`;
    for (const [label, properties] of [
      ['an address out of range', { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '300.1.1.1' }] } }],
      ['a prefix too long', { networkAcls: { ipRules: [{ value: '10.0.0.0/33' }] } }],
      ['1,001 rules', { networkAcls: { ipRules: Array.from({ length: 1001 }, (_, i) => ({ value: `10.0.${i >> 8}.${i & 255}` })) } }],
      ['an unknown default action', { networkAcls: { defaultAction: 'Maybe' } }],
      ['an unknown bypass', { networkAcls: { bypass: 'Everything' } }],
      ['a subnet that is not a resource id', { networkAcls: { virtualNetworkRules: [{ id: 'subnet-1' }] } }],
      ['publicNetworkAccess an object', { publicNetworkAccess: { evil: true } }],
      ['networkAcls a number', { networkAcls: 5 }],
      ['an sku family other than A', { sku: { family: 'ZZZ', name: 'standard' } }],
    ] as const) {
      const res = await api(server, 'PATCH', path, { properties });
      assert.equal(res.status, 400, `${label}: ${JSON.stringify(res.body)}`);
    }
    const vault = await api(server, 'GET', path);
    assert.equal(vault.body!.properties.publicNetworkAccess, 'Enabled');
    assert.deepEqual(vault.body!.properties.sku, { family: 'A', name: 'standard' });
  });

  it('stores a single IPv4 address as its /32 range and a subnet id in lower case, as Key Vault does', async () => {
    // Key Vault's createVaultWithNetworkAcls example: '124.56.78.91' is answered '124.56.78.91/32', the subnet id lower-cased.
    const T = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const subnet = '/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/test-vnet/subnets/subnet1';
    const put = parseVaultPut(
      { location: 'local', properties: { tenantId: T, sku: { family: 'A', name: 'standard' }, networkAcls: { ipRules: [{ value: '124.56.78.91' }, { value: '10.91.4.0/24' }, { value: '2001:db8::1' }], virtualNetworkRules: [{ id: subnet }] } } },
      T,
    );
    assert.deepEqual(put.properties.networkAcls, {
      bypass: 'AzureServices',
      defaultAction: 'Allow',
      ipRules: [{ value: '124.56.78.91/32' }, { value: '10.91.4.0/24' }, { value: '2001:db8::1' }],
      virtualNetworkRules: [{ id: subnet.toLowerCase() }],
    });
    const arm = armClient(server);
    const fenced = await arm.vaults.update('rg-test', 'fenced', { properties: { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '127.0.0.1' }] } } });
    assert.deepEqual(fenced.properties.networkAcls?.ipRules, [{ value: '127.0.0.1/32' }]);
    assert.equal((await secretClient(server, 'fenced').getSecret('db')).value, 'behind-the-fence');
    await arm.vaults.update('rg-test', 'fenced', { properties: { networkAcls: { defaultAction: 'Allow', ipRules: [] } } });
  });

  it('keeps only the properties a vault has: unknown ones and extra sku fields are dropped', () => {
    const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const put = parseVaultPut(
      { location: 'local', properties: { tenantId, sku: { family: 'a', name: 'Premium', extra: [1, 2, 3] }, foo: 'bar', junk: 'x'.repeat(200_000), vaultUri: 'https://elsewhere/' } },
      tenantId,
    );
    assert.deepEqual(put.properties, { tenantId, sku: { family: 'A', name: 'premium' } });
    const patch = parseVaultPatch({ properties: { tenantId: null, sku: null, junk: 'x'.repeat(200_000), enableRbacAuthorization: true } }, tenantId);
    assert.deepEqual(patch.properties, { enableRbacAuthorization: true });
  });
});
