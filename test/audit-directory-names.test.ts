import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credential } from './support/clients.js';
import { ROLE_IDS, api, assignRole, newServicePrincipal, userToken } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// An app-only caller may not read the directory (directory-access.ts). With Microsoft.Insights/logs/read (Reader
// at the subscription) it reads the audit trail: the records must not give it the names Graph refuses it, neither
// the UPN and appId of other callers nor a directory request's record (its path, query or error names what it asked for).

describe('audit records shown to an app-only caller', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('name no directory object, while users and the administrator see the records whole', async () => {
    const sub = server.bootstrap.subscriptionId;
    const user = await api(server, 'POST', '/v1.0/users', { displayName: 'Audited Person', userPrincipalName: 'audited.person@coffer.local', passwordProfile: { password: 'Audited-Passw0rd!x' }, accountEnabled: true });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const other = await newServicePrincipal(server, 'audited-other-app');
    // A user (and another application) calling: their tokens' names go into the records' claims.
    const ut = await userToken(server, 'audited.person@coffer.local', 'Audited-Passw0rd!x');
    assert.equal((await api(server, 'GET', `/subscriptions?api-version=2022-12-01`, undefined, ut)).status, 200);
    const ot = (await credential(server, other.appId, other.secret).getToken(`${server.url}/.default`)).token;
    await api(server, 'GET', `/subscriptions?api-version=2022-12-01`, undefined, ot);
    // The administrator looking names up: the names are in the requests' queries.
    assert.equal((await api(server, 'GET', `/v1.0/users?$filter=${encodeURIComponent("displayName eq 'Hidden Name'")}`)).status, 200);
    assert.equal((await api(server, 'GET', '/coffer/directory/search?q=hidden-search-term')).status, 200);
    await api(server, 'POST', '/v1.0/servicePrincipals', { appId: '0badc0de-0000-4000-8000-00000000beef' });

    const reader = await newServicePrincipal(server, 'audit-reader');
    assert.equal((await assignRole(server, `/subscriptions/${sub}`, ROLE_IDS.Reader, reader.id)).status, 201);
    const appOnly = (await credential(server, reader.appId, reader.secret).getToken(`${server.url}/.default`)).token;
    assert.equal((await api(server, 'GET', '/v1.0/users', undefined, appOnly)).status, 403, 'Graph refuses it the users');
    assert.equal((await api(server, 'GET', '/subscriptions?api-version=2022-12-01', undefined, appOnly)).status, 200);

    const names = ['audited.person', 'Audited Person', other.appId, 'Hidden', 'hidden-search-term', '0badc0de'];
    const seen = await api(server, 'GET', '/coffer/audit?maxresults=1000', undefined, appOnly);
    assert.equal(seen.status, 200, JSON.stringify(seen.body));
    const text = JSON.stringify(seen.body);
    assert.deepEqual(names.filter((n) => text.includes(n)), [], 'no name the directory alone tells');
    const records = seen.body!.value as Array<{ identity: { claim: { oid: string; upn: string | null; appid: string | null } }; operationName: string; resourceId: string }>;
    assert.ok(records.some((r) => r.identity.claim.oid === user.body!.id), "the user's records are there, by object id");
    assert.ok(records.some((r) => r.identity.claim.oid === reader.id && r.identity.claim.appid === reader.appId), 'its own records keep its appId');
    assert.deepEqual(records.filter((r) => r.resourceId.startsWith('/V1.0/') || r.resourceId.startsWith('/COFFER/DIRECTORY')), [], 'no record of a directory request');

    // The administrator reads the directory: the records whole.
    const whole = JSON.stringify((await api(server, 'GET', '/coffer/audit?maxresults=1000')).body);
    assert.deepEqual(names.filter((n) => n !== 'Audited Person' && !whole.includes(n)), [], 'the administrator sees every name');
  });

  it("a Reader signed in as itself (app-only) reads no record of a directory request, whose ids name users and principals; a user Reader and the administrator do", async () => {
    const since = ((await api(server, 'GET', '/coffer/audit/verify')).body as { head: number }).head;
    await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'named-in-uri@coffer.local', passwordProfile: { password: 'A long enough password 1' } });
    assert.equal((await api(server, 'GET', '/v1.0/users/named-in-uri@coffer.local')).status, 200);
    await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'log-reader@coffer.local', passwordProfile: { password: 'A log reading password 1' } });
    const asUser = await userToken(server, 'log-reader@coffer.local', 'A log reading password 1');
    const app = await newServicePrincipal(server, 'log-reader-app');
    const subscription = `/subscriptions/${server.bootstrap.subscriptionId}`;
    for (const who of [app.id, (await api(server, 'GET', '/v1.0/users/log-reader@coffer.local')).body!.id as string]) {
      assert.equal((await assignRole(server, subscription, ROLE_IDS.Reader, who)).status, 201);
    }
    const asApp = (await credential(server, app.appId, app.secret).getToken(`${server.url}/.default`)).token;
    const directoryRecords = async (token?: string) => {
      const r = await api(server, 'GET', `/coffer/audit?maxresults=1000&$skiptoken=${since}`, undefined, token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const value = r.body!.value as Array<{ resourceId: string }>;
      return { all: value.length, directory: value.filter((x) => x.resourceId.startsWith('/V1.0/')).map((x) => x.resourceId) };
    };
    const admin = await directoryRecords();
    assert.ok(admin.directory.includes('/V1.0/USERS/NAMED-IN-URI@COFFER.LOCAL'), 'the administrator reads them');
    assert.ok((await directoryRecords(asUser)).directory.includes('/V1.0/USERS/NAMED-IN-URI@COFFER.LOCAL'), 'a user Reader reads them');
    const appView = await directoryRecords(asApp);
    assert.deepEqual(appView.directory, [], 'an app-only Reader reads none');
    assert.ok(appView.all > 0, 'and still reads the others');
  });
});
