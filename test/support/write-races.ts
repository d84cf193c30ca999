import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { api, newServicePrincipal, ROLE_IDS } from './access-kit.js';
import type { TestServer } from './server-fixture.js';

// Writes sent together that once raced (found by a concurrent fuzzer): each
// must end as the same writes one after the other would. On PostgreSQL every
// read between a check and its write is a real wait, so these race there;
// SQLite's synchronous reads rarely let them. Run against both stores
// (server-postgres.test.ts, directory-and-roles.test.ts).

const ARM = 'api-version=2022-04-01';
const statuses = (answers: Array<{ status: number }>) => answers.map((a) => a.status).sort((x, y) => x - y);
const together = <T>(n: number, send: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => send(i)));

function scopes(server: TestServer) {
  const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
  return {
    sub,
    roleDefinition: (id: string) => `${sub}/providers/Microsoft.Authorization/roleDefinitions/${id}`,
    assignment: (scope: string, name: string) => `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?${ARM}`,
  };
}

function assigner(server: TestServer, principalId: string) {
  const s = scopes(server);
  return (scope: string, name: string, roleId: string = ROLE_IDS['Key Vault Secrets User']) =>
    api(server, 'PUT', s.assignment(scope, name), { properties: { roleDefinitionId: s.roleDefinition(roleId), principalId } });
}

async function assignmentsOf(server: TestServer, principalId: string): Promise<Array<{ name: string; properties: { scope: string; roleDefinitionId: string } }>> {
  const filter = encodeURIComponent(`principalId eq '${principalId}'`);
  return (await api(server, 'GET', `${scopes(server).sub}/providers/Microsoft.Authorization/roleAssignments?${ARM}&$filter=${filter}`)).body!.value;
}

/** PUTs of one assignment: one 201, the rest 200. PUTs of one grant under many names: one 201, the rest 409; one grant stored. */
async function assignmentsTogether(server: TestServer, vaultScope: string): Promise<void> {
  const sp = await newServicePrincipal(server, `race-ra-${randomUUID().slice(0, 8)}`);
  const assign = assigner(server, sp.id);
  const name = randomUUID();
  const same = await together(16, () => assign(vaultScope, name));
  assert.deepEqual(statuses(same), [...Array(15).fill(200), 201], JSON.stringify(same.filter((a) => a.status >= 300)));
  assert.equal((await assignmentsOf(server, sp.id)).length, 1);
  assert.equal((await api(server, 'DELETE', scopes(server).assignment(vaultScope, name))).status, 200);
  const twins = await together(8, () => assign(vaultScope, randomUUID()));
  assert.equal(twins.filter((a) => a.status === 201).length, 1, JSON.stringify(statuses(twins)));
  assert.ok(twins.every((a) => a.status === 201 || (a.status === 409 && a.body!.error.code === 'RoleAssignmentExists')), JSON.stringify(twins.filter((a) => a.status !== 201)));
  assert.equal((await assignmentsOf(server, sp.id)).length, 1, 'one grant, not twins that a deletion would leave granting');
}

/** Users of one name created together: one 201, the rest Graph's 400. */
async function usersTogether(server: TestServer): Promise<void> {
  const upn = `race-${randomUUID().slice(0, 8)}@coffer.local`;
  const created = await together(8, () => api(server, 'POST', '/v1.0/users', { userPrincipalName: upn, displayName: 'Race', passwordProfile: { password: 'Race password 123' } }));
  assert.equal(created.filter((a) => a.status === 201).length, 1, JSON.stringify(statuses(created)));
  assert.ok(created.every((a) => a.status === 201 || (a.status === 400 && a.body!.error.code === 'Request_BadRequest')), JSON.stringify(created.filter((a) => a.status !== 201)));
  const users = (await api(server, 'GET', `/v1.0/users?$filter=${encodeURIComponent(`userPrincipalName eq '${upn}'`)}`)).body!.value as unknown[];
  assert.equal(users.length, 1);
}

