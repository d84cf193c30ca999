import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { credential } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Resource providers as Resource Manager describes them (az provider show |
// list | register, and az resource show --ids, which takes a type's first
// api-version that is not a preview from here).

describe('resource providers', () => {
  let server: TestServer;
  let sub: string;
  const v = '?api-version=2021-04-01';
  const tokenOf = async (p: { appId: string; secret: string }) => (await credential(server, p.appId, p.secret).getToken(`${server.url}/.default`)).token;

  before(async () => {
    server = await startTestServer();
    sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
  });
  after(() => server?.stop());

  it("describes coffer's namespaces, registered, each type with its api-versions newest first", async () => {
    const kv = await api(server, 'GET', `${sub}/providers/microsoft.KEYVAULT${v}`);
    assert.equal(kv.status, 200, JSON.stringify(kv.body));
    assert.equal(kv.body!.id, `${sub}/providers/Microsoft.KeyVault`);
    assert.equal(kv.body!.namespace, 'Microsoft.KeyVault');
    assert.equal(kv.body!.registrationState, 'Registered');
    const vaults = kv.body!.resourceTypes.find((t: { resourceType: string }) => t.resourceType === 'vaults');
    assert.equal(vaults.apiVersions.find((a: string) => !a.includes('preview')), '2026-02-01');
    const dates = (vaults.apiVersions as string[]).map((a) => a.slice(0, 10));
    assert.ok(dates.every((d, i) => i === 0 || d <= dates[i - 1]!), 'newest first');
    assert.ok(vaults.locations.includes('Local') && vaults.locations.includes('West Europe'), JSON.stringify(vaults.locations));

    const list = await api(server, 'GET', `${sub}/providers${v}`);
    assert.deepEqual(list.body!.value.map((p: { namespace: string }) => p.namespace), ['Microsoft.KeyVault', 'Microsoft.Authorization']);
    const unknown = await api(server, 'GET', `${sub}/providers/Microsoft.Compute${v}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body!.error.code, 'InvalidResourceNamespace');
    assert.equal((await api(server, 'GET', `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.KeyVault${v}`)).body!.error.code, 'SubscriptionNotFound');
    // The vault routes under the namespace are still theirs.
    assert.equal((await api(server, 'GET', `${sub}/providers/Microsoft.KeyVault/vaults${v}`)).status, 200);
  });

  it('registers for a Contributor (answering the provider as it is), refuses unregistering, and shows nothing to a caller who cannot see the subscription', async () => {
    const registered = await api(server, 'POST', `${sub}/providers/Microsoft.KeyVault/register${v}`);
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
    assert.equal(registered.body!.registrationState, 'Registered');
    const unregistered = await api(server, 'POST', `${sub}/providers/Microsoft.KeyVault/unregister${v}`);
    assert.equal(unregistered.status, 409);
    assert.equal(unregistered.body!.error.code, 'Conflict');

    // A reader of one vault sees the subscription, so its providers, but may not register one.
    await api(server, 'PUT', `${sub}/resourcegroups/rg-providers${v}`, { location: 'local' });
    const reader = await newServicePrincipal(server, 'provider-reader');
    assert.equal((await assignRole(server, `${sub}/resourceGroups/rg-providers`, ROLE_IDS.Reader, reader.id)).status, 201);
    const readerToken = await tokenOf(reader);
    assert.equal((await api(server, 'GET', `${sub}/providers/Microsoft.Authorization${v}`, undefined, readerToken)).status, 200);
    const refused = await api(server, 'POST', `${sub}/providers/Microsoft.KeyVault/register${v}`, undefined, readerToken);
    assert.equal(refused.status, 403);
    assert.equal(refused.body!.error.code, 'AuthorizationFailed');

    const stranger = await newServicePrincipal(server, 'provider-stranger');
    const strangerToken = await tokenOf(stranger);
    for (const [method, path] of [['GET', `${sub}/providers${v}`], ['GET', `${sub}/providers/Microsoft.KeyVault${v}`], ['GET', `${sub}/providers/Microsoft.Compute${v}`], ['POST', `${sub}/providers/Microsoft.KeyVault/register${v}`]] as const) {
      const r = await api(server, method, path, undefined, strangerToken);
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body!.error.code, 'AuthorizationFailed');
    }
  });
});
