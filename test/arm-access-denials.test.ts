import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { armClient, createVault, credential } from './support/clients.js';
import { ROLE_IDS, api, assignRole, newServicePrincipal, userToken } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// What the management plane refuses, and to whom: callers without rights
// learn nothing of what exists, and a narrow built-in role does only its job.

describe('management plane denials', () => {
  let server: TestServer;
  let sub: string;

  before(async () => {
    server = await startTestServer();
    sub = server.bootstrap.subscriptionId;
  });
  after(() => server?.stop());

  it('a caller without rights gets 403 whether or not the resource exists, before its body is read', async () => {
    await createVault(server, 'exists-hidden');
    const nobody = await newServicePrincipal(server, 'no-roles-anywhere');
    const token = (await credential(server, nobody.appId, nobody.secret).getToken(`${server.url}/.default`)).token;
    const rg = `/subscriptions/${sub}/resourceGroups`;
    const vaults = (group: string, name: string) => `${rg}/${group}/providers/Microsoft.KeyVault/vaults/${name}?api-version=2023-07-01`;
    const assignments = `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments`;
    const attempts: Array<[string, string, string, unknown?]> = [
      ['GET', vaults('rg-test', 'exists-hidden'), 'existing vault'],
      ['GET', vaults('rg-test', 'never-was'), 'missing vault'],
      ['GET', vaults('no-such-group', 'never-was'), 'vault in a missing group'],
      ['DELETE', vaults('rg-test', 'never-was'), 'delete of a missing vault'],
      ['PUT', vaults('no-such-group', 'new-vault'), 'create in a missing group', { location: 'local', properties: {} }],
      ['PUT', vaults('rg-test', 'new-vault'), 'create with a bad body', { nonsense: true }],
      ['PATCH', vaults('rg-test', 'never-was'), 'patch of a missing vault', 'not an object'],
      ['GET', `${rg}/rg-test?api-version=2021-04-01`, 'existing group'],
      ['GET', `${rg}/no-such-group?api-version=2021-04-01`, 'missing group'],
      ['PUT', `${rg}/new-group?api-version=2021-04-01`, 'group with a bad body', { location: 42 }],
      ['GET', `${assignments}/${crypto.randomUUID()}?api-version=2022-04-01`, 'missing role assignment'],
      ['DELETE', `${assignments}/${crypto.randomUUID()}?api-version=2022-04-01`, 'delete of a missing role assignment'],
      ...[
        [`${rg}/no-such-group`, 'an assignment in a missing group'],
        [`${rg}/rg-test/providers/Microsoft.KeyVault/vaults/never-was`, 'an assignment on a missing vault'],
        [`${rg}/rg-test/providers/Microsoft.KeyVault/vaults/exists-hidden`, 'an assignment to a missing principal'],
      ].map(([scope, label]): [string, string, string, unknown] => [
        'PUT',
        `${scope}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`,
        label!,
        { properties: { roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS['Key Vault Reader']}`, principalId: crypto.randomUUID() } },
      ]),
      ['DELETE', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${crypto.randomUUID()}?api-version=2022-04-01`, 'delete of a missing role'],
      ['PUT', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${crypto.randomUUID()}?api-version=2022-04-01`, 'role with a bad body', { properties: 42 }],
      ['GET', `${rg}/rg-test/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01`, 'vaults of an existing group'],
      ['GET', `${rg}/no-such-group/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01`, 'vaults of a missing group'],
    ];
    for (const [method, path, label, body] of attempts) {
      const res = await api(server, method, path, body, token);
      assert.equal(res.status, 403, `${label}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body?.error?.code, 'AuthorizationFailed', label);
    }
    // The client is named as Resource Manager names it: a service principal by its object id, a user by the UPN.
    const spDenied = await api(server, 'GET', vaults('rg-test', 'exists-hidden'), undefined, token);
    assert.ok(spDenied.body?.error?.message.startsWith(`The client '${nobody.id}' with object id '${nobody.id}' does not have authorization to perform action 'Microsoft.KeyVault/vaults/read' over scope`), spDenied.body?.error?.message);
    const user = await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'no.roles@coffer.local', displayName: 'No Roles', passwordProfile: { password: 'No roles password 1' } });
    const userDenied = await api(server, 'GET', vaults('rg-test', 'exists-hidden'), undefined, await userToken(server, 'no.roles@coffer.local', 'No roles password 1'));
    assert.equal(userDenied.status, 403);
    assert.ok(userDenied.body?.error?.message.startsWith(`The client 'no.roles@coffer.local' with object id '${user.body!.id}' does not have authorization`), userDenied.body?.error?.message);
    // One who may read a single vault of the group lists that one, and still learns nothing of other groups.
    assert.equal((await assignRole(server, `${rg}/rg-test/providers/Microsoft.KeyVault/vaults/exists-hidden`, ROLE_IDS.Reader, nobody.id)).status, 201);
    const listed = await api(server, 'GET', `${rg}/rg-test/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01`, undefined, token);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body!.value.map((v: { name: string }) => v.name), ['exists-hidden']);
    assert.equal((await api(server, 'GET', `${rg}/no-such-group/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01`, undefined, token)).status, 403);
    // A role is written at its URL's scope as well as at the scopes it may be assigned at.
    const hiddenVault = `${rg}/rg-test/providers/Microsoft.KeyVault/vaults/exists-hidden`;
    assert.equal((await assignRole(server, hiddenVault, ROLE_IDS['User Access Administrator'], nobody.id)).status, 201);
    const vaultRole = (roleName: string) => ({ properties: { roleName, assignableScopes: [hiddenVault], permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action'] }] } });
    for (const at of [`/subscriptions/${sub}`, `${rg}/rg-test`, `${rg}/no-such-group`, '']) {
      const elsewhere = await api(server, 'PUT', `${at}/providers/Microsoft.Authorization/roleDefinitions/${crypto.randomUUID()}?api-version=2022-04-01`, vaultRole(`from ${at}`), token);
      assert.equal(elsewhere.status, 403, `at '${at}': ${JSON.stringify(elsewhere.body)}`);
    }
    assert.equal((await api(server, 'PUT', `${hiddenVault}/providers/Microsoft.Authorization/roleDefinitions/${crypto.randomUUID()}?api-version=2022-04-01`, vaultRole('at its vault'), token)).status, 201);
    // The administrator (read across the subscription) is told the group does not exist.
    assert.equal((await api(server, 'GET', `${rg}/no-such-group/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01`)).status, 404);
  });

  it('Key Vault Purge Operator lists and purges deleted vaults, and does nothing else', async () => {
    await createVault(server, 'purged-by-operator');
    await createVault(server, 'kept-from-operator');
    const operator = await newServicePrincipal(server, 'purge-operator');
    assert.equal((await assignRole(server, `/subscriptions/${sub}`, ROLE_IDS['Key Vault Purge Operator'], operator.id)).status, 201);
    const asOperator = armClient(server, credential(server, operator.appId, operator.secret));
    const status = (p: Promise<unknown>) => p.then(() => 200, (e: { statusCode?: number }) => e.statusCode);
    assert.equal(await status(asOperator.vaults.delete('rg-test', 'purged-by-operator')), 403, 'it may not delete a vault');
    assert.equal(await status(asOperator.vaults.get('rg-test', 'kept-from-operator')), 403, 'nor read one');
    await armClient(server).vaults.delete('rg-test', 'purged-by-operator');
    const listed = [];
    for await (const d of asOperator.vaults.listDeleted()) listed.push(d.name);
    assert.ok(listed.includes('purged-by-operator'));
    assert.equal((await asOperator.vaults.getDeleted('purged-by-operator', 'local')).name, 'purged-by-operator');
    await asOperator.vaults.beginPurgeDeletedAndWait('purged-by-operator', 'local');
    await assert.rejects(armClient(server).vaults.getDeleted('purged-by-operator', 'local'), (err: { statusCode?: number }) => err.statusCode === 404);
  });
});
