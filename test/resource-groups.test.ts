import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Resource groups through Resource Manager: PATCH (ResourceGroups_Update) and
// DELETE (ResourceGroups_Delete, az group delete), which takes the group's vaults with it.

describe('resource groups: update and delete', () => {
  let server: TestServer;
  let sub: string;
  const v = '?api-version=2023-07-01';
  const groupApi = '?api-version=2021-04-01';
  before(async () => {
    server = await startTestServer();
    sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
  });
  after(() => server?.stop());

  const makeVault = async (group: string, name: string) => {
    const properties = { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, enableRbacAuthorization: true };
    const put = await api(server, 'PUT', `${sub}/resourceGroups/${group}/providers/Microsoft.KeyVault/vaults/${name}${v}`, { location: 'local', properties });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  };

  it('PATCH replaces the tags and keeps the rest; a missing group is 404 and bad tags 400', async () => {
    assert.equal((await api(server, 'PUT', `${sub}/resourceGroups/rg-patch${groupApi}`, { location: 'local', tags: { a: '1', b: '2' } })).status, 201);
    const patched = await api(server, 'PATCH', `${sub}/resourceGroups/rg-patch${groupApi}`, { tags: { c: '3' } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body!.name, 'rg-patch');
    assert.equal(patched.body!.location, 'local');
    assert.deepEqual(patched.body!.tags, { c: '3' });
    assert.deepEqual((await api(server, 'GET', `${sub}/resourceGroups/rg-patch${groupApi}`)).body!.tags, { c: '3' });
    const untouched = await api(server, 'PATCH', `${sub}/resourceGroups/rg-patch${groupApi}`, {});
    assert.deepEqual(untouched.body!.tags, { c: '3' }, 'a patch without tags changes nothing');

    const missing = await api(server, 'PATCH', `${sub}/resourceGroups/rg-none${groupApi}`, { tags: {} });
    assert.equal(missing.status, 404);
    assert.equal(missing.body!.error.code, 'ResourceGroupNotFound');
    assert.equal((await api(server, 'GET', `${sub}/resourceGroups/rg-none${groupApi}`)).status, 404, 'nothing was created');
    const bad = await api(server, 'PATCH', `${sub}/resourceGroups/rg-patch${groupApi}`, { tags: { n: 1 } });
    assert.equal(bad.status, 400);
  });

  it('a tag name with reserved characters stored before they were refused is kept by updates; a new one is refused', async () => {
    assert.equal((await api(server, 'PUT', `${sub}/resourceGroups/rg-old-tags${groupApi}`, { location: 'local', tags: { plain: '1' } })).status, 201);
    // As an earlier build stored it.
    const db = new Database(join(server.dataDir, 'coffer.db'));
    db.prepare("UPDATE resource_groups SET tags = ? WHERE name_key = 'rg-old-tags'").run(JSON.stringify({ 'cost/center': 'a' }));
    db.close();
    const kept = await api(server, 'PATCH', `${sub}/resourceGroups/rg-old-tags${groupApi}`, { tags: { 'cost/center': 'b', plain: '2' } });
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    assert.deepEqual(kept.body!.tags, { 'cost/center': 'b', plain: '2' });
    assert.equal((await api(server, 'PUT', `${sub}/resourceGroups/rg-old-tags${groupApi}`, { location: 'local', tags: { 'cost/center': 'c' } })).status, 200);
    const added = await api(server, 'PATCH', `${sub}/resourceGroups/rg-old-tags${groupApi}`, { tags: { 'cost/center': 'c', 'new?': 'x' } });
    assert.equal(added.status, 400);
    assert.equal(added.body!.error.code, 'InvalidTagNameCharacters');
    assert.match(added.body!.error.message, /'new\?'/);
  });

  it('the group list pages by $top and nextLink in name order, and refuses a bad $top or $skiptoken', async () => {
    // Every character a group name may hold ends up in some page's $skiptoken.
    for (const g of ['rg-page-c', 'rg-page-a', 'rg-page-b', 'rg-page-b.x', 'RG-page-b_(y)']) assert.equal((await api(server, 'PUT', `${sub}/resourceGroups/${g}${groupApi}`, { location: 'local' })).status, 201);
    const all = (await api(server, 'GET', `${sub}/resourcegroups${groupApi}`)).body!.value.map((g: { name: string }) => g.name) as string[];
    for (const top of [1, 2]) {
      const seen: string[] = [];
      let url: string | undefined = `${sub}/resourcegroups${groupApi}&$top=${top}`;
      let pages = 0;
      while (url) {
        const page = await api(server, 'GET', url);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.ok(page.body!.value.length <= top);
        seen.push(...page.body!.value.map((g: { name: string }) => g.name));
        url = page.body!.nextLink === undefined ? undefined : (page.body!.nextLink as string).slice(server.url.length);
        pages += 1;
      }
      assert.deepEqual(seen, all);
      assert.equal(pages, Math.ceil(all.length / top));
      assert.deepEqual(seen.filter((n) => n.toLowerCase().startsWith('rg-page-')), ['rg-page-a', 'rg-page-b', 'rg-page-b.x', 'RG-page-b_(y)', 'rg-page-c']);
    }
    for (const bad of ['$top=x', '$top=0', '$skiptoken=not*ours']) {
      const refused = await api(server, 'GET', `${sub}/resourcegroups${groupApi}&${bad}`);
      assert.equal(refused.status, 400, bad);
    }
  });

  it('the group list takes az group list --tag\'s filter (tagName, tagValue), keeps it on every page, and refuses any other', async () => {
    const tagged = { 'rg-tag-a': { Env: 'tmp' }, 'rg-tag-b': { env: 'prod' }, 'rg-tag-c': { env: 'tmp' }, 'rg-tag-d': {} };
    for (const [g, tags] of Object.entries(tagged)) assert.equal((await api(server, 'PUT', `${sub}/resourceGroups/${g}${groupApi}`, { location: 'local', tags })).status, 201);
    /** Every page of the list under `filter`, one group a page, following each nextLink as it is. */
    const names = async (filter: string, before = '') => {
      const seen: string[] = [];
      let url: string | undefined = `${sub}/resourcegroups${groupApi}&$top=1${before}&$filter=${encodeURIComponent(filter)}`;
      while (url) {
        const page = await api(server, 'GET', url);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        seen.push(...page.body!.value.map((g: { name: string }) => g.name));
        url = page.body!.nextLink === undefined ? undefined : (page.body!.nextLink as string).slice(server.url.length);
      }
      return seen.filter((n) => n.startsWith('rg-tag-'));
    };
    // Tag names in any case, values exactly.
    assert.deepEqual(await names("tagName eq 'env' and tagValue eq 'tmp'"), ['rg-tag-a', 'rg-tag-c']);
    assert.deepEqual(await names("tagName eq 'ENV'"), ['rg-tag-a', 'rg-tag-b', 'rg-tag-c']);
    assert.deepEqual(await names("tagName eq 'env' and tagValue eq 'TMP'"), []);
    // Options in any case are read, never ignored; twice in two cases is a 400.
    const upper = await api(server, 'GET', `${sub}/resourcegroups?API-VERSION=2021-04-01&$Filter=${encodeURIComponent("tagName eq 'env' and tagValue eq 'tmp'")}`);
    assert.deepEqual(upper.body!.value.map((g: { name: string }) => g.name).filter((n: string) => n.startsWith('rg-tag-')), ['rg-tag-a', 'rg-tag-c']);
    assert.equal((await api(server, 'GET', `${sub}/resourcegroups${groupApi}&$filter=${encodeURIComponent("tagName eq 'env'")}&$FILTER=x`)).status, 400);
    // A raw `?` in the query (legal there) does not cut the options the nextLink carries.
    assert.deepEqual(await names("tagName eq 'env' and tagValue eq 'tmp'", '&x=?'), ['rg-tag-a', 'rg-tag-c']);
    for (const bad of ["tagValue eq 'tmp'", "name eq 'rg-tag-a'", "startswith(tagname, 'e')", "tagName eq 'env' or tagName eq 'x'"]) {
      const refused = await api(server, 'GET', `${sub}/resourcegroups${groupApi}&$filter=${encodeURIComponent(bad)}`);
      assert.equal(refused.status, 400, bad);
      assert.equal(refused.body!.error.code, 'InvalidFilterInQueryString', bad);
    }
  });

  it('DELETE soft-deletes every vault in the group, needs the right to delete each, and a recreated group can take one back', async () => {
    assert.equal((await api(server, 'PUT', `${sub}/resourceGroups/rg-doomed${groupApi}`, { location: 'local' })).status, 201);
    await makeVault('rg-doomed', 'doomed-one');
    await makeVault('rg-doomed', 'doomed-two');
    const groupScope = `${sub}/resourceGroups/rg-doomed`;
    assert.equal((await assignRole(server, groupScope, ROLE_IDS['Key Vault Administrator'], server.bootstrap.objectId)).status, 201);
    await secretClient(server, 'doomed-one').setSecret('db-user', 'kept');

    // May delete the group but not the vaults in it: refused, and nothing is deleted.
    const deleter = await newServicePrincipal(server, 'group-deleter');
    const roleId = crypto.randomUUID();
    const role = {
      properties: {
        roleName: `Group deleter ${roleId}`,
        permissions: [{ actions: ['Microsoft.Resources/subscriptions/resourceGroups/delete', 'Microsoft.Resources/subscriptions/resourceGroups/read'] }],
        assignableScopes: [sub],
      },
    };
    assert.equal((await api(server, 'PUT', `${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`, role)).status, 201);
    assert.equal((await assignRole(server, groupScope, roleId, deleter.id)).status, 201);
    const deleterToken = (await credential(server, deleter.appId, deleter.secret).getToken(`${server.url}/.default`)).token;
    const refused = await api(server, 'DELETE', `${groupScope}${groupApi}`, undefined, deleterToken);
    assert.equal(refused.status, 403);
    assert.equal(refused.body!.error.code, 'AuthorizationFailed');
    assert.match(refused.body!.error.message, /Microsoft\.KeyVault\/vaults\/delete/);
    assert.equal((await api(server, 'GET', `${groupScope}/providers/Microsoft.KeyVault/vaults/doomed-one${v}`)).status, 200, 'nothing deleted');
    assert.equal((await api(server, 'GET', `${groupScope}/providers/Microsoft.KeyVault/vaults/doomed-two${v}`)).status, 200);
    assert.equal((await api(server, 'GET', `${groupScope}${groupApi}`)).status, 200);

    const deleted = await api(server, 'DELETE', `${groupScope}${groupApi}`);
    assert.equal(deleted.status, 200);
    assert.equal((await api(server, 'GET', `${groupScope}${groupApi}`)).status, 404);
    const gone = await api(server, 'HEAD', `${groupScope}${groupApi}`);
    assert.equal(gone.status, 404);
    for (const name of ['doomed-one', 'doomed-two']) {
      assert.equal((await api(server, 'GET', `${groupScope}/providers/Microsoft.KeyVault/vaults/${name}${v}`)).status, 404, name);
    }
    const deletedVaults = (await api(server, 'GET', `${sub}/providers/Microsoft.KeyVault/deletedVaults${v}`)).body!.value as Array<{ name: string }>;
    assert.deepEqual(deletedVaults.map((d) => d.name).filter((n) => n.startsWith('doomed-')).sort(), ['doomed-one', 'doomed-two']);
    await assert.rejects(secretClient(server, 'doomed-one').getSecret('db-user'));
    const again = await api(server, 'DELETE', `${groupScope}${groupApi}`);
    assert.equal(again.status, 404);
    assert.equal(again.body!.error.code, 'ResourceGroupNotFound');

    // Each vault's deletion is in the trail under its own name, by the caller who deleted the group.
    const trail = (await api(server, 'GET', '/coffer/audit?vault=doomed-two')).body!.value as Array<{ operationName: string; resourceId: string; identity: { claim: { oid: string } } }>;
    const groupDelete = trail.filter((r) => r.operationName === 'DELETE /subscriptions/:sub/resourceGroups/:rg');
    assert.equal(groupDelete.length, 1, JSON.stringify(trail.map((r) => r.operationName)));
    assert.equal(groupDelete[0]!.identity.claim.oid, server.bootstrap.objectId);
    assert.equal(groupDelete[0]!.resourceId, `${groupScope}/providers/Microsoft.KeyVault/vaults/doomed-two`.toUpperCase(), 'the record names its vault');
    const groupRecords = (await api(server, 'GET', '/coffer/audit?operation=DELETE%20%2Fsubscriptions%2F%3Asub%2FresourceGroups%2F%3Arg')).body!.value as Array<{ resourceId: string; properties: { httpStatusCode: number } }>;
    const done = groupRecords.filter((r) => r.properties.httpStatusCode === 200).map((r) => r.resourceId);
    assert.deepEqual(done.filter((id) => !id.includes('/PROVIDERS/')), [groupScope.toUpperCase()], 'and one record of the deletion for the group itself');
    assert.equal(done.length, 3, 'two vaults and the group');

    // A deleted vault comes back only into a group that exists again.
    const properties = { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, createMode: 'recover' };
    const orphan = await api(server, 'PUT', `${groupScope}/providers/Microsoft.KeyVault/vaults/doomed-one${v}`, { location: 'local', properties });
    assert.equal(orphan.status, 404);
    assert.equal(orphan.body!.error.code, 'ResourceGroupNotFound');
    assert.equal((await api(server, 'PUT', `${groupScope}${groupApi}`, { location: 'local' })).status, 201);
    assert.equal((await api(server, 'PUT', `${groupScope}/providers/Microsoft.KeyVault/vaults/doomed-one${v}`, { location: 'local', properties })).status, 200);
    assert.equal((await secretClient(server, 'doomed-one').getSecret('db-user')).value, 'kept');
  });

  it("a deleted group's and a purged vault's role assignments go with them: a group or vault made again under the name grants nothing old", async () => {
    const reader = await newServicePrincipal(server, 'scope-reader');
    const token = async () => (await credential(server, reader.appId, reader.secret).getToken(`${server.url}/.default`)).token;
    const group = `${sub}/resourceGroups/rg-reborn`;
    const vaultScope = `${group}/providers/Microsoft.KeyVault/vaults/reborn-vault`;
    assert.equal((await api(server, 'PUT', `${group}${groupApi}`, { location: 'local' })).status, 201);
    await makeVault('rg-reborn', 'reborn-vault');
    const atGroup = await assignRole(server, group, ROLE_IDS.Contributor, reader.id);
    const atVault = await assignRole(server, vaultScope, ROLE_IDS['Key Vault Secrets Officer'], reader.id);
    const atSecret = await assignRole(server, `${vaultScope}/secrets/db-user`, ROLE_IDS['Key Vault Secrets User'], reader.id);
    for (const r of [atGroup, atVault, atSecret]) assert.equal(r.status, 201);
    const exists = async (id: string) => (await api(server, 'GET', `${id}?api-version=2022-04-01`)).status;

    assert.equal((await api(server, 'DELETE', `${group}${groupApi}`)).status, 200);
    assert.equal(await exists(atGroup.body!.id), 404, "the group's assignment is gone with it");
    // The soft-deleted vault still exists: its assignments stay, for a recovery.
    assert.equal(await exists(atVault.body!.id), 200);
    assert.equal(await exists(atSecret.body!.id), 200);

    assert.equal((await api(server, 'PUT', `${group}${groupApi}`, { location: 'local' })).status, 201);
    assert.equal((await api(server, 'GET', `${group}${groupApi}`, undefined, await token())).status, 403, 'the group made again grants the old assignee nothing');

    assert.equal((await api(server, 'POST', `${sub}/providers/Microsoft.KeyVault/locations/local/deletedVaults/reborn-vault/purge${v}`)).status, 200);
    assert.equal(await exists(atVault.body!.id), 404, "a purged vault's assignments are gone with it");
    assert.equal(await exists(atSecret.body!.id), 404, "and its secrets'");
    // Under the vault's name while no vault holds it: once one is made again, `vault=` gives that vault's records
    // from its creation on (a second's precision: the purge's could fall in it or not).
    const inVault = (await api(server, 'GET', '/coffer/audit?vault=reborn-vault&operation=RoleAssignmentRemovedWithScope')).body!.value as Array<{ resourceId: string }>;
    assert.equal(inVault.length, 2, "the vault's and its secret's removals show under the vault");
    await makeVault('rg-reborn', 'reborn-vault');
    const planting = secretClient(server, 'reborn-vault', credential(server, reader.appId, reader.secret)).setSecret('planted', 'x');
    await assert.rejects(planting, (err: { statusCode?: number }) => err.statusCode === 403, 'the vault made again grants the old assignee nothing');

    // Each removal is in the audit trail, by the caller whose delete or purge caused it.
    type Rec = { resourceId: string; resultDescription: string; identity: { claim: { oid: string | null } }; callerIpAddress: string };
    const removals = (await api(server, 'GET', '/coffer/audit?operation=RoleAssignmentRemovedWithScope')).body!.value as Rec[];
    const recordOf = (a: { body: Record<string, any> | null }) => removals.filter((r) => r.resourceId === String(a.body!.id).toUpperCase());
    for (const a of [atGroup, atVault, atSecret]) {
      const found = recordOf(a);
      assert.equal(found.length, 1, `one record for ${a.body!.id}: ${JSON.stringify(removals.map((r) => r.resourceId))}`);
      assert.equal(found[0]!.identity.claim.oid, server.bootstrap.objectId);
      assert.match(found[0]!.resultDescription, new RegExp(`principal ${reader.id}.*no longer exists`));
      assert.notEqual(found[0]!.callerIpAddress, '');
    }
  });

  it('a caller without the right to delete the group is refused whether or not it exists', async () => {
    const stranger = await newServicePrincipal(server, 'group-stranger');
    const token = (await credential(server, stranger.appId, stranger.secret).getToken(`${server.url}/.default`)).token;
    assert.equal((await api(server, 'PUT', `${sub}/resourceGroups/rg-kept${groupApi}`, { location: 'local' })).status, 201);
    for (const group of ['rg-kept', 'rg-never']) {
      const r = await api(server, 'DELETE', `${sub}/resourceGroups/${group}${groupApi}`, undefined, token);
      assert.equal(r.status, 403, group);
      const p = await api(server, 'PATCH', `${sub}/resourceGroups/${group}${groupApi}`, { tags: {} }, token);
      assert.equal(p.status, 403, group);
    }
    assert.equal((await api(server, 'GET', `${sub}/resourceGroups/rg-kept${groupApi}`)).status, 200);
  });
});
