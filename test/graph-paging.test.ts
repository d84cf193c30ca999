import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { adminToken, api, newGroup } from './support/access-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Directory lists paged as Microsoft Graph pages them: $top (1..999, 100
// without one), @odata.nextLink with a $skiptoken, Graph's 400 for a page
// size out of range; coffer's CLI reads every page, as az does.

describe('Graph list paging', () => {
  let server: TestServer;
  let token: string;
  const SPS = 105;
  const spIds: string[] = [];
  const userIds: string[] = [];
  let groupId: string;

  before(async () => {
    server = await startTestServer();
    token = await adminToken(server);
    for (let i = 0; i < SPS; i++) {
      const r = await api(server, 'POST', '/v1.0/servicePrincipals', { displayName: `pg-sp-${String(i).padStart(3, '0')}` }, token);
      assert.equal(r.status, 201);
      spIds.push(r.body!.id);
    }
    for (const name of ['ann', 'bob', 'cy']) {
      const r = await api(server, 'POST', '/v1.0/users', { userPrincipalName: `${name}@coffer.local`, displayName: `pg-user-${name}`, passwordProfile: { password: 'A long enough password 1' } }, token);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      userIds.push(r.body!.id);
    }
    groupId = await newGroup(server, 'pg-group', userIds);
    await newGroup(server, 'pg-group-2', []);
  });
  after(() => server?.stop());

  /** Every page of a list from `path`: the ids in order, and the links followed. */
  async function readAll(path: string) {
    const ids: string[] = [];
    const links: string[] = [];
    let url: string | undefined = `${server.url}${path}`;
    while (url !== undefined) {
      const res: Response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, url);
      const page = (await res.json()) as { value: Array<{ id: string }>; '@odata.nextLink'?: string };
      ids.push(...page.value.map((o) => o.id));
      url = page['@odata.nextLink'];
      if (url !== undefined) links.push(url);
    }
    return { ids, links };
  }

  it('$top makes pages of that size, each with an absolute @odata.nextLink, until the last', async () => {
    const whole = await readAll('/v1.0/servicePrincipals?$top=999');
    assert.equal(whole.links.length, 0, 'all of them fit in one page of 999');
    const paged = await readAll('/v1.0/servicePrincipals?$top=7');
    assert.deepEqual(paged.ids, whole.ids, 'the same objects, in the same order, each once');
    assert.equal(paged.links.length, Math.ceil(whole.ids.length / 7) - 1);
    for (const link of paged.links) {
      assert.ok(link.startsWith(`${server.url}/v1.0/servicePrincipals?`), link);
      assert.match(link, /[?&]\$top=7(&|$)/);
      assert.match(link, /[?&]\$skiptoken=[A-Za-z0-9_-]+$/);
    }
    for (const id of spIds) assert.ok(whole.ids.includes(id));
  });

  it('without $top a page holds 100, as Graph’s directory lists do', async () => {
    const res = await api(server, 'GET', '/v1.0/servicePrincipals', undefined, token);
    assert.equal(res.body!.value.length, 100);
    assert.ok(res.body!['@odata.nextLink']);
    assert.equal((await readAll('/v1.0/servicePrincipals')).ids.length, (await readAll('/v1.0/servicePrincipals?$top=999')).ids.length);
  });

  it('the nextLink keeps the $filter, and users, groups, applications and members page too', async () => {
    const filtered = await readAll(`/v1.0/servicePrincipals?$filter=${encodeURIComponent("startswith(displayName,'pg-sp-01')")}&$top=3`);
    assert.equal(filtered.ids.length, 10, 'pg-sp-010 .. pg-sp-019');
    assert.ok(filtered.links.every((l) => l.includes('$filter=')));
    // System query options in any case, as OData reads them; a raw `?` in the query cuts nothing.
    assert.deepEqual((await readAll(`/v1.0/servicePrincipals?$FILTER=${encodeURIComponent("startswith(displayName,'pg-sp-01')")}&$Top=3`)).ids, filtered.ids);
    assert.deepEqual((await readAll(`/v1.0/servicePrincipals?x=?&$filter=${encodeURIComponent("startswith(displayName,'pg-sp-01')")}&$top=3`)).ids, filtered.ids);
    const twice = await api(server, 'GET', `/v1.0/servicePrincipals?$filter=${encodeURIComponent("startswith(displayName,'a')")}&$Filter=x`, undefined, token);
    assert.equal(twice.status, 400);
    assert.deepEqual((await readAll('/v1.0/users?$top=1')).ids.filter((id) => userIds.includes(id)).sort(), [...userIds].sort());
    const users = await readAll('/v1.0/users?$top=1');
    assert.equal(users.links.length, users.ids.length - 1);
    const groups = await readAll('/v1.0/groups?$top=1');
    assert.equal(groups.ids.length, 2);
    assert.equal(groups.links.length, 1);
    const members = await readAll(`/v1.0/groups/${groupId}/members?$top=2`);
    assert.deepEqual([...members.ids].sort(), [...userIds].sort());
    assert.equal(members.links.length, 1);
    const apps = await readAll('/v1.0/applications?$top=50');
    assert.equal(apps.links.length, Math.ceil(apps.ids.length / 50) - 1);
    assert.ok(apps.ids.length >= SPS);
  });

  it('a page size out of 1..999 is Graph’s 400 Request_UnsupportedQuery; a $skiptoken coffer did not write is 400', async () => {
    for (const top of ['0', '1000', '-1', 'abc', '', '1.5', '0x10']) {
      const res = await api(server, 'GET', `/v1.0/servicePrincipals?$top=${encodeURIComponent(top)}`, undefined, token);
      assert.equal(res.status, 400, `$top=${top}`);
      assert.equal(res.body!.error.code, 'Request_UnsupportedQuery', `$top=${top}`);
      assert.equal(res.body!.error.message, `Invalid page size specified: '${top}'. Must be between 1 and 999 inclusive.`);
    }
    for (const token_ of ['not!base64', 'AAAA', 'x'.repeat(500)]) {
      const res = await api(server, 'GET', `/v1.0/users?$skiptoken=${encodeURIComponent(token_)}`, undefined, token);
      assert.equal(res.status, 400, token_);
      assert.equal(res.body!.error.code, 'Request_BadRequest', token_);
    }
  });

  it('an absolute-form target (as a proxy sends it) is routed by its path: nextLinks and role scopes are not doubled', async () => {
    /** GET with the whole URL as the request target. */
    const absolute = (url: string) =>
      new Promise<{ status: number; body: Record<string, any> }>((resolve, reject) => {
        const u = new URL(url);
        const req = request({ host: u.hostname, port: u.port, servername: u.hostname, path: url, headers: { authorization: `Bearer ${token}` } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, any> }));
        });
        req.on('error', reject);
        req.end();
      });
    const page = await absolute(`${server.url}/v1.0/servicePrincipals?$top=2`);
    assert.equal(page.status, 200);
    assert.ok(String(page.body['@odata.nextLink']).startsWith(`${server.url}/v1.0/servicePrincipals?`), page.body['@odata.nextLink']);
    const scope = `/subscriptions/${server.bootstrap.subscriptionId}`;
    const assignments = await absolute(`${server.url}${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()`);
    assert.equal(assignments.status, 200, JSON.stringify(assignments.body));
    assert.ok(assignments.body.value.length > 0);
    for (const a of assignments.body.value as Array<{ properties: { scope: string } }>) assert.ok(a.properties.scope.startsWith('/'), a.properties.scope);
  });

  it('the CLI follows @odata.nextLink: ad sp list shows every service principal', async () => {
    const home = cliHome();
    const b = server.bootstrap;
    const login = await coffer(home, ['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '--server', server.url, '-o', 'none']);
    assert.equal(login.code, 0, login.stderr);
    const list = await coffer(home, ['ad', 'sp', 'list', '--display-name', 'pg-sp-']);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.json<unknown[]>().length, SPS);
  });
  it('query options coffer does not serve ($search, $orderby, $skip) are refused, never answered with the whole list', async () => {
    const search = encodeURIComponent('"displayName:pg-user-ann"');
    for (const path of [`/v1.0/users?$search=${search}`, '/v1.0/groups?$orderby=displayName', '/v1.0/servicePrincipals?$top=5&$skip=5', `/v1.0/applications?$SEARCH=${search}`, `/v1.0/groups/${groupId}/members?$search=${search}`]) {
      const r = await api(server, 'GET', path, undefined, token);
      assert.equal(r.status, 400, path);
      assert.equal(r.body!.error.code, 'Request_UnsupportedQuery', path);
    }
  });

  it("a group's members list takes $filter as the other lists do: the matching members, or a 400", async () => {
    const filtered = await api(server, 'GET', `/v1.0/groups/${groupId}/members?$filter=${encodeURIComponent("startswith(displayName,'pg-user-b')")}`, undefined, token);
    assert.equal(filtered.status, 200, JSON.stringify(filtered.body));
    assert.deepEqual(filtered.body!.value.map((m: { id: string }) => m.id), [userIds[1]]);
    const bad = await api(server, 'GET', `/v1.0/groups/${groupId}/members?$filter=${encodeURIComponent("mail eq 'x'")}`, undefined, token);
    assert.equal(bad.status, 400);
    assert.equal(bad.body!.error.code, 'Request_UnsupportedQuery');
  });

  it("/applications reads `id eq` as the application's own id, not its service principal's", async () => {
    const sp = (await api(server, 'GET', `/v1.0/servicePrincipals/${spIds[0]}`, undefined, token)).body!;
    const [app] = (await api(server, 'GET', `/v1.0/applications?$filter=${encodeURIComponent(`appId eq '${sp.appId}'`)}`, undefined, token)).body!.value as Array<{ id: string }>;
    assert.ok(app && app.id !== spIds[0]);
    const byId = async (id: string) => (await api(server, 'GET', `/v1.0/applications?$filter=${encodeURIComponent(`id eq '${id}'`)}`, undefined, token)).body!.value.map((a: { id: string }) => a.id);
    assert.deepEqual(await byId(app.id), [app.id]);
    assert.deepEqual(await byId(spIds[0]!), [], "the service principal's id names no application");
  });
  it("getByIds keeps only the objects of the `types` asked for (all of them without it)", async () => {
    const ids = [userIds[0], groupId, spIds[0]];
    const byIds = async (extra: Record<string, unknown>) => {
      const r = await api(server, 'POST', '/v1.0/directoryObjects/getByIds', { ids, ...extra }, token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body!.value as Array<{ id: string }>).map((o) => o.id).sort();
    };
    assert.deepEqual(await byIds({}), [...ids].sort());
    assert.deepEqual(await byIds({ types: ['user'] }), [userIds[0]]);
    assert.deepEqual(await byIds({ types: ['Group', 'servicePrincipal'] }), [groupId, spIds[0]].sort());
    assert.deepEqual(await byIds({ types: ['device'] }), []);
    assert.deepEqual(await byIds({ types: ['user', 'group', 'servicePrincipal', 'directoryObjectPartnerReference'] }), [...ids].sort(), "az's types");
    assert.equal((await api(server, 'POST', '/v1.0/directoryObjects/getByIds', { ids, types: 'user' }, token)).status, 400);
  });
  it('$count=true with ConsistencyLevel: eventual adds @odata.count, the size of the whole filtered list, to the first page (not the next ones, as Graph); without the header it is ignored, as Graph ignores it; a value but true or false is a 400', async () => {
    const counted = async (path: string, consistency?: string) => {
      const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...(consistency ? { consistencylevel: consistency } : {}) } });
      assert.equal(res.status, 200, path);
      return (await res.json()) as { '@odata.count'?: number; value: unknown[] };
    };
    const filter = encodeURIComponent("startswith(displayName,'pg-sp-')");
    const first = await counted(`/v1.0/servicePrincipals?$filter=${filter}&$count=true&$top=10`, 'eventual');
    assert.equal(first['@odata.count'], SPS);
    assert.equal(first.value.length, 10);
    const nextLink = (first as { '@odata.nextLink'?: string })['@odata.nextLink'];
    assert.ok(nextLink?.includes('count=true'), 'the nextLink keeps $count');
    const second = await counted(nextLink!.slice(server.url.length), 'eventual');
    assert.equal(second['@odata.count'], undefined, 'no count on a later page');
    assert.equal(second.value.length, 10);
    const members = await counted(`/v1.0/groups/${groupId}/members?$count=TRUE`, 'Eventual');
    assert.equal(members['@odata.count'], userIds.length);
    const unasked = await counted(`/v1.0/servicePrincipals?$filter=${filter}&$count=true&$top=10`);
    assert.equal(unasked['@odata.count'], undefined, 'no ConsistencyLevel: $count ignored');
    assert.equal(unasked.value.length, 10);
    assert.equal((await counted(`/v1.0/users?$count=true`, 'session'))['@odata.count'], undefined);
    assert.equal((await counted('/v1.0/users?$count=false', 'eventual'))['@odata.count'], undefined);
    const bad = await api(server, 'GET', '/v1.0/users?$count=yes', undefined, token);
    assert.equal(bad.status, 400);
    assert.equal(bad.body!.error.code, 'Request_UnsupportedQuery');
  });
});
