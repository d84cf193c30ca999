import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { armClient, createVault, credential, secretClient } from './support/clients.js';
import { ROLE_IDS, adminToken, api, assignRole, newServicePrincipal } from './support/access-kit.js';
import { STREAM_FROM_ITEMS } from '../src/server/value-list.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The management plane through the official ARM SDKs: vault settings, access
// policies, deleted vaults (@azure/arm-keyvault) and role definitions and
// assignments (@azure/arm-authorization).

describe('management plane access control', () => {
  let server: TestServer;
  let sub: string;
  const authz = () => new AuthorizationManagementClient(credential(server), sub, { endpoint: server.url, credentialScopes: [`${server.url}/.default`] });

  before(async () => {
    server = await startTestServer();
    sub = server.bootstrap.subscriptionId;
  });
  after(() => server?.stop());

  it('@azure/arm-keyvault: retention, purge protection, model, access policies, delete, list deleted, recover, purge', async () => {
    const arm = armClient(server);
    await createVault(server, 'acl-vault', { softDeleteRetentionInDays: 7 });
    // Fixed after creation, as in Azure: a shorter one would shorten purge protection's window.
    await assert.rejects(arm.vaults.update('rg-test', 'acl-vault', { properties: { softDeleteRetentionInDays: 14 } }), (err: { statusCode?: number; message?: string }) => {
      assert.equal(err.statusCode, 400);
      assert.match(err.message ?? '', /softDeleteRetentionInDays" has been set already/);
      return true;
    });
    let v = await arm.vaults.update('rg-test', 'acl-vault', { properties: { softDeleteRetentionInDays: 7 } });
    assert.equal(v.properties.softDeleteRetentionInDays, 7);
    v = await arm.vaults.update('rg-test', 'acl-vault', { properties: { enableRbacAuthorization: true } });
    assert.equal(v.properties.enableRbacAuthorization, true);
    v = await arm.vaults.update('rg-test', 'acl-vault', { properties: { enableRbacAuthorization: false } });

    const sp = await newServicePrincipal(server, 'policy holder');
    const entry = { tenantId: server.bootstrap.tenantId, objectId: sp.id, permissions: { secrets: ['get' as const] } };
    const added = await arm.vaults.updateAccessPolicy('rg-test', 'acl-vault', 'add', { properties: { accessPolicies: [entry] } });
    assert.ok(added.properties.accessPolicies.some((p) => p.objectId === sp.id && p.permissions.secrets?.includes('get')));
    await arm.vaults.updateAccessPolicy('rg-test', 'acl-vault', 'add', { properties: { accessPolicies: [{ ...entry, permissions: { secrets: ['list' as const] } }] } });
    let policies = (await arm.vaults.get('rg-test', 'acl-vault')).properties.accessPolicies ?? [];
    assert.deepEqual(policies.find((p) => p.objectId === sp.id)?.permissions.secrets?.sort(), ['get', 'list'], 'add merges permissions');
    await arm.vaults.updateAccessPolicy('rg-test', 'acl-vault', 'remove', { properties: { accessPolicies: [{ ...entry, permissions: { secrets: ['get' as const] } }] } });
    policies = (await arm.vaults.get('rg-test', 'acl-vault')).properties.accessPolicies ?? [];
    assert.deepEqual(policies.find((p) => p.objectId === sp.id)?.permissions.secrets, ['list']);
    await arm.vaults.updateAccessPolicy('rg-test', 'acl-vault', 'replace', { properties: { accessPolicies: [{ ...entry, permissions: { secrets: ['all' as const] } }] } });
    policies = (await arm.vaults.get('rg-test', 'acl-vault')).properties.accessPolicies ?? [];
    assert.deepEqual(policies.find((p) => p.objectId === sp.id)?.permissions.secrets, ['all']);
    await arm.vaults.updateAccessPolicy('rg-test', 'acl-vault', 'remove', { properties: { accessPolicies: [{ ...entry, permissions: { secrets: ['all' as const] } }] } });
    policies = (await arm.vaults.get('rg-test', 'acl-vault')).properties.accessPolicies ?? [];
    assert.equal(policies.find((p) => p.objectId === sp.id), undefined);

    await secretClient(server, 'acl-vault').setSecret('survivor', 'kept');
    await arm.vaults.delete('rg-test', 'acl-vault');
    const deleted = [];
    for await (const d of arm.vaults.listDeleted()) deleted.push(d.name);
    assert.ok(deleted.includes('acl-vault'));
    const got = await arm.vaults.getDeleted('acl-vault', 'local');
    assert.equal(got.properties?.vaultId, `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/acl-vault`);
    await assert.rejects(createVault(server, 'acl-vault'), (err: { statusCode?: number }) => err.statusCode === 409);

    const recovered = await createVault(server, 'acl-vault', { createMode: 'recover' });
    assert.equal(recovered.name, 'acl-vault');
    assert.equal((await secretClient(server, 'acl-vault').getSecret('survivor')).value, 'kept');

    await arm.vaults.delete('rg-test', 'acl-vault');
    await arm.vaults.beginPurgeDeletedAndWait('acl-vault', 'local');
    const after = [];
    for await (const d of arm.vaults.listDeleted()) after.push(d.name);
    assert.ok(!after.includes('acl-vault'));
    // What scripts around `az keyvault purge` look for once a vault is gone.
    await assert.rejects(arm.vaults.getDeleted('acl-vault', 'local'), (err: { statusCode?: number; code?: string }) => err.statusCode === 404 && err.code === 'DeletedVaultNotFound');
    await assert.rejects(arm.vaults.beginPurgeDeletedAndWait('acl-vault', 'local'), (err: { statusCode?: number; code?: string }) => err.statusCode === 404 && err.code === 'DeletedVaultNotFound');
    const fresh = await createVault(server, 'acl-vault');
    assert.equal(fresh.name, 'acl-vault');
  });

  it('@azure/arm-authorization: find "Key Vault Secrets User", assign it on a secret, list, delete', async () => {
    await createVault(server, 'authz-vault', { enableRbacAuthorization: true });
    await secretClient(server, 'authz-vault').setSecret('apono-mysql-user', '{"username":"u","password":"p"}');
    await secretClient(server, 'authz-vault').setSecret('not-granted', 'x');
    const client = authz();
    const vaultScope = `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/authz-vault`;
    const roles = [];
    for await (const r of client.roleDefinitions.list(vaultScope, { filter: "roleName eq 'Key Vault Secrets User'" })) roles.push(r);
    assert.equal(roles.length, 1);
    assert.equal(roles[0]!.name, ROLE_IDS['Key Vault Secrets User']);
    assert.deepEqual(roles[0]!.permissions?.[0]?.dataActions, ['Microsoft.KeyVault/vaults/secrets/getSecret/action', 'Microsoft.KeyVault/vaults/secrets/readMetadata/action']);

    const connector = await newServicePrincipal(server, 'apono-connector');
    const secretScope = `${vaultScope}/secrets/apono-mysql-user`;
    const name = crypto.randomUUID();
    const created = await client.roleAssignments.create(secretScope, name, {
      roleDefinitionId: roles[0]!.id!,
      principalId: connector.id,
      principalType: 'ServicePrincipal',
      description: 'connector reads its MySQL user',
    });
    assert.equal(created.scope, secretScope);
    assert.equal(created.principalId, connector.id);
    // Every field of the stored row comes back from get and list (the authorization index keeps only what decisions need).
    const shown = { scope: secretScope, principalId: connector.id, principalType: 'ServicePrincipal', description: 'connector reads its MySQL user', createdBy: server.bootstrap.objectId };
    const pick = (a: typeof created) => ({ scope: a.scope, principalId: a.principalId, principalType: a.principalType, description: a.description, createdBy: a.createdBy });
    assert.deepEqual(pick(created), shown);
    assert.deepEqual(pick(await client.roleAssignments.get(secretScope, name)), shown);
    const listed = [];
    for await (const a of client.roleAssignments.listForScope(vaultScope)) if (a.name === name) listed.push(pick(a));
    assert.deepEqual(listed, [shown]);
    assert.ok((await client.roleAssignments.get(secretScope, name)).createdOn instanceof Date);

    const connectorClient = secretClient(server, 'authz-vault', credential(server, connector.appId, connector.secret));
    assert.equal((await connectorClient.getSecret('apono-mysql-user')).value, '{"username":"u","password":"p"}');
    await assert.rejects(connectorClient.getSecret('not-granted'), (err: { statusCode?: number; message: string }) => {
      assert.equal(err.statusCode, 403);
      assert.match(err.message, /Caller is not authorized to perform action on resource/);
      assert.match(err.message, /Action: 'Microsoft\.KeyVault\/vaults\/secrets\/getSecret\/action'/);
      assert.match(err.message, /Assignment: \(not found\)/);
      assert.match(err.message, /DecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: authz-vault;location=/);
      return true;
    });

    const atSecret = [];
    for await (const a of client.roleAssignments.listForScope(secretScope, { filter: 'atScope()' })) atSecret.push(a.name);
    assert.ok(atSecret.includes(name));
    const forPrincipal = [];
    for await (const a of client.roleAssignments.listForSubscription({ filter: `assignedTo('${connector.id}')` })) forPrincipal.push(a.name);
    assert.deepEqual(forPrincipal, [name]);

    const deleted = await client.roleAssignments.delete(secretScope, name);
    assert.deepEqual(pick(deleted!), shown, 'the deleted assignment is returned whole');
    await assert.rejects(connectorClient.getSecret('apono-mysql-user'), (err: { statusCode?: number }) => err.statusCode === 403);
  });

  it('@azure/arm-authorization: the classic administrators (az role assignment list --include-classic-administrators) are an empty list', async () => {
    const listed = [];
    for await (const admin of authz().classicAdministrators.list()) listed.push(admin);
    assert.deepEqual(listed, []);
  });

  it('@azure/arm-authorization: creates a custom role and updates it (201 both times, as Azure answers)', async () => {
    const scope = `/subscriptions/${sub}`;
    const id = crypto.randomUUID();
    const role = (description: string) => ({ roleName: 'Secret Getter (sdk)', description, roleType: 'CustomRole', permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action'] }], assignableScopes: [scope] });
    const created = await authz().roleDefinitions.createOrUpdate(scope, id, role('first'));
    assert.equal(created.description, 'first');
    const updated = await authz().roleDefinitions.createOrUpdate(scope, id, role('second'));
    assert.equal(updated.description, 'second');
    assert.equal((await authz().roleDefinitions.get(scope, id)).description, 'second');
    await authz().roleDefinitions.delete(scope, id);
  });

  it('built-in role definitions at the root scope are shown to any signed-in caller, custom ones never', async () => {
    const stranger = await newServicePrincipal(server, 'root-reader');
    const strangerCred = credential(server, stranger.appId, stranger.secret);
    const token = (await strangerCred.getToken(`${server.url}/.default`)).token;
    const userRole = ROLE_IDS['Key Vault Secrets User'];
    const root = new AuthorizationManagementClient(strangerCred, sub, { endpoint: server.url, credentialScopes: [`${server.url}/.default`] });
    const shown = await root.roleDefinitions.get('/', userRole);
    assert.equal(shown.roleName, 'Key Vault Secrets User');
    assert.equal(shown.id, `/providers/Microsoft.Authorization/roleDefinitions/${userRole}`, 'no subscription in the id at the root');
    const named = [];
    for await (const r of root.roleDefinitions.list('/', { filter: "roleName eq 'Key Vault Secrets User'" })) named.push(r.name);
    assert.deepEqual(named, [userRole]);

    const customId = crypto.randomUUID();
    const custom = { roleName: `Root hidden ${customId}`, permissions: [{ actions: ['Microsoft.KeyVault/vaults/read'] }], assignableScopes: [`/subscriptions/${sub}`] };
    assert.equal((await authz().roleDefinitions.createOrUpdate(`/subscriptions/${sub}`, customId, custom)).roleName, custom.roleName);
    const hidden = await api(server, 'GET', `/providers/Microsoft.Authorization/roleDefinitions/${customId}?api-version=2022-04-01`, undefined, token);
    assert.equal(hidden.status, 404);
    assert.equal(hidden.body!.error.code, 'RoleDefinitionDoesNotExist');
    const listed = await api(server, 'GET', `/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=atScopeAndBelow()`, undefined, token);
    assert.equal(listed.status, 200);
    const types = new Set((listed.body!.value as Array<{ properties: { type: string } }>).map((r) => r.properties.type));
    assert.deepEqual([...types], ['BuiltInRole']);
    // Below the root, reading still needs a role there.
    const bySubscription = await api(server, 'GET', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${userRole}?api-version=2022-04-01`, undefined, token);
    assert.equal(bySubscription.status, 403);
    await authz().roleDefinitions.delete(`/subscriptions/${sub}`, customId);
  });

  it("a custom role is read by id only at a scope it is assignable at, above or below: Reader at one group does not see another group's role", async () => {
    const groupA = `/subscriptions/${sub}/resourceGroups/rg-roles-a`;
    const groupB = `/subscriptions/${sub}/resourceGroups/rg-roles-b`;
    for (const g of [groupA, groupB]) assert.equal((await api(server, 'PUT', `${g}?api-version=2021-04-01`, { location: 'local' })).status, 201);
    const reader = await newServicePrincipal(server, 'group-a-reader');
    assert.equal((await assignRole(server, groupA, ROLE_IDS.Reader, reader.id)).status, 201);
    const token = (await credential(server, reader.appId, reader.secret).getToken(`${server.url}/.default`)).token;
    const otherId = crypto.randomUUID();
    const other = { roleName: `Group B only ${otherId}`, description: 'for group B', permissions: [{ actions: ['Microsoft.KeyVault/vaults/read'] }], assignableScopes: [groupB] };
    await authz().roleDefinitions.createOrUpdate(groupB, otherId, other);
    const ownId = crypto.randomUUID();
    await authz().roleDefinitions.createOrUpdate(groupA, ownId, { ...other, roleName: `Group A only ${ownId}`, assignableScopes: [groupA] });
    const vaultOfA = `${groupA}/providers/Microsoft.KeyVault/vaults/some-vault`;
    const get = (scope: string, id: string) => api(server, 'GET', `${scope}/providers/Microsoft.Authorization/roleDefinitions/${id}?api-version=2022-04-01`, undefined, token);

    for (const scope of [groupA, vaultOfA]) {
      const hidden = await get(scope, otherId);
      assert.equal(hidden.status, 404, `${scope}: ${JSON.stringify(hidden.body)}`);
      assert.equal(hidden.body!.error.code, 'RoleDefinitionDoesNotExist');
      const listed = await api(server, 'GET', `${scope}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=atScopeAndBelow()`, undefined, token);
      assert.ok(!JSON.stringify(listed.body).includes(otherId), 'nor listed');
      // Its own group's role, and the built-in ones, it reads there.
      assert.equal((await get(scope, ownId)).status, 200, scope);
      assert.equal((await get(scope, ROLE_IDS['Key Vault Secrets User'])).status, 200, scope);
    }
    // The administrator reads it at the subscription (assignable below it) and at its own group.
    for (const scope of [`/subscriptions/${sub}`, groupB]) {
      assert.equal((await api(server, 'GET', `${scope}/providers/Microsoft.Authorization/roleDefinitions/${otherId}?api-version=2022-04-01`)).status, 200, scope);
    }
    assert.equal((await api(server, 'GET', `${groupA}/providers/Microsoft.Authorization/roleDefinitions/${otherId}?api-version=2022-04-01`)).status, 404, 'nor by the administrator where it is not assignable');
  });

  it('@azure/arm-authorization and a raw read list more than 1,000 role assignments (a streamed response)', async () => {
    await createVault(server, 'many-authz', { enableRbacAuthorization: true });
    const scope = `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/many-authz`;
    const holder = await newServicePrincipal(server, 'many-assignments');
    const count = STREAM_FROM_ITEMS + 30;
    const made = new Set<string>();
    for (let i = 0; i < count; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, (_, k) => assignRole(server, `${scope}/secrets/s-${i + k}`, ROLE_IDS['Key Vault Secrets User'], holder.id)),
      );
      for (const r of batch) {
        assert.equal(r.status, 201, JSON.stringify(r.body));
        made.add(r.body!.name as string);
      }
    }
    const listed = new Set<string>();
    for await (const a of authz().roleAssignments.listForScope(scope)) if (a.principalId === holder.id) listed.add(a.name!);
    assert.deepEqual([...listed].sort(), [...made].sort());

    const res = await fetch(`${server.url}${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`, {
      headers: { authorization: `Bearer ${await adminToken(server)}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), null, 'streamed');
    const body = (await res.json()) as { value: Array<{ name: string; properties: { principalId: string } }> };
    assert.equal(body.value.filter((a) => a.properties.principalId === holder.id).length, count);
  });

  it('bad role assignment requests are answered as Azure answers, with nothing changed', async () => {
    await createVault(server, 'bad-authz', { enableRbacAuthorization: true });
    const scope = `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/bad-authz`;
    const sp = await newServicePrincipal(server, 'bad-authz-target');
    const put = (name: string, properties: Record<string, unknown>, token?: string) =>
      api(server, 'PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`, { properties }, token);
    const role = (id: string) => `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${id}`;
    const count = async () => (await api(server, 'GET', `${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()`)).body!.value.length;
    const before = await count();

    const cases: Array<[string, Promise<{ status: number; body: Record<string, any> | null }>, number, string]> = [
      ['unknown principal', put(crypto.randomUUID(), { roleDefinitionId: role(ROLE_IDS['Key Vault Reader']), principalId: crypto.randomUUID() }), 400, 'PrincipalNotFound'],
      ['unknown role', put(crypto.randomUUID(), { roleDefinitionId: role(crypto.randomUUID()), principalId: sp.id }), 400, 'RoleDefinitionDoesNotExist'],
      ['role id not a GUID', put(crypto.randomUUID(), { roleDefinitionId: role('072dd7ad-7dc5-fe96-411f-a4a223b5d3cf|'), principalId: sp.id }), 400, 'InvalidRoleDefinitionId'],
      ['malformed principal', put(crypto.randomUUID(), { roleDefinitionId: role(ROLE_IDS['Key Vault Reader']), principalId: 'not-a-guid' }), 400, 'InvalidPrincipalId'],
      ['malformed assignment id', put('not-a-guid', { roleDefinitionId: role(ROLE_IDS['Key Vault Reader']), principalId: sp.id }), 400, 'InvalidRoleAssignmentId'],
      // An encoded '/' belongs to the name (az sends --name that way), which is no GUID: not a path the routes do not know.
      ['assignment id with a slash', put('a%2Fb', { roleDefinitionId: role(ROLE_IDS['Key Vault Reader']), principalId: sp.id }), 400, 'InvalidRoleAssignmentId'],
      // Not evaluated by coffer, so not stored: ignoring it would grant the role on every secret.
      ['a condition', put(crypto.randomUUID(), { roleDefinitionId: role(ROLE_IDS['Key Vault Secrets User']), principalId: sp.id, condition: "@Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals 'app-config'", conditionVersion: '2.0' }), 400, 'InvalidRoleAssignmentRequest'],
    ];
    for (const [label, pending, status, code] of cases) {
      const r = await pending;
      assert.equal(r.status, status, label);
      assert.equal(r.body?.error?.code, code, label);
    }
    // Resource Manager names the id's last segment only (a Terraform id with its scope suffix, hashicorp/terraform-provider-azurerm#8547).
    const notGuid = await put(crypto.randomUUID(), { roleDefinitionId: role('072dd7ad-7dc5-fe96-411f-a4a223b5d3cf|'), principalId: sp.id });
    assert.equal(notGuid.body?.error?.message, "The role definition ID '072dd7ad-7dc5-fe96-411f-a4a223b5d3cf|' is not valid.");
    const wrongType = await put(crypto.randomUUID(), { roleDefinitionId: role(ROLE_IDS['Key Vault Reader']), principalId: sp.id, principalType: 'User' });
    assert.equal(wrongType.status, 400);
    assert.deepEqual(wrongType.body?.error, {
      code: 'UnmatchedPrincipalType',
      message: `The PrincipalId '${sp.id.replaceAll('-', '')}' has type 'ServicePrincipal' , which is different from specified PrinciaplType 'User'.`,
    });
    const unknownScope = await api(server, 'PUT', `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/no-such-vault/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: role(ROLE_IDS['Key Vault Reader']), principalId: sp.id },
    });
    assert.equal(unknownScope.status, 404);

    assert.equal((await put(crypto.randomUUID(), { roleDefinitionId: role(ROLE_IDS['Key Vault Reader']), principalId: sp.id })).status, 201);
    const dup = await put(crypto.randomUUID(), { roleDefinitionId: role(ROLE_IDS['Key Vault Reader']), principalId: sp.id });
    assert.equal(dup.status, 409);
    assert.equal(dup.body?.error?.code, 'RoleAssignmentExists');
    assert.equal(await count(), before + 1);

    // Without roleAssignments/write, neither assignments nor the permission model can change.
    const outsiderToken = (await credential(server, sp.appId, sp.secret).getToken(`${server.url}/.default`)).token;
    const denied = await put(crypto.randomUUID(), { roleDefinitionId: role(ROLE_IDS['Key Vault Administrator']), principalId: sp.id }, outsiderToken);
    assert.equal(denied.status, 403);
    assert.equal(denied.body?.error?.code, 'AuthorizationFailed');
    const contributor = await newServicePrincipal(server, 'kv-contributor');
    assert.equal((await api(server, 'PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: role(ROLE_IDS['Key Vault Contributor']), principalId: contributor.id },
    })).status, 201);
    const contributorToken = (await credential(server, contributor.appId, contributor.secret).getToken(`${server.url}/.default`)).token;
    const tags = await api(server, 'PATCH', `${scope}?api-version=2023-07-01`, { tags: { by: 'contributor' } }, contributorToken);
    assert.equal(tags.status, 200, 'Key Vault Contributor may change the vault');
    const flip = await api(server, 'PATCH', `${scope}?api-version=2023-07-01`, { properties: { enableRbacAuthorization: false } }, contributorToken);
    assert.equal(flip.status, 403);
    assert.match(flip.body?.error?.message, /Microsoft\.Authorization\/roleAssignments\/write/);
    // A PUT replaces the properties: leaving the flag out would move the vault to access policies, here with one for the contributor.
    const properties = { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [{ tenantId: server.bootstrap.tenantId, objectId: contributor.id, permissions: { secrets: ['all'] } }] };
    for (const props of [properties, { ...properties, enableRbacAuthorization: false }]) {
      const replaced = await api(server, 'PUT', `${scope}?api-version=2023-07-01`, { location: 'local', properties: props }, contributorToken);
      assert.equal(replaced.status, 403, JSON.stringify(props));
      assert.match(replaced.body?.error?.message, /Microsoft\.Authorization\/roleAssignments\/write/);
    }
    // Key Vault Data Access Administrator's roleAssignments/write is conditioned (Key Vault roles only): it may not switch the model.
    assert.equal((await api(server, 'PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: role(ROLE_IDS['Key Vault Data Access Administrator']), principalId: contributor.id },
    })).status, 201);
    const conditioned = await api(server, 'PATCH', `${scope}?api-version=2023-07-01`, { properties: { enableRbacAuthorization: false, accessPolicies: properties.accessPolicies } }, contributorToken);
    assert.equal(conditioned.status, 403, 'Key Vault Data Access Administrator cannot change the permission model');
    assert.match(conditioned.body?.error?.message, /Microsoft\.Authorization\/roleAssignments\/write/);
    const reader = await newServicePrincipal(server, 'kv-reader-by-kvdaa');
    const byDataAccessAdmin = await put(crypto.randomUUID(), { roleDefinitionId: role(ROLE_IDS['Key Vault Secrets User']), principalId: reader.id }, contributorToken);
    assert.equal(byDataAccessAdmin.status, 201, 'it still assigns Key Vault roles');
    const kept = await api(server, 'PUT', `${scope}?api-version=2023-07-01`, { location: 'local', properties: { ...properties, accessPolicies: [], enableRbacAuthorization: true } }, contributorToken);
    assert.equal(kept.status, 200, 'a PUT that keeps the model needs vaults/write only');
    assert.equal((await armClient(server).vaults.get('rg-test', 'bad-authz')).properties.enableRbacAuthorization, true);
    const vaultToken = (await credential(server, contributor.appId, contributor.secret).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`)).token;
    const read = await fetch(`${server.vaultUrl('bad-authz')}/secrets?api-version=7.6`, { headers: { authorization: `Bearer ${vaultToken}` } });
    assert.equal(read.status, 403, 'the contributor still cannot read secrets');
  });

  it('access policies: a foreign tenant and a 1025th entry are refused, nothing changed', async () => {
    await createVault(server, 'policy-limits');
    const vaultPath = `/subscriptions/${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/policy-limits`;
    const foreign = await api(server, 'PUT', `${vaultPath}/accessPolicies/add?api-version=2023-07-01`, {
      properties: { accessPolicies: [{ tenantId: '11111111-1111-4111-8111-111111111111', objectId: crypto.randomUUID(), permissions: { secrets: ['get'] } }] },
    });
    assert.equal(foreign.status, 400);
    const many = Array.from({ length: 1024 }, () => ({ tenantId: server.bootstrap.tenantId, objectId: crypto.randomUUID(), permissions: { secrets: ['get'] } }));
    const tooMany = await api(server, 'PUT', `${vaultPath}/accessPolicies/add?api-version=2023-07-01`, { properties: { accessPolicies: many } });
    assert.equal(tooMany.status, 400, 'the admin entry plus 1024 new ones is 1025');
    const bad = await api(server, 'PUT', `${vaultPath}/accessPolicies/add?api-version=2023-07-01`, {
      properties: { accessPolicies: [{ tenantId: server.bootstrap.tenantId, objectId: crypto.randomUUID(), permissions: { secrets: ['read'] } }] },
    });
    assert.equal(bad.status, 400);
    const now = (await armClient(server).vaults.get('rg-test', 'policy-limits')).properties.accessPolicies ?? [];
    assert.equal(now.length, 1);
  });
});
