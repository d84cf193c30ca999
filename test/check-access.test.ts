import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVault, credential, secretClient } from './support/clients.js';
import { ROLE_IDS, api, assignRole, newServicePrincipal } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// coffer's POST /coffer/check-access: who may do what at a scope, and which
// grant allows it (a role assignment, an access policy, directly or through
// a group), by the vault's permission model.

describe('check access', () => {
  let server: TestServer;
  let sub: string;

  before(async () => {
    server = await startTestServer();
    sub = server.bootstrap.subscriptionId;
  });
  after(() => server?.stop());

  it('check access explains who may do what and why', async () => {
    await createVault(server, 'explain-vault', { enableRbacAuthorization: true });
    const sp = await newServicePrincipal(server, 'explained');
    const vaultPath = `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/explain-vault`;
    const group = await api(server, 'POST', '/v1.0/groups', { displayName: 'readers' });
    await api(server, 'POST', `/v1.0/groups/${group.body!.id}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${sp.id}` });
    await api(server, 'PUT', `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS['Key Vault Secrets User']}`, principalId: group.body!.id },
    });
    const r = await api(server, 'POST', '/coffer/check-access', { principalId: sp.id, scope: `${vaultPath}/secrets/apono-mysql-user` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const get = r.body!.data.find((d: { operation: string }) => d.operation === 'SecretGet');
    assert.equal(get.allowed, true);
    assert.equal(get.grants[0].roleName, 'Key Vault Secrets User');
    assert.equal(get.grants[0].inherited, true);
    assert.deepEqual(get.grants[0].via, { kind: 'group', groupId: group.body!.id, groupName: 'readers' });
    const set = r.body!.data.find((d: { operation: string }) => d.operation === 'SecretSet');
    assert.equal(set.allowed, false);
    assert.equal(r.body!.vault.permissionModel, 'rbac');
  });

  it("check access counts a compound identity's access policy only for its application", async () => {
    const vault = await createVault(server, 'explain-compound');
    const user = await api(server, 'POST', '/v1.0/users', { displayName: 'compound user', userPrincipalName: `compound-${Date.now()}@coffer.local`, passwordProfile: { password: 'Compound-Passw0rd!' }, accountEnabled: true });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const app = await newServicePrincipal(server, 'compound-app');
    const policy = (objectId: string, applicationId?: string) => ({ tenantId: server.bootstrap.tenantId, objectId, ...(applicationId ? { applicationId } : {}), permissions: { secrets: ['get'] } });
    const added = await api(server, 'PUT', `${vault.id}/accessPolicies/add?api-version=2023-07-01`, { properties: { accessPolicies: [policy(user.body!.id, app.appId), policy(app.id, app.appId)] } });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const getOf = async (principalId: string) => {
      const r = await api(server, 'POST', '/coffer/check-access', { principalId, scope: vault.id });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body!.data.find((d: { operation: string }) => d.operation === 'SecretGet');
    };
    const asUser = await getOf(user.body!.id);
    assert.equal(asUser.allowed, false, 'the user alone is not granted: only through the application');
    assert.deepEqual(asUser.ignoredGrants.map((g: { applicationId: string | null }) => g.applicationId), [app.appId.toLowerCase()]);
    const asApp = await getOf(app.id);
    assert.equal(asApp.allowed, true, "the application's own token names it");
    assert.equal(asApp.grants[0].applicationId, app.appId.toLowerCase());
  });

  it('check access at a secret answers the vault-wide operations (list, list deleted, restore) as the vault does', async () => {
    await createVault(server, 'explain-one', { enableRbacAuthorization: true });
    const sp = await newServicePrincipal(server, 'one-secret');
    const secretPath = `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/explain-one/secrets/only-this`;
    assert.equal((await assignRole(server, secretPath, ROLE_IDS['Key Vault Secrets User'], sp.id)).status, 201);
    await secretClient(server, 'explain-one').setSecret('only-this', 'v');
    const own = secretClient(server, 'explain-one', credential(server, sp.appId, sp.secret));
    assert.equal((await own.getSecret('only-this')).value, 'v');
    await assert.rejects(own.listPropertiesOfSecrets().next(), (e: { statusCode?: number }) => e.statusCode === 403);
    const r = await api(server, 'POST', '/coffer/check-access', { principalId: sp.id, scope: secretPath });
    const allowed = Object.fromEntries(r.body!.data.map((d: { operation: string; allowed: boolean }) => [d.operation, d.allowed]));
    assert.deepEqual(
      { get: allowed.SecretGet, versions: allowed.SecretListVersions, list: allowed.SecretList, listDeleted: allowed.SecretListDeleted, restore: allowed.SecretRestore },
      { get: true, versions: true, list: false, listDeleted: false, restore: false },
    );
  });
  it('check access names no principal or group to an app-only caller, which may not read the directory', async () => {
    // A service principal with Reader at a group may read its role assignments, so it may ask; it may not read
    // the directory (Graph's 403), and the answer must not give it the names Graph refuses it.
    const rg = `/subscriptions/${sub}/resourceGroups/rg-names`;
    assert.equal((await api(server, 'PUT', `${rg}?api-version=2021-04-01`, { location: 'local' })).status, 201);
    const user = await api(server, 'POST', '/v1.0/users', { displayName: 'Named Person', userPrincipalName: 'named.person@coffer.local', passwordProfile: { password: 'Named-Passw0rd!x' }, accountEnabled: true });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const group = await api(server, 'POST', '/v1.0/groups', { displayName: 'named-team' });
    await api(server, 'POST', `/v1.0/groups/${group.body!.id}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${user.body!.id}` });
    assert.equal((await assignRole(server, rg, ROLE_IDS['Key Vault Secrets User'], group.body!.id)).status, 201);
    const reader = await newServicePrincipal(server, 'names-reader');
    assert.equal((await assignRole(server, rg, ROLE_IDS.Reader, reader.id)).status, 201);
    const appOnly = (await credential(server, reader.appId, reader.secret).getToken(`${server.url}/.default`)).token;
    assert.equal((await api(server, 'GET', `/v1.0/users/${user.body!.id}`, undefined, appOnly)).status, 403, 'Graph refuses it the user');

    const asked = await api(server, 'POST', '/coffer/check-access', { principalId: user.body!.id, scope: rg }, appOnly);
    assert.equal(asked.status, 200, JSON.stringify(asked.body));
    assert.deepEqual(asked.body!.principal, { id: user.body!.id, type: 'User', displayName: null, appId: null, userPrincipalName: null });
    const get = asked.body!.data.find((d: { operation: string }) => d.operation === 'SecretGet');
    assert.equal(get.allowed, true, 'what the principal may do is still answered');
    assert.deepEqual(get.grants[0].via, { kind: 'group', groupId: group.body!.id, groupName: null });
    assert.ok(!JSON.stringify(asked.body).includes('Named Person') && !JSON.stringify(asked.body).includes('named-team') && !JSON.stringify(asked.body).includes('named.person'));

    // Nor the principal's other memberships (Graph's getMemberGroups, refused to it): only the groups its grants come through.
    const unrelated = await api(server, 'POST', '/v1.0/groups', { displayName: 'unrelated-team' });
    await api(server, 'POST', `/v1.0/groups/${unrelated.body!.id}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${user.body!.id}` });
    assert.equal((await api(server, 'POST', `/v1.0/users/${user.body!.id}/getMemberGroups`, { securityEnabledOnly: false }, appOnly)).status, 403, 'Graph refuses it the memberships');
    const again = await api(server, 'POST', '/coffer/check-access', { principalId: user.body!.id, scope: rg }, appOnly);
    assert.deepEqual(again.body!.groups, [group.body!.id], 'the group a shown grant comes through, not the unrelated one');
    const adminView = await api(server, 'POST', '/coffer/check-access', { principalId: user.body!.id, scope: rg });
    assert.deepEqual([...adminView.body!.groups].sort(), [group.body!.id, unrelated.body!.id].sort(), 'the administrator sees every membership');

    // The administrator (and any user) reads the directory, and gets the names.
    const admin = await api(server, 'POST', '/coffer/check-access', { principalId: user.body!.id, scope: rg });
    assert.equal(admin.body!.principal.userPrincipalName, 'named.person@coffer.local');
    assert.equal(admin.body!.data.find((d: { operation: string }) => d.operation === 'SecretGet').grants[0].via.groupName, 'named-team');
  });
});
