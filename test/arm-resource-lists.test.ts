import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { armClient, createVault, credential } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Resource Manager's generic resource lists (az resource list, the SDKs'
// resources.list and list_by_resource_group): the subscription's and a
// group's vaults as resources, with the $filter terms and $expand az sends,
// every page asking the same question.

describe('generic resource lists', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  it('the resource list takes the filters az sends (type, name, group, location, tag) and refuses any other', async () => {
    const token = (await credential(server).getToken(`${server.url}/.default`)).token;
    await createVault(server, 'filter-one');
    await armClient(server).vaults.update('rg-test', 'filter-one', { tags: { team: 'Blue' } });
    await createVault(server, 'filter-two');
    const list = async (filter: string) => {
      const res = await fetch(`${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resources?api-version=2021-04-01&$filter=${encodeURIComponent(filter)}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as { value?: { name: string }[]; error?: { code: string; message: string } } };
    };
    const names = async (filter: string) => {
      const r = await list(filter);
      assert.equal(r.status, 200, `${filter}: ${JSON.stringify(r.body)}`);
      return r.body.value!.map((v) => v.name).sort();
    };
    assert.deepEqual(await names("name eq 'FILTER-ONE'"), ['filter-one']);
    assert.deepEqual(await names("resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'filter-two'"), ['filter-two']);
    assert.deepEqual(await names("name eq 'no-such-vault'"), []);
    assert.deepEqual(await names("resourceType eq 'Microsoft.Storage/storageAccounts'"), []);
    assert.deepEqual(await names("tagName eq 'team' and tagValue eq 'Blue'"), ['filter-one']);
    assert.deepEqual(await names("tagName eq 'team' and tagValue eq 'Red'"), []);
    // az resource list --tag 'te*'
    assert.deepEqual(await names("startswith(tagname, 'TE')"), ['filter-one']);
    assert.deepEqual(await names("startswith(tagname, 'zz') and name eq 'filter-one'"), []);
    assert.ok((await names("resourceGroup eq 'RG-TEST' and location eq 'local'")).includes('filter-two'));
    // az resource list asks for createdTime, changedTime and provisioningState; a filter and $expand hold on every
    // page (filter-two, between the two tagged vaults in name order, is on none).
    await createVault(server, 'filter-zz');
    await armClient(server).vaults.update('rg-test', 'filter-zz', { tags: { team: 'Green' } });
    const expanded: Record<string, unknown>[] = [];
    let next: string | undefined = `${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resources?api-version=2021-04-01&$top=1&$expand=createdTime,changedTime,provisioningState&$filter=${encodeURIComponent("tagName eq 'team'")}`;
    while (next) {
      const page = (await (await fetch(next, { headers: { authorization: `Bearer ${token}` } })).json()) as { value: Record<string, unknown>[]; nextLink?: string };
      expanded.push(...page.value);
      next = page.nextLink;
    }
    assert.deepEqual(expanded.map((v) => v.name), ['filter-one', 'filter-zz']);
    for (const v of expanded) {
      assert.equal(v.provisioningState, 'Succeeded');
      for (const t of ['createdTime', 'changedTime']) assert.ok(Math.abs(Date.parse(v[t] as string) - Date.now()) < 600_000, t);
    }
    for (const bad of ["resourceType eq 'x", "name ne 'filter-one'", "identity eq 'x'", "tagValue eq 'Blue'", "name eq 'a' or name eq 'b'"]) {
      const r = await list(bad);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error?.code, 'InvalidFilterInQueryString', bad);
      assert.equal(r.body.error?.message, `Invalid $filter '${bad}' specified in the query string.`);
    }
  });

  it("a group's resource list (az resource list -g) is its vaults, filtered, to a caller who may read them", async () => {
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    await api(server, 'PUT', `${sub}/resourcegroups/rg-listed?api-version=2021-04-01`, { location: 'local' });
    const make = (name: string) =>
      api(server, 'PUT', `${sub}/resourceGroups/rg-listed/providers/Microsoft.KeyVault/vaults/${name}?api-version=2023-07-01`, {
        location: 'local',
        tags: name === 'listed-one' ? { team: 'Blue' } : {},
        properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, enableRbacAuthorization: true },
      });
    for (const name of ['listed-one', 'listed-two']) assert.equal((await make(name)).status, 200);
    const admin = (await credential(server).getToken(`${server.url}/.default`)).token;
    const list = async (group: string, token: string, filter?: string) => {
      const query = filter === undefined ? '' : `&$filter=${encodeURIComponent(filter)}`;
      const res = await fetch(`${server.url}${sub}/resourceGroups/${group}/resources?api-version=2022-09-01${query}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as { value?: Record<string, unknown>[]; error?: { code: string } } };
    };
    const all = await list('RG-LISTED', admin);
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.value, [
      { id: `${sub}/resourceGroups/rg-listed/providers/Microsoft.KeyVault/vaults/listed-one`, name: 'listed-one', type: 'Microsoft.KeyVault/vaults', location: 'local', tags: { team: 'Blue' } },
      { id: `${sub}/resourceGroups/rg-listed/providers/Microsoft.KeyVault/vaults/listed-two`, name: 'listed-two', type: 'Microsoft.KeyVault/vaults', location: 'local', tags: {} },
    ]);
    assert.deepEqual((await list('rg-listed', admin, "tagName eq 'team'")).body.value?.map((v) => v.name), ['listed-one']);
    assert.equal((await list('rg-listed', admin, "name ne 'x'")).body.error?.code, 'InvalidFilterInQueryString');
    assert.equal((await list('rg-not-there', admin)).body.error?.code, 'ResourceGroupNotFound');

    // A reader of one vault sees that one; a principal who may read none of them is refused, group or no group.
    const reader = await newServicePrincipal(server, 'listed-reader');
    assert.equal((await assignRole(server, `${sub}/resourceGroups/rg-listed/providers/Microsoft.KeyVault/vaults/listed-two`, ROLE_IDS.Reader, reader.id)).status, 201);
    const readerToken = (await credential(server, reader.appId, reader.secret).getToken(`${server.url}/.default`)).token;
    assert.deepEqual((await list('rg-listed', readerToken)).body.value?.map((v) => v.name), ['listed-two']);
    const stranger = await newServicePrincipal(server, 'listed-stranger');
    const strangerToken = (await credential(server, stranger.appId, stranger.secret).getToken(`${server.url}/.default`)).token;
    for (const group of ['rg-listed', 'rg-not-there']) {
      const refused = await list(group, strangerToken);
      assert.equal(refused.status, 403, group);
      assert.equal(refused.body.error?.code, 'AuthorizationFailed', group);
    }
  });
});
