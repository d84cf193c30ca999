import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVault, credential, secretClient } from './support/clients.js';
import { ROLE_IDS, api, assignRole, newServicePrincipal, userToken } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { describeWriteRaces } from './support/write-races.js';

// The directory (search, groups) and custom roles.

describe('directory and custom roles', () => {
  let server: TestServer;
  let sub: string;
  before(async () => {
    server = await startTestServer();
    sub = server.bootstrap.subscriptionId;
  });
  after(() => server?.stop());

  it('finds users, groups and service principals by display name, UPN, appId and object id', async () => {
    const sp = await newServicePrincipal(server, 'apono-connector');
    const user = await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'dana@coffer.local', displayName: 'Dana Apono', passwordProfile: { password: 'Long enough password 1' } });
    const group = await api(server, 'POST', '/v1.0/groups', { displayName: 'apono-admins' });
    const search = async (q: string) => ((await api(server, 'GET', `/coffer/directory/search?q=${encodeURIComponent(q)}`)).body!.value as Array<{ id: string; '@odata.type': string }>).map((o) => o.id);
    const byName = await search('APONO');
    assert.ok([sp.id, user.body!.id, group.body!.id].every((id) => byName.includes(id)));
    assert.deepEqual(await search('dana@coffer'), [user.body!.id]);
    assert.deepEqual(await search(sp.appId), [sp.id]);
    assert.deepEqual(await search(group.body!.id), [group.body!.id]);
    const members = await api(server, 'POST', `/v1.0/groups/${group.body!.id}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${user.body!.id}` });
    assert.equal(members.status, 204);
    const again = await api(server, 'POST', `/v1.0/groups/${group.body!.id}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${user.body!.id}` });
    assert.equal(again.status, 400);
    // Graph takes the object's URL, on whatever host the client knows this server by; a bare id is not one.
    const other = await api(server, 'POST', '/v1.0/groups', { displayName: 'apono-readers' });
    for (const ref of [user.body!.id, `urn:x:${user.body!.id}`, '', 42, null]) {
      const refused = await api(server, 'POST', `/v1.0/groups/${other.body!.id}/members/$ref`, { '@odata.id': ref });
      assert.equal(refused.status, 400, String(ref));
      assert.deepEqual(refused.body!.error, { code: 'BadRequest', message: 'Invalid URL format specified in payload.' });
    }
    const byGraphHost = await api(server, 'POST', `/v1.0/groups/${other.body!.id}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${user.body!.id}` });
    assert.equal(byGraphHost.status, 204);
    const listed = await api(server, 'GET', `/v1.0/groups/${group.body!.id}/members`);
    assert.deepEqual(listed.body!.value.map((m: { id: string }) => m.id), [user.body!.id]);
    assert.equal(listed.body!.value[0]['@odata.type'], '#microsoft.graph.user');
  });

  it("keeps a group's mail nickname as given (derived from the display name without one); a bad one is Graph's 400", async () => {
    const given = await api(server, 'POST', '/v1.0/groups', { displayName: 'Nick Team', mailNickname: 'nick.team-1' });
    assert.equal(given.status, 201);
    assert.equal(given.body!.mailNickname, 'nick.team-1');
    const derived = await api(server, 'POST', '/v1.0/groups', { displayName: 'Other Team!' });
    assert.equal(derived.body!.mailNickname, 'OtherTeam');
    const found = await api(server, 'GET', `/v1.0/groups?$filter=${encodeURIComponent("displayName eq 'Nick Team' and mailNickname eq 'nick.team-1'")}`);
    assert.deepEqual(found.body!.value.map((g: { id: string }) => g.id), [given.body!.id]);
    for (const bad of ['', 'has space', 'a@b', 'x'.repeat(65), 'caf\u00e9', 7, null]) {
      const r = await api(server, 'POST', '/v1.0/groups', { displayName: 'Bad Nick', mailNickname: bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body!.error.message, "Invalid value specified for property 'mailNickname' of resource 'Group'.");
    }
    assert.equal((await api(server, 'GET', `/v1.0/groups?$filter=${encodeURIComponent("displayName eq 'Bad Nick'")}`)).body!.value.length, 0, 'nothing made');
  });

  it("Graph's checkMemberGroups and getMemberGroups answer through nested groups, for any signed-in user; bad bodies are 400s", async () => {
    const user = (await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'erin@coffer.local', displayName: 'Erin', passwordProfile: { password: 'Long enough password 1' } })).body!.id as string;
    const inner = (await api(server, 'POST', '/v1.0/groups', { displayName: 'inner-team' })).body!.id as string;
    const outer = (await api(server, 'POST', '/v1.0/groups', { displayName: 'outer-team' })).body!.id as string;
    const other = (await api(server, 'POST', '/v1.0/groups', { displayName: 'other-team' })).body!.id as string;
    const add = (group: string, member: string) => api(server, 'POST', `/v1.0/groups/${group}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${member}` });
    assert.equal((await add(inner, user)).status, 204);
    assert.equal((await add(outer, inner)).status, 204);
    // Asked by a user who is no administrator: the directory is readable by the tenant's users.
    await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'reader@coffer.local', displayName: 'Reader', passwordProfile: { password: 'Another long password 1' } });
    const token = await userToken(server, 'reader@coffer.local', 'Another long password 1');
    const ask = (path: string, body: unknown) => api(server, 'POST', path, body, token);
    const checked = await ask(`/v1.0/directoryObjects/${user}/checkMemberGroups`, { groupIds: [outer, other, inner.toUpperCase()] });
    assert.deepEqual([checked.status, checked.body!.value], [200, [outer, inner.toUpperCase()]]);
    for (const path of [`/v1.0/users/${user}/getMemberGroups`, '/v1.0/users/erin@coffer.local/getMemberGroups', `/v1.0/directoryObjects/${user}/getMemberGroups`]) {
      const groups = await ask(path, { securityEnabledOnly: false });
      assert.deepEqual([groups.status, [...groups.body!.value].sort()], [200, [inner, outer].sort()], path);
    }
    assert.deepEqual((await ask(`/v1.0/groups/${inner}/getMemberGroups`, { securityEnabledOnly: true })).body!.value, [outer]);
    assert.equal((await ask(`/v1.0/groups/${user}/getMemberGroups`, { securityEnabledOnly: true })).status, 404, 'a user is not a group');
    assert.equal((await ask('/v1.0/directoryObjects/11111111-0000-4000-8000-000000000000/checkMemberGroups', { groupIds: [outer] })).status, 404);
    for (const bad of [{}, { groupIds: [] }, { groupIds: Array.from({ length: 21 }, () => outer) }, { groupIds: [1] }]) {
      assert.equal((await ask(`/v1.0/directoryObjects/${user}/checkMemberGroups`, bad)).status, 400, JSON.stringify(bad).slice(0, 40));
    }
    assert.equal((await ask(`/v1.0/users/${user}/getMemberGroups`, {})).status, 400, 'securityEnabledOnly is required');
  });

  it("Graph list filters: one clause or several joined by 'and', quotes doubled inside values; anything else is a 400 even when nothing would match", async () => {
    const sp = await newServicePrincipal(server, "o'brien and sons");
    await newServicePrincipal(server, 'obrien-tools');
    const ids = async (filter: string) => {
      const r = await api(server, 'GET', `/v1.0/servicePrincipals?$filter=${encodeURIComponent(filter)}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body!.value as Array<{ id: string }>).map((x) => x.id);
    };
    assert.deepEqual(await ids("displayName eq 'o''brien and sons'"), [sp.id], "an 'and' inside a value is part of it");
    assert.deepEqual(await ids(`startswith(displayName,'o''b') and servicePrincipalNames/any(c:c eq '${sp.appId}')`), [sp.id]);
    assert.deepEqual(await ids(`displayName eq 'obrien-tools' AND appId eq '${sp.appId}'`), []);
    for (const bad of ["displayName eq 'x' or appId eq 'y'", "displayName eq 'x' and", 'nonsense']) {
      const r = await api(server, 'GET', `/v1.0/groups?$filter=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body!.error.code, 'Request_UnsupportedQuery');
    }
  });

  it("Graph's /applications is a view of the service principals: an application's id is its own, its passwords are the principal's", async () => {
    const made = await api(server, 'POST', '/v1.0/applications', { displayName: 'app-view' });
    assert.equal(made.status, 201);
    const app = made.body as { id: string; appId: string; passwordCredentials: unknown[] };
    assert.deepEqual(app.passwordCredentials, []);
    // Graph's POST /servicePrincipals {appId}: coffer made the principal with the application.
    const sp = await api(server, 'POST', '/v1.0/servicePrincipals', { appId: app.appId });
    assert.equal(sp.status, 201);
    assert.equal(sp.body!.appId, app.appId);
    assert.notEqual(sp.body!.id, app.id, 'two objects, as in Entra ID');
    const unknown = await api(server, 'POST', '/v1.0/servicePrincipals', { appId: crypto.randomUUID() });
    assert.equal(unknown.status, 400);
    assert.doesNotMatch(unknown.body!.error.message, / does not (reference|exist) /, "not the words az retries on for minutes");

    const added = await api(server, 'POST', `/v1.0/applications/${app.id}/addPassword`, { passwordCredential: { displayName: 'rbac' } });
    assert.equal(added.status, 200);
    const token = await credential(server, app.appId, added.body!.secretText).getToken(`${server.url}/.default`);
    assert.ok(token.token, "the application's password signs its principal in");
    assert.deepEqual((await api(server, 'GET', `/v1.0/applications?$filter=${encodeURIComponent(`appId eq '${app.appId}'`)}`)).body!.value.map((a: { id: string }) => a.id), [app.id]);
    assert.equal((await api(server, 'GET', `/v1.0/applications/${app.id}`)).body!.passwordCredentials.length, 1);
    assert.equal((await api(server, 'PATCH', `/v1.0/applications/${app.id}`, { displayName: 'app-view' })).status, 204, "az's patch of what it found, unchanged");
    assert.equal((await api(server, 'PATCH', `/v1.0/applications/${app.id}`, { displayName: 'renamed' })).status, 400);
    assert.equal((await api(server, 'POST', `/v1.0/applications/${app.id}/removePassword`, { keyId: added.body!.keyId })).status, 204);

    const outsider = await newServicePrincipal(server, 'not-an-app-admin');
    const theirs = (await credential(server, outsider.appId, outsider.secret).getToken(`${server.url}/.default`)).token;
    assert.equal((await api(server, 'POST', `/v1.0/applications/${app.id}/addPassword`, {}, theirs)).status, 403);
    assert.equal((await api(server, 'DELETE', `/v1.0/applications/${app.id}`)).status, 204);
    assert.equal((await api(server, 'GET', `/v1.0/servicePrincipals/${sp.body!.id}`)).status, 404, 'the principal goes with its application');
    const admin = (await api(server, 'GET', `/v1.0/applications?$filter=${encodeURIComponent(`appId eq '${server.bootstrap.clientId}'`)}`)).body!.value[0];
    assert.equal((await api(server, 'DELETE', `/v1.0/applications/${admin.id}`)).status, 400, "the administrator's application cannot be deleted");
  });

  it('a service principal signed in as itself reads only its own object; any other directory call is Graph\'s 403, as without Graph permissions in Entra ID', async () => {
    const sp = await newServicePrincipal(server, 'app-only-reader');
    const other = await newServicePrincipal(server, 'someone-else');
    const token = (await credential(server, sp.appId, sp.secret).getToken(`${server.url}/.default`)).token;
    const own = await api(server, 'GET', `/v1.0/servicePrincipals/${sp.id.toUpperCase()}`, undefined, token);
    assert.deepEqual([own.status, own.body!.appId], [200, sp.appId]);
    const apps = await api(server, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`);
    const ownApp = await api(server, 'GET', `/v1.0/applications/${apps.body!.value[0].id}`, undefined, token);
    assert.deepEqual([ownApp.status, ownApp.body!.appId], [200, sp.appId]);
    const me = await api(server, 'GET', '/v1.0/me', undefined, token);
    assert.equal(me.status, 400, 'Graph answers /me for an app-only token with its own error');
    const refused: Array<[string, string, unknown?]> = [
      ['GET', `/v1.0/servicePrincipals/${other.id}`],
      ['GET', '/v1.0/servicePrincipals/11111111-0000-4000-8000-000000000000'],
      ['GET', `/v1.0/servicePrincipals?$filter=appId eq '${sp.appId}'`],
      ['GET', '/v1.0/applications'],
      ['GET', '/v1.0/users'],
      ['GET', '/v1.0/groups'],
      ['POST', '/v1.0/directoryObjects/getByIds', { ids: [sp.id, other.id] }],
      ['POST', `/v1.0/directoryObjects/${sp.id}/checkMemberGroups`, { groupIds: [other.id] }],
      ['POST', `/v1.0/servicePrincipals/${sp.id}/addPassword`, {}],
      ['GET', '/coffer/directory/search?q=some'],
    ];
    for (const [method, path, body] of refused) {
      const r = await api(server, method, path, body, token);
      assert.deepEqual([r.status, r.body?.error?.code, r.body?.error?.message], [403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'], `${method} ${path}`);
    }
    // A user of the tenant still reads the directory.
    await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'lister@coffer.local', passwordProfile: { password: 'A listing password 1' } });
    const asUser = await userToken(server, 'lister@coffer.local', 'A listing password 1');
    const listed = await api(server, 'GET', `/v1.0/servicePrincipals?$filter=appId eq '${other.appId}'`, undefined, asUser);
    assert.deepEqual([listed.status, listed.body!.value.map((p: { id: string }) => p.id)], [200, [other.id]]);
  });

  it('only the administrator changes the directory', async () => {
    const sp = await newServicePrincipal(server, 'not-an-admin');
    const token = (await credential(server, sp.appId, sp.secret).getToken(`${server.url}/.default`)).token;
    const r = await api(server, 'POST', '/v1.0/servicePrincipals', { displayName: 'sneaky' }, token);
    assert.equal(r.status, 403);
    assert.equal(r.body?.error?.code, 'Authorization_RequestDenied');
    const user = await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'reset-me@coffer.local', passwordProfile: { password: 'A first password 1' } });
    const reset = (body: object, as?: string) => api(server, 'PATCH', '/v1.0/users/reset-me@coffer.local', body, as);
    assert.equal((await reset({ passwordProfile: { password: 'An attacker password 1' } }, token)).status, 403, 'a password reset is the administrator\'s');
    // As Graph's user update: 204, and an update without a password changes nothing; what coffer does not keep is refused.
    assert.equal((await reset({})).status, 204);
    assert.equal((await reset({ passwordProfile: { forceChangePasswordNextSignIn: false } })).status, 204);
    for (const [body, message] of [
      [[], /must be a JSON object/],
      [{ displayName: 'Renamed' }, /changes only passwordProfile of a user, not displayName/],
      [{ passwordProfile: { password: 'A new password 1', forceChangePasswordNextSignIn: true } }, /forceChangePasswordNextSignIn is not supported/],
      [{ passwordProfile: { password: 42 } }, /passwordProfile\.password must be a string/],
      [{ passwordProfile: { password: 'short' } }, /./],
    ] as const) {
      const refused = await reset(body);
      assert.equal(refused.status, 400, JSON.stringify(body));
      assert.match(refused.body!.error.message, message);
    }
    assert.equal((await api(server, 'PATCH', `/v1.0/users/${user.body!.id}`, { passwordProfile: { password: 'A second password 2' } })).status, 204, 'by object id too');
    assert.equal((await api(server, 'PATCH', '/v1.0/users/nobody@coffer.local', { passwordProfile: { password: 'A second password 2' } })).status, 404);
  });

  it('a custom role grants exactly its data actions within its assignable scopes, and cannot be deleted while assigned', async () => {
    await createVault(server, 'custom-role-vault', { enableRbacAuthorization: true });
    await createVault(server, 'outside-vault', { enableRbacAuthorization: true });
    await secretClient(server, 'custom-role-vault').setSecret('x', 'value');
    const vaultScope = `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/custom-role-vault`;
    const roleId = crypto.randomUUID();
    const url = `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`;
    const created = await api(server, 'PUT', url, {
      properties: {
        roleName: 'Secret Reader Without Listing',
        description: 'get only',
        type: 'CustomRole',
        permissions: [{ actions: [], notActions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/*'], notDataActions: ['Microsoft.KeyVault/vaults/secrets/readMetadata/action', 'Microsoft.KeyVault/vaults/secrets/setSecret/action', 'Microsoft.KeyVault/vaults/secrets/delete', 'Microsoft.KeyVault/vaults/secrets/purge/action'] }],
        assignableScopes: [vaultScope],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body!.properties.type, 'CustomRole');
    // Listed where it may be assigned (at its scope and below), not above it unless asked for.
    const list = async (scope: string, filter: string) =>
      (await api(server, 'GET', `${scope}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=${encodeURIComponent(filter)}`)).body!.value.map((r: { name: string }) => r.name);
    assert.deepEqual(await list(vaultScope, "roleName eq 'Secret Reader Without Listing'"), [roleId]);
    assert.deepEqual(await list(`${vaultScope}/secrets/x`, "roleName eq 'Secret Reader Without Listing'"), [roleId]);
    assert.deepEqual(await list(`/subscriptions/${sub}`, "roleName eq 'Secret Reader Without Listing'"), []);
    assert.ok((await list(`/subscriptions/${sub}`, 'atScopeAndBelow()')).includes(roleId));
    assert.ok((await list(`/subscriptions/${sub}`, "roleName eq 'Key Vault Secrets User'")).length === 1, 'built-in roles are assignable everywhere');
    const dupName = await api(server, 'PUT', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${crypto.randomUUID()}?api-version=2022-04-01`, {
      properties: { roleName: 'secret reader without listing', permissions: [{ actions: ['*/read'] }], assignableScopes: [vaultScope] },
    });
    assert.equal(dupName.status, 409);
    // Bounded: every authorization that looks at a role walks its action strings.
    for (const permissions of [
      [{ actions: Array.from({ length: 1001 }, (_, i) => `Microsoft.KeyVault/vaults/x${i}/read`) }],
      Array.from({ length: 101 }, () => ({ actions: ['*/read'] })),
      [{ dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action extra'] }],
    ]) {
      const refused = await api(server, 'PUT', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${crypto.randomUUID()}?api-version=2022-04-01`, {
        properties: { roleName: `bounded ${crypto.randomUUID()}`, permissions, assignableScopes: [vaultScope] },
      });
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body?.error?.code, 'BadRequest');
    }

    const sp = await newServicePrincipal(server, 'custom-role-holder');
    const outside = await assignRole(server, `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/outside-vault`, roleId, sp.id);
    assert.equal(outside.status, 403, 'not assignable outside its scopes');
    assert.equal((await assignRole(server, vaultScope, roleId, sp.id)).status, 201);
    const client = secretClient(server, 'custom-role-vault', credential(server, sp.appId, sp.secret));
    assert.equal((await client.getSecret('x')).value, 'value');
    await assert.rejects(client.setSecret('x', 'no'), (err: { statusCode?: number }) => err.statusCode === 403);
    await assert.rejects(async () => {
      for await (const _ of client.listPropertiesOfSecrets()) break;
    }, (err: { statusCode?: number }) => err.statusCode === 403);

    const inUse = await api(server, 'DELETE', url);
    assert.equal(inUse.status, 409);
    const builtIn = await api(server, 'DELETE', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6?api-version=2022-04-01`);
    assert.equal(builtIn.status, 403);
  });

  it('changing a custom role needs roleDefinitions/write wherever it is assignable now, not only where it will be', async () => {
    const subScope = `/subscriptions/${sub}`;
    const rgScope = `${subScope}/resourceGroups/rg-mallory`;
    assert.ok((await api(server, 'PUT', `${rgScope}?api-version=2021-04-01`, { location: 'local' })).status < 300);
    const roleId = crypto.randomUUID();
    const url = `${subScope}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`;
    const readVaults = { roleName: 'Vault Lister', permissions: [{ actions: ['Microsoft.KeyVault/vaults/read'] }], assignableScopes: [subScope] };
    assert.equal((await api(server, 'PUT', url, { properties: readVaults })).status, 201);
    const mallory = await newServicePrincipal(server, 'rg-owner-mallory');
    assert.equal((await assignRole(server, subScope, roleId, mallory.id)).status, 201);
    assert.equal((await assignRole(server, rgScope, ROLE_IDS.Owner, mallory.id)).status, 201);
    const token = (await credential(server, mallory.appId, mallory.secret).getToken(`${server.url}/.default`)).token;

    // Owner of rg-mallory only: widening the subscription-wide role through a PUT that names rg-mallory is refused,
    // through the subscription's URL (not hers) and through her group's (the role reaches the subscription: a linked scope).
    const widen = { roleName: 'Vault Lister', permissions: [{ actions: ['*'], dataActions: ['*'] }], assignableScopes: [rgScope] };
    const refused = await api(server, 'PUT', url, { properties: widen }, token);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body?.error?.code, 'AuthorizationFailed');
    const throughGroup = await api(server, 'PUT', `${rgScope}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`, { properties: widen }, token);
    assert.equal(throughGroup.status, 403, JSON.stringify(throughGroup.body));
    assert.deepEqual(throughGroup.body?.error, {
      code: 'LinkedAuthorizationFailed',
      message: `The client '${mallory.id}' with object id '${mallory.id}' has permission to perform action 'Microsoft.Authorization/roleDefinitions/write' on scope '${rgScope}'; however, it does not have permission to perform action 'Microsoft.Authorization/roleDefinitions/write' on the linked scope(s) '${subScope}' or the linked scope(s) are invalid.`,
    });
    const after = await api(server, 'GET', url);
    assert.deepEqual(after.body!.properties.permissions[0].actions, ['Microsoft.KeyVault/vaults/read']);
    assert.deepEqual(after.body!.properties.assignableScopes, [subScope]);
    const escalated = await assignRole(server, subScope, ROLE_IDS.Reader, mallory.id, {}, token);
    assert.equal(escalated.status, 403, 'still no roleAssignments/write at the subscription');

    // A role assignable only inside rg-mallory is hers to change, through her group's URL (as az sends it: the first assignable scope).
    const ownId = crypto.randomUUID();
    const ownUrl = `${rgScope}/providers/Microsoft.Authorization/roleDefinitions/${ownId}?api-version=2022-04-01`;
    assert.equal((await api(server, 'PUT', `${subScope}/providers/Microsoft.Authorization/roleDefinitions/${ownId}?api-version=2022-04-01`, { properties: { roleName: 'Mallory Role', permissions: [{ actions: ['Microsoft.KeyVault/vaults/read'] }], assignableScopes: [rgScope] } }, token)).status, 403, 'not through the subscription’s URL');
    const own = { roleName: 'Mallory Role', permissions: [{ actions: ['Microsoft.KeyVault/vaults/read'] }], assignableScopes: [rgScope] };
    assert.equal((await api(server, 'PUT', ownUrl, { properties: own }, token)).status, 201);
    assert.equal((await api(server, 'PUT', ownUrl, { properties: { ...own, permissions: [{ actions: ['*/read'] }] } }, token)).status, 201, 'an update is a 201 too, as in Azure');
  });

  describeWriteRaces(
    () => server,
    () => `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/race-vault`,
    () => createVault(server, 'race-vault', { enableRbacAuthorization: true }),
  );
});
