import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { createVault, credential, secretClient } from './support/clients.js';
import { ROLE_IDS, api, newServicePrincipal, type Principal } from './support/access-kit.js';
import { cliHome, cliRunners } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A PUT of an existing role assignment replaces its description and coffer's
// end time (az role assignment update), through ARM, the SDK and the CLI; the
// authorization index and the seal follow the change.

describe('role assignment update', () => {
  let server: TestServer;
  let sub: string;
  let home: string;
  let vaultScope: string;
  let reader: Principal;
  const { cli, json, fails, signIn } = cliRunners(() => home);
  const roleId = (role: keyof typeof ROLE_IDS) => `/subscriptions/${server.bootstrap.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS[role]}`;
  const path = (name: string) => `${vaultScope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`;
  const put = (name: string, properties: Record<string, unknown>) => api(server, 'PUT', path(name), { properties });
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const readStatus = () =>
    secretClient(server, 'upd-vault', credential(server, reader.appId, reader.secret))
      .getSecret('s')
      .then(
        () => 200,
        (e: { statusCode?: number }) => e.statusCode ?? -1,
      );

  before(async () => {
    server = await startTestServer();
    sub = server.bootstrap.subscriptionId;
    home = cliHome();
    await signIn(server);
    vaultScope = (await createVault(server, 'upd-vault', { enableRbacAuthorization: true })).id!;
    await json('role', 'assignment', 'create', '--role', 'Key Vault Secrets Officer', '--assignee-object-id', server.bootstrap.objectId, '--assignee-principal-type', 'ServicePrincipal', '--scope', vaultScope);
    await secretClient(server, 'upd-vault').setSecret('s', 'v');
    reader = await newServicePrincipal(server, 'upd-reader');
  });
  after(() => server?.stop());

  it('@azure/arm-authorization: create() of an existing assignment changes its description, recorded as a 200', async () => {
    const client = new AuthorizationManagementClient(credential(server), sub, { endpoint: server.url, credentialScopes: [`${server.url}/.default`] });
    const name = crypto.randomUUID();
    const holder = await newServicePrincipal(server, 'upd-sdk');
    const first = await client.roleAssignments.create(vaultScope, name, { roleDefinitionId: roleId('Key Vault Reader'), principalId: holder.id, description: 'first' });
    assert.equal(first.description, 'first');
    const second = await client.roleAssignments.create(vaultScope, name, { roleDefinitionId: roleId('Key Vault Reader'), principalId: holder.id, description: 'second' });
    assert.equal(second.description, 'second');
    assert.equal((await client.roleAssignments.get(vaultScope, name)).description, 'second');
    const trail = async () =>
      ((await api(server, 'GET', '/coffer/audit?maxresults=1000')).body!.value as Array<{ resourceId: string; operationName: string; properties: { httpStatusCode: number } }>)
        .filter((r) => r.resourceId === first.id!.toUpperCase() && r.operationName.startsWith('PUT '))
        .map((r) => r.properties.httpStatusCode);
    assert.deepEqual(await trail(), [201, 200]);
    // The same PUT again changes nothing: no record of a change.
    await client.roleAssignments.create(vaultScope, name, { roleDefinitionId: roleId('Key Vault Reader'), principalId: holder.id, description: 'second' });
    assert.deepEqual(await trail(), [201, 200, 200], 'the answer is recorded as any read is');
    // Another principal, role or scope under that name is still refused, as in Azure.
    const moved = await put(name, { roleDefinitionId: roleId('Key Vault Secrets User'), principalId: holder.id });
    assert.equal(moved.status, 409);
    assert.equal(moved.body!.error.code, 'RoleAssignmentUpdateNotPermitted');
    await client.roleAssignments.delete(vaultScope, name);
  });

  it("an end time left out is kept (clients that know only Azure's model), changed when given, removed by null; the index and the seal follow", async () => {
    const name = crypto.randomUUID();
    const base = { roleDefinitionId: roleId('Key Vault Secrets User'), principalId: reader.id };
    const later = inDays(3);
    assert.equal((await put(name, { ...base, endDateTime: later })).status, 201);
    assert.equal(await readStatus(), 200);
    let r = await put(name, { ...base, description: 'no end time sent' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(Date.parse(r.body!.properties.endDateTime), Math.floor(Date.parse(later) / 1000) * 1000, 'kept');
    assert.equal(r.body!.properties.description, 'no end time sent');
    r = await put(name, { ...base, endDateTime: inDays(-1) });
    assert.equal(r.status, 400, 'an end in the past is refused');
    r = await put(name, { ...base, endDateTime: null });
    assert.equal(r.status, 200);
    assert.equal(r.body!.properties.endDateTime ?? null, null, 'removed');
    // Ends in two seconds: the grant stops then, so the index took the new end time.
    r = await put(name, { ...base, endDateTime: new Date(Date.now() + 2000).toISOString() });
    assert.equal(r.status, 200);
    assert.equal(await readStatus(), 200);
    await new Promise((done) => setTimeout(done, 2500));
    assert.equal(await readStatus(), 403, 'ended');
    await api(server, 'DELETE', path(name));
  });

  it('the updated row keeps matching its seal across a restart', async () => {
    const name = crypto.randomUUID();
    const base = { roleDefinitionId: roleId('Key Vault Secrets User'), principalId: reader.id };
    assert.equal((await put(name, { ...base, endDateTime: inDays(1) })).status, 201);
    assert.equal((await put(name, { ...base, endDateTime: inDays(2), description: 'resealed' })).status, 200);
    await server.restart();
    assert.equal(await readStatus(), 200, 'still granting: the row matched its new seal');
    const got = await api(server, 'GET', path(name));
    assert.equal(got.status, 200);
    assert.equal(got.body!.properties.description, 'resealed');
    await api(server, 'DELETE', path(name));
  });

  it('coffer role assignment update: the JSON list prints (or a file of it), as az 2.45 takes it', async () => {
    const created = await json('role', 'assignment', 'create', '--role', 'Key Vault Reader', '--assignee', reader.appId, '--scope', vaultScope, '--description', 'before');
    const listed = (await json<Array<Record<string, unknown>>>('role', 'assignment', 'list', '--scope', vaultScope, '--assignee', reader.appId)).find((a) => a.id === created.id);
    assert.equal(listed!.description, 'before');
    const updated = await json('role', 'assignment', 'update', '--role-assignment', JSON.stringify({ ...listed, description: 'after' }));
    assert.equal(updated.description, 'after');
    assert.equal(updated.id, created.id);
    assert.equal(updated.principalType, 'ServicePrincipal');
    const file = join(home, 'assignment.json');
    writeFileSync(file, JSON.stringify({ ...listed, description: 'from a file' }));
    assert.equal((await json('role', 'assignment', 'update', '--role-assignment', file)).description, 'from a file');
    assert.equal((await json('role', 'assignment', 'update', '--role-assignment', `@${file}`)).description, 'from a file');
    const again = (await json<Array<Record<string, unknown>>>('role', 'assignment', 'list', '--scope', vaultScope, '--assignee', reader.appId)).find((a) => a.id === created.id);
    assert.equal(again!.description, 'from a file');
    await fails(['role', 'assignment', 'update', '--role-assignment', JSON.stringify({ description: 'x' })], /needs its 'scope' and 'name'/);
    await fails(['role', 'assignment', 'update', '--role-assignment', JSON.stringify({ ...listed, name: crypto.randomUUID() })], /\(RoleAssignmentNotFound\) The role assignment '.*' is not found/, 3);
    await cli('role', 'assignment', 'delete', '--ids', created.id, '-o', 'none');
  });
});
