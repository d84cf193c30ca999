import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminToken, api, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Request body fields real clients send that coffer cannot honour: each is
// applied or refused with the service's 400, never accepted and dropped (the
// caller would believe it took effect).

describe('write bodies: fields coffer cannot honour are refused, not dropped', () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer();
    token = await adminToken(server);
  });
  after(() => server?.stop());

  const call = (method: string, path: string, body?: unknown) => api(server, method, path, body, token);
  const badRequest = (r: { status: number; body: Record<string, any> | null }, code: string, message: RegExp) => {
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body?.error?.code, code);
    assert.match(r.body!.error!.message, message);
  };

  it('Graph user create: accountEnabled false and a forced password change are refused; nothing is created', async () => {
    const user = (upn: string, extra: Record<string, unknown>, profile: Record<string, unknown> = {}) =>
      call('POST', '/v1.0/users', { userPrincipalName: upn, displayName: 'X', mailNickname: 'x', passwordProfile: { password: 'Long enough password 1', ...profile }, ...extra });
    badRequest(await user('off@coffer.local', { accountEnabled: false }), 'Request_BadRequest', /accountEnabled: false is not supported/);
    assert.equal((await call('GET', '/v1.0/users/off@coffer.local')).status, 404, 'the disabled account was not made enabled');
    badRequest(await user('forced@coffer.local', {}, { forceChangePasswordNextSignIn: true }), 'Request_BadRequest', /forceChangePasswordNextSignIn: true is not supported/);
    badRequest(await user('odd@coffer.local', { accountEnabled: 'no' }), 'Request_BadRequest', /accountEnabled must be a boolean/);
    // az ad user create's own body: accountEnabled true, forceChangePasswordNextSignIn false.
    assert.equal((await user('on@coffer.local', { accountEnabled: true }, { forceChangePasswordNextSignIn: false })).status, 201);
  });

  it('Graph service principal and group create: a disabled principal or a non-security group is refused', async () => {
    badRequest(await call('POST', '/v1.0/servicePrincipals', { displayName: 'off-sp', accountEnabled: false }), 'Request_BadRequest', /accountEnabled/);
    badRequest(await call('POST', '/v1.0/groups', { displayName: 'm365', mailNickname: 'm365', securityEnabled: false, mailEnabled: true }), 'Request_BadRequest', /securityEnabled: false/);
    assert.equal((await call('POST', '/v1.0/groups', { displayName: 'sec', mailNickname: 'sec', securityEnabled: true, mailEnabled: false })).status, 201);
  });

  it('Graph addPassword: a startDateTime in the future is refused (the secret would work at once); now is accepted', async () => {
    const sp = await call('POST', '/v1.0/servicePrincipals', { displayName: 'start-later' });
    const add = (startDateTime: string) =>
      call('POST', `/v1.0/servicePrincipals/${sp.body!.id}/addPassword`, { passwordCredential: { displayName: 'rbac', startDateTime, endDateTime: new Date(Date.now() + 86_400_000 * 30).toISOString() } });
    badRequest(await add(new Date(Date.now() + 86_400_000 * 7).toISOString()), 'Request_BadRequest', /startDateTime in the future/);
    badRequest(await add('next week'), 'Request_BadRequest', /startDateTime must be an ISO 8601/);
    const now = await add(new Date().toISOString());
    assert.equal(now.status, 200, JSON.stringify(now.body));
    const listed = await call('GET', `/v1.0/servicePrincipals/${sp.body!.id}`);
    assert.equal(listed.body!.passwordCredentials.length, 2, 'the refused ones were not added');
  });

  it('role assignment PUT: a delegated identity is refused', async () => {
    const sub = server.bootstrap.subscriptionId;
    const sp = await newServicePrincipal(server, 'assignment-fields');
    const base = { roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS['Key Vault Reader']}`, principalId: sp.id };
    const put = (id: string, properties: Record<string, unknown>) => call('PUT', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments/${id}?api-version=2022-04-01`, { properties });
    const other = crypto.randomUUID();
    badRequest(
      await put(other, { ...base, roleDefinitionId: base.roleDefinitionId.replace(ROLE_IDS['Key Vault Reader'], ROLE_IDS['Key Vault Secrets User']), delegatedManagedIdentityResourceId: `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id` }),
      'BadRequest',
      /delegatedManagedIdentityResourceId is not supported/,
    );
    assert.equal((await call('GET', `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments/${other}?api-version=2022-04-01`)).status, 404);
  });

  it('custom role PUT: a permission with a condition is refused (the role would grant its actions unconditionally)', async () => {
    const sub = server.bootstrap.subscriptionId;
    const id = crypto.randomUUID();
    const role = (permission: Record<string, unknown>) => ({
      properties: { roleName: `conditional-${id}`, assignableScopes: [`/subscriptions/${sub}`], permissions: [{ dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action'], ...permission }] },
    });
    const path = `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${id}?api-version=2022-05-01-preview`;
    badRequest(
      await call('PUT', path, role({ condition: "@Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals 'one'", conditionVersion: '2.0' })),
      'BadRequest',
      /permissions\[0\]\.condition is not supported/,
    );
    assert.equal((await call('GET', path)).status, 404, 'nothing stored');
    // A client echoing a role back sends the fields empty: that is no condition.
    assert.equal((await call('PUT', path, role({ condition: null, conditionVersion: null }))).status, 201);
  });

  it('Graph application and service principal create: a certificate that is none, client secrets, or keys on a service principal are refused (coffer would drop them)', async () => {
    const cert = [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: 'TUlJQw==' }];
    badRequest(await call('POST', '/v1.0/applications', { displayName: 'with-cert', keyCredentials: cert }), 'KeyCredentialsInvalidValue', /not a valid X\.509 certificate/);
    badRequest(await call('POST', '/v1.0/applications', { displayName: 'with-cert', passwordCredentials: [{ displayName: 'x' }] }), 'Request_BadRequest', /must be generated using service actions/);
    badRequest(await call('POST', '/v1.0/servicePrincipals', { displayName: 'with-secret', passwordCredentials: [{ displayName: 'x' }] }), 'Request_BadRequest', /service actions/);
    badRequest(await call('POST', '/v1.0/servicePrincipals', { displayName: 'with-cert', keyCredentials: cert }), 'Request_BadRequest', /create the application with them/);
    const listed = await call('GET', "/v1.0/applications?$filter=displayName eq 'with-cert'");
    assert.equal(listed.body!.value.length, 0, 'nothing created');
    // Empty lists (a client's defaults) ask for nothing.
    assert.equal((await call('POST', '/v1.0/applications', { displayName: 'no-creds', keyCredentials: [], passwordCredentials: [] })).status, 201);
  });

  it('Graph group create: members bound in the body or a dynamic membership rule are refused (the group would be empty)', async () => {
    const user = await call('POST', '/v1.0/users', { userPrincipalName: 'bound@coffer.local', passwordProfile: { password: 'Long enough password 1' } });
    const group = (extra: Record<string, unknown>) => call('POST', '/v1.0/groups', { displayName: 'bound-group', mailNickname: 'bound-group', securityEnabled: true, mailEnabled: false, ...extra });
    badRequest(await group({ 'members@odata.bind': [`${server.url}/v1.0/directoryObjects/${user.body!.id}`] }), 'Request_BadRequest', /members@odata.bind is not supported/);
    badRequest(await group({ groupTypes: ['DynamicMembership'], membershipRule: 'user.department -eq "ops"', membershipRuleProcessingState: 'On' }), 'Request_BadRequest', /Dynamic membership/);
    assert.equal((await call('GET', "/v1.0/groups?$filter=displayName eq 'bound-group'")).body!.value.length, 0, 'nothing created');
    assert.equal((await group({ groupTypes: [], 'members@odata.bind': [] })).status, 201);
  });
});