/** Custom roles of one name under many ids: one 201, the rest 409; of one new id: one role. */
async function rolesTogether(server: TestServer, assignableScope: string): Promise<void> {
  const s = scopes(server);
  const roleName = `Race role ${randomUUID().slice(0, 8)}`;
  const body = { properties: { roleName, type: 'CustomRole', permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action'] }], assignableScopes: [assignableScope] } };
  const named = await together(8, () => api(server, 'PUT', `${s.roleDefinition(randomUUID())}?${ARM}`, body));
  assert.equal(named.filter((a) => a.status === 201).length, 1, JSON.stringify(statuses(named)));
  assert.ok(named.every((a) => a.status === 201 || (a.status === 409 && a.body!.error.code === 'RoleDefinitionWithSameNameExists')), JSON.stringify(named.filter((a) => a.status !== 201)));
  // Azure answers every PUT of a role definition 201, a create or an update.
  const id = randomUUID();
  const same = await together(8, () => api(server, 'PUT', `${s.roleDefinition(id)}?${ARM}`, { properties: { ...body.properties, roleName: `${roleName} again` } }));
  assert.deepEqual(statuses(same), Array(8).fill(201), JSON.stringify(same.filter((a) => a.status !== 201)));
  const listed = (await api(server, 'GET', `${assignableScope}/providers/Microsoft.Authorization/roleDefinitions?${ARM}&$filter=${encodeURIComponent(`roleName eq '${roleName} again'`)}`)).body!.value;
  assert.deepEqual(listed.map((r: { name: string }) => r.name), [id]);
}

/** A resource group of one new name PUT together: one 201 (one record of its creation), the rest 200. */
async function groupsTogether(server: TestServer): Promise<void> {
  const group = `${scopes(server).sub}/resourceGroups/race-new-${randomUUID().slice(0, 8)}?api-version=2021-04-01`;
  const made = await together(8, () => api(server, 'PUT', group, { location: 'local' }));
  assert.deepEqual(statuses(made), [...Array(7).fill(200), 201], JSON.stringify(made.filter((a) => a.status >= 300)));
}

/**
 * A custom role deleted while it is being assigned, and a resource group
 * deleted while a role is being assigned at it: never both acknowledged, and
 * no assignment is left naming a role or a scope that is gone.
 */
async function deletionsWhileAssigning(server: TestServer, rounds = 5): Promise<void> {
  const s = scopes(server);
  const sp = await newServicePrincipal(server, `race-del-${randomUUID().slice(0, 8)}`);
  const assign = assigner(server, sp.id);
  for (let round = 0; round < rounds; round++) {
    const group = `race-rg-${randomUUID().slice(0, 8)}`;
    const groupScope = `${s.sub}/resourceGroups/${group}`;
    assert.equal((await api(server, 'PUT', `${groupScope}?api-version=2021-04-01`, { location: 'local' })).status, 201);
    const roleId = randomUUID();
    const role = { properties: { roleName: `Race doomed ${roleId}`, type: 'CustomRole', permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action'] }], assignableScopes: [groupScope] } };
    assert.equal((await api(server, 'PUT', `${s.roleDefinition(roleId)}?${ARM}`, role)).status, 201);

    const [roleDeleted, roleAssigned] = await Promise.all([api(server, 'DELETE', `${s.roleDefinition(roleId)}?${ARM}`), assign(groupScope, randomUUID(), roleId)]);
    const roleThere = (await api(server, 'GET', `${s.roleDefinition(roleId)}?${ARM}`)).status === 200;
    const ofRole = (await assignmentsOf(server, sp.id)).filter((a) => a.properties.roleDefinitionId.toLowerCase().endsWith(roleId));
    assert.ok(!(roleDeleted.status === 200 && roleAssigned.status === 201), `round ${round}: the role deleted and assigned at once`);
    assert.ok(roleThere || ofRole.length === 0, `round ${round}: an assignment of a deleted role is left`);
    for (const a of ofRole) assert.equal((await api(server, 'DELETE', s.assignment(groupScope, a.name))).status, 200);

    const [groupDeleted, groupAssigned] = await Promise.all([api(server, 'DELETE', `${groupScope}?api-version=2021-04-01`), assign(groupScope, randomUUID())]);
    assert.equal(groupDeleted.status, 200, JSON.stringify(groupDeleted.body));
    const left = (await assignmentsOf(server, sp.id)).filter((a) => a.properties.scope.toLowerCase() === groupScope.toLowerCase());
    assert.deepEqual(left, [], `round ${round}: an assignment at a deleted group is left (its PUT answered ${groupAssigned.status})`);
  }
}

/** A resource group's PUTs sent with its DELETE: a group there at the end was created again by a PUT, which says so (201). */
async function groupPutsWhileDeleting(server: TestServer, rounds = 8): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const group = `${scopes(server).sub}/resourceGroups/race-again-${randomUUID().slice(0, 8)}?api-version=2021-04-01`;
    assert.equal((await api(server, 'PUT', group, { location: 'local' })).status, 201);
    const [deleted, ...puts] = await Promise.all([api(server, 'DELETE', group), ...Array.from({ length: 3 }, () => api(server, 'PUT', group, { location: 'local' }))]);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    const there = (await api(server, 'GET', group)).status === 200;
    assert.equal(puts.some((p) => p.status === 201), there, `round ${round}: the group ${there ? 'is' : 'is not'} there; the PUTs answered ${statuses(puts).join(', ')}`);
  }
}

/** A vault's PUTs sent with its DELETE: each PUT is answered as before the deletion (200) or after it (409, the name held by the deleted vault), never 404. */
async function vaultPutsWhileDeleting(server: TestServer, rounds = 5): Promise<void> {
  const group = `${scopes(server).sub}/resourceGroups/race-vaults`;
  await api(server, 'PUT', `${group}?api-version=2021-04-01`, { location: 'local' });
  const body = { location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [] } };
  for (let round = 0; round < rounds; round++) {
    const vault = `${group}/providers/Microsoft.KeyVault/vaults/race-v-${randomUUID().slice(0, 8)}?api-version=2023-07-01`;
    assert.equal((await api(server, 'PUT', vault, body)).status, 200, 'created (Key Vault answers 200 to a vault created, as Azure does)');
    const [deleted, ...puts] = await Promise.all([api(server, 'DELETE', vault), ...Array.from({ length: 4 }, () => api(server, 'PUT', vault, body))]);
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    const answers = puts.map((a) => (a.status === 200 ? '200' : `${a.status} ${a.body?.error?.code}`));
    assert.ok(answers.every((a) => a === '200' || a === '409 ConflictError'), `round ${round}: ${answers.join(', ')}`);
  }
}

/** Recovers of one deleted vault sent together: one recovers it (200), the rest are answered as after it (400 SoftDeletedVaultDoesNotExist). */
async function vaultRecoversTogether(server: TestServer, rounds = 5): Promise<void> {
  const group = `${scopes(server).sub}/resourceGroups/race-recovers`;
  await api(server, 'PUT', `${group}?api-version=2021-04-01`, { location: 'local' });
  const properties = { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [] };
  for (let round = 0; round < rounds; round++) {
    const vault = `${group}/providers/Microsoft.KeyVault/vaults/race-r-${randomUUID().slice(0, 8)}?api-version=2023-07-01`;
    assert.equal((await api(server, 'PUT', vault, { location: 'local', properties })).status, 200);
    assert.equal((await api(server, 'DELETE', vault)).status, 200);
    const recovers = await together(4, () => api(server, 'PUT', vault, { location: 'local', properties: { ...properties, createMode: 'recover' } }));
    const answers = recovers.map((a) => (a.status === 200 ? '200' : `${a.status} ${a.body?.error?.code}`)).sort();
    assert.deepEqual(answers, ['200', '400 SoftDeletedVaultDoesNotExist', '400 SoftDeletedVaultDoesNotExist', '400 SoftDeletedVaultDoesNotExist'], `round ${round}`);
  }
}

/** The cases above, as a suite: `server()` is the running server, `vaultScope()` a vault's (made by `prepare`, if given). */
export function describeWriteRaces(server: () => TestServer, vaultScope: () => string, prepare?: () => Promise<unknown>): void {
  describe('writes sent together end as one after the other would', () => {
    if (prepare) before(prepare);
    it('role assignments: of one name, one 201 and the rest 200; of one grant under many names, one 201 and the rest 409', () => assignmentsTogether(server(), vaultScope()));
    it('users of one name: one 201, the rest 400', () => usersTogether(server()));
    it('resource groups of one new name: one 201, the rest 200', () => groupsTogether(server()));
    it('custom roles of one name: one 201, the rest 409; of one new id: one role', () => rolesTogether(server(), vaultScope()));
    it('a role deleted, or a resource group deleted, while it is being assigned: no assignment is left naming what is gone', () => deletionsWhileAssigning(server()));
    it("a resource group's PUTs sent with its DELETE: one that made it again answered 201", () => groupPutsWhileDeleting(server()));
    it("a vault's PUTs sent with its DELETE: each answered as before or after the deletion, never 404", () => vaultPutsWhileDeleting(server()));
    it('recovers of one deleted vault: one 200, the rest 400 as after it', () => vaultRecoversTogether(server()));
  });
}
