import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { api, assignRole, newGroup, newServicePrincipal, ROLE_IDS, setPolicy, statusOf, type Principal } from './support/access-kit.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Someone who can write the database but does not hold the master key
// cannot grant access: every row that grants (role assignments, custom roles,
// group memberships, a vault's properties) carries a seal under a key the
// master key wraps (authorization/authorization-seal.ts). Each case writes
// the database directly, as such a writer would, and restarts the server
// (which reads authorization data at start). Such a change alone already
// stops the start (the authorization digest: authorization-replay.test.ts);
// these servers accept the rows as found at every start
// (--accept-authorization-rows), as an operator might without checking them,
// to show that a row whose seal does not match grants nothing even then.

describe('authorization data written into the database outside coffer', () => {
  let server: TestServer;
  let mallory: Principal;
  let reader: Principal;
  let sub: string;
  let rbacScope: string;
  const db = () => new Database(join(server.dataDir, 'coffer.db'));
  const write = (sql: string, ...params: unknown[]) => {
    const d = db();
    try {
      return d.prepare(sql).run(...params).changes;
    } finally {
      d.close();
    }
  };
  const read = <T>(sql: string, ...params: unknown[]) => {
    const d = db();
    try {
      return d.prepare(sql).get(...params) as T;
    } finally {
      d.close();
    }
  };
  // The case before changed sealed rows while the server ran: it refuses authorization writes until a start accepts them.
  const acceptChanges = () => server.restart();
  const asMallory = (vault: string) => secretClient(server, vault, credential(server, mallory.appId, mallory.secret));
  const asReader = (vault: string) => secretClient(server, vault, credential(server, reader.appId, reader.secret));

  before(async () => {
    server = await startTestServer({ env: { COFFER_ACCEPT_AUTHORIZATION_ROWS: '1' } });
    sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    rbacScope = `${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/seal-rbac`;
    await createVault(server, 'seal-rbac', { enableRbacAuthorization: true });
    await createVault(server, 'seal-policies');
    await secretClient(server, 'seal-rbac').setSecret('db', 'rbac-value');
    await secretClient(server, 'seal-policies').setSecret('db', 'policy-value');
    mallory = await newServicePrincipal(server, 'mallory');
    reader = await newServicePrincipal(server, 'reader');
    assert.equal((await assignRole(server, rbacScope, ROLE_IDS['Key Vault Secrets User'], reader.id)).status, 201);
    assert.equal((await setPolicy(server, `${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/seal-policies`, 'add', reader.id, ['get'])).status, 200);
  });
  after(async () => {
    await server?.stop();
  });

  it('seals what coffer writes, and the server records its key in the data dir', async () => {
    const row = read<{ mac: string | null }>('SELECT mac FROM role_assignments WHERE principal_id = ?', reader.id);
    assert.match(row.mac ?? '', /^a1\.0\.[A-Za-z0-9_-]{43}$/);
    assert.match(read<{ mac: string }>('SELECT mac FROM vaults WHERE name = ?', 'seal-policies').mac, /^a2\.0\./);
    const record = JSON.parse(readFileSync(join(server.dataDir, 'authorization-key.json'), 'utf8'));
    assert.equal(record.bound, true);
    assert.equal(typeof record.fingerprint, 'string');
    assert.equal((await asReader('seal-rbac').getSecret('db')).value, 'rbac-value');
  });

  it('a role assignment inserted into the database grants nothing, and is logged', async () => {
    const forged = randomUUID();
    write(
      `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, description, end_time, created_at, updated_at, created_by, mac)
       SELECT ?, scope, role_definition_id, ?, 'ServicePrincipal', NULL, NULL, created_at, updated_at, created_by, mac FROM role_assignments WHERE principal_id = ?`,
      forged,
      mallory.id,
      reader.id,
    );
    await server.restart();
    // The copied seal is the reader's assignment's: it names another id and principal.
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    assert.match(server.logs(), new RegExp(`"id":"${forged}".*a role assignment in the database does not match its seal`));
    // An unsealed one is refused too, and the listing shows neither.
    write(`UPDATE role_assignments SET mac = NULL WHERE id = ?`, forged);
    await server.restart();
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    assert.match(server.logs(), /a role assignment in the database carries no seal/);
    const listed = await api(server, 'GET', `${rbacScope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`);
    assert.equal(listed.status, 200);
    assert.ok(!JSON.stringify(listed.body).includes(mallory.id), 'the refused assignment is not listed');
    // Genuine assignments still grant.
    assert.equal((await asReader('seal-rbac').getSecret('db')).value, 'rbac-value');
    // The refused row does not stand in the way of the grant it names, made through the API.
    const real = await assignRole(server, rbacScope, ROLE_IDS['Key Vault Secrets User'], mallory.id);
    assert.equal(real.status, 201, JSON.stringify(real.body));
    assert.equal((await asMallory('seal-rbac').getSecret('db')).value, 'rbac-value');
    assert.equal((await api(server, 'DELETE', `${real.body!.id}?api-version=2022-04-01`)).status, 200);
    write('DELETE FROM role_assignments WHERE id = ?', forged);
  });

  it("a sealed assignment changed to another role or principal grants nothing, and the others still do", async () => {
    const mine = await assignRole(server, rbacScope, ROLE_IDS['Key Vault Reader'], mallory.id);
    assert.equal(mine.status, 201);
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403, 'Key Vault Reader reads no values');
    // As coffer stores it: the role's GUID.
    assert.equal(read<{ r: string }>('SELECT role_definition_id AS r FROM role_assignments WHERE principal_id = ?', mallory.id).r, ROLE_IDS['Key Vault Reader']);
    write('UPDATE role_assignments SET role_definition_id = ? WHERE principal_id = ?', ROLE_IDS['Key Vault Secrets Officer'], mallory.id);
    await server.restart();
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    assert.equal((await asReader('seal-rbac').getSecret('db')).value, 'rbac-value');
    // Widened to the subscription: the same.
    write('UPDATE role_assignments SET role_definition_id = ?, scope = ? WHERE principal_id = ?', ROLE_IDS['Key Vault Secrets Officer'], sub, mallory.id);
    await server.restart();
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    const attempt = await api(server, 'GET', `${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=assignedTo('${mallory.id}')`);
    assert.deepEqual(attempt.body!.value, [], 'the widened assignment is not listed');
    write('DELETE FROM role_assignments WHERE principal_id = ?', mallory.id);
  });

  it('a group membership inserted into the database grants nothing', async () => {
    const group = await newGroup(server, 'seal-readers', []);
    assert.equal((await assignRole(server, rbacScope, ROLE_IDS['Key Vault Secrets User'], group, { principalType: 'Group' })).status, 201);
    write('INSERT INTO group_members (group_id, member_id, mac) VALUES (?, ?, NULL)', group, mallory.id);
    await server.restart();
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    assert.match(server.logs(), /a group membership in the database carries no seal/);
    const members = await api(server, 'GET', `/v1.0/groups/${group}/members`);
    assert.deepEqual(members.body!.value, [], 'the refused membership is not listed');
    // Added through the API it grants, and survives a restart.
    write('DELETE FROM group_members WHERE group_id = ?', group);
    await server.restart();
    assert.equal((await api(server, 'POST', `/v1.0/groups/${group}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${mallory.id}` })).status, 204);
    await server.restart();
    assert.equal((await asMallory('seal-rbac').getSecret('db')).value, 'rbac-value');
    assert.equal((await api(server, 'DELETE', `/v1.0/groups/${group}/members/${mallory.id}/$ref`)).status, 204);
  });

  it('a custom role whose permissions were widened in the database grants nothing', async () => {
    const roleId = randomUUID();
    const put = await api(server, 'PUT', `${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`, {
      properties: { roleName: 'Seal Lister', type: 'CustomRole', permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/readMetadata/action'] }], assignableScopes: [sub] },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal((await assignRole(server, rbacScope, roleId, mallory.id)).status, 201);
    await server.restart();
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    const widened = JSON.stringify([{ actions: [], notActions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/*'], notDataActions: [] }]);
    write('UPDATE role_definitions SET permissions = ? WHERE id = ?', widened, roleId);
    await server.restart();
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    assert.match(server.logs(), new RegExp(`"id":"${roleId}".*a custom role in the database does not match its seal`));
    write('DELETE FROM role_assignments WHERE principal_id = ?', mallory.id);
  });

  it("a vault changed in the database answers 500 on its data plane and to every change, until its row is put back", async () => {
    const vaultId = `${sub}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/seal-policies`;
    const row = read<{ properties: string }>('SELECT properties FROM vaults WHERE name = ?', 'seal-policies');
    const properties = JSON.parse(row.properties);
    properties.accessPolicies.push({ tenantId: server.bootstrap.tenantId, objectId: mallory.id, permissions: { secrets: ['get', 'list'] } });
    write('UPDATE vaults SET properties = ? WHERE name = ?', JSON.stringify(properties), 'seal-policies');
    await server.restart();
    assert.equal(await statusOf(asMallory('seal-policies').getSecret('db')), 500);
    assert.equal(await statusOf(asReader('seal-policies').getSecret('db')), 500, 'nothing is decided from the changed policies');
    assert.match(server.logs(), /a vault in the database does not match its seal/);
    // Asked who may read it, the server does not answer from the changed policies either.
    assert.equal((await api(server, 'POST', '/coffer/check-access', { principalId: mallory.id, scope: vaultId })).status, 500);
    // Every change would seal what the writer put there (a PATCH that sets only tags, an access policy added) or trust it
    // (a PUT keeps the stored resource group, whose owners it authorizes, the permission model and soft delete settings).
    const patch = await api(server, 'PATCH', `${vaultId}?api-version=2023-07-01`, { tags: { touched: 'yes' } });
    assert.equal(patch.status, 500, JSON.stringify(patch.body));
    assert.match(patch.body!.error.message, /access configuration of vault 'seal-policies' failed its integrity check/);
    assert.equal((await setPolicy(server, vaultId, 'add', reader.id, ['get', 'list'])).status, 500);
    const shown = await api(server, 'GET', `${vaultId}?api-version=2023-07-01`);
    assert.equal(shown.status, 200, 'it can still be read');
    const meant = shown.body!.properties.accessPolicies.filter((p: { objectId: string }) => p.objectId !== mallory.id);
    const put = await api(server, 'PUT', `${vaultId}?api-version=2023-07-01`, {
      location: 'local',
      properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: meant, enableRbacAuthorization: false },
    });
    assert.equal(put.status, 500, JSON.stringify(put.body));
    // Its row put back (as from a database backup): it serves again, as before.
    write('UPDATE vaults SET properties = ? WHERE name = ?', row.properties, 'seal-policies');
    await server.restart();
    assert.equal((await asReader('seal-policies').getSecret('db')).value, 'policy-value');
    assert.equal(await statusOf(asMallory('seal-policies').getSecret('db')), 403);
  });

  it('a vault moved in the database to a resource group the attacker owns cannot be taken over through it', async () => {
    await createVault(server, 'seal-moved');
    await secretClient(server, 'seal-moved').setSecret('db', 'moved-value');
    const rgMallory = `${sub}/resourceGroups/rg-mallory`;
    assert.ok((await api(server, 'PUT', `${rgMallory}?api-version=2021-04-01`, { location: 'local' })).status < 300);
    assert.equal((await assignRole(server, rgMallory, ROLE_IDS.Owner, mallory.id)).status, 201);
    write("UPDATE vaults SET resource_group = 'rg-mallory', resource_group_key = 'rg-mallory' WHERE name = ?", 'seal-moved');
    await server.restart();
    const token = (await credential(server, mallory.appId, mallory.secret).getToken(`${server.url}/.default`)).token;
    const put = await api(
      server,
      'PUT',
      `${rgMallory}/providers/Microsoft.KeyVault/vaults/seal-moved?api-version=2023-07-01`,
      { location: 'local', properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, enableRbacAuthorization: false, accessPolicies: [{ tenantId: server.bootstrap.tenantId, objectId: mallory.id, permissions: { secrets: ['get'] } }] } },
      token,
    );
    assert.equal(put.status, 500, JSON.stringify(put.body));
    assert.equal(await statusOf(asMallory('seal-moved').getSecret('db')), 500);
    // Nor through its secrets' management routes (listing names, setting a value) or its audit records, all authorized at the group.
    const secretsUrl = `${rgMallory}/providers/Microsoft.KeyVault/vaults/seal-moved/secrets`;
    assert.equal((await api(server, 'GET', `${secretsUrl}?api-version=2023-07-01`, undefined, token)).status, 500);
    assert.equal((await api(server, 'PUT', `${secretsUrl}/db?api-version=2023-07-01`, { properties: { value: 'planted' } }, token)).status, 500);
    assert.equal((await api(server, 'GET', '/coffer/audit?vault=seal-moved', undefined, token)).status, 500);
    write("UPDATE vaults SET resource_group = 'rg-test', resource_group_key = 'rg-test' WHERE name = ?", 'seal-moved');
    write('DELETE FROM role_assignments WHERE principal_id = ?', mallory.id);
  });

  it("a vault's seal copied onto another vault does not match it", async () => {
    await acceptChanges();
    await createVault(server, 'seal-other');
    await secretClient(server, 'seal-other').setSecret('x', 'other-value');
    write('UPDATE vaults SET mac = (SELECT mac FROM vaults WHERE name = ?) WHERE name = ?', 'seal-policies', 'seal-other');
    await server.restart();
    assert.equal(await statusOf(secretClient(server, 'seal-other').getSecret('x')), 500);
    assert.equal((await asReader('seal-policies').getSecret('db')).value, 'policy-value');
  });

  it('a custom role removed in the database is not created again under its id while assignments refer to it', async () => {
    await acceptChanges();
    const roleId = randomUUID();
    const put = await api(server, 'PUT', `${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`, {
      properties: { roleName: 'Seal Narrow', permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/readMetadata/action'] }], assignableScopes: [sub] },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal((await assignRole(server, sub, roleId, mallory.id)).status, 201);
    write('DELETE FROM role_definitions WHERE id = ?', roleId);
    await server.restart();
    // Mallory owns a resource group: there she may write roles, and would widen the subscription-wide assignment.
    const rgMallory = `${sub}/resourceGroups/rg-mallory`;
    assert.equal((await assignRole(server, rgMallory, ROLE_IDS.Owner, mallory.id)).status, 201);
    const token = (await credential(server, mallory.appId, mallory.secret).getToken(`${server.url}/.default`)).token;
    const again = await api(
      server,
      'PUT',
      `${rgMallory}/providers/Microsoft.Authorization/roleDefinitions/${roleId}?api-version=2022-04-01`,
      { properties: { roleName: 'Seal Wide', permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/*'] }], assignableScopes: [rgMallory] } },
      token,
    );
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body!.error.code, 'RoleDefinitionIdAssigned');
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    write('DELETE FROM role_assignments WHERE principal_id = ?', mallory.id);
  });

  it('a membership stored without a seal is not made to grant by adding it again', async () => {
    await acceptChanges();
    const group = await newGroup(server, 'seal-readd', []);
    assert.equal((await assignRole(server, rbacScope, ROLE_IDS['Key Vault Secrets User'], group, { principalType: 'Group' })).status, 201);
    write('INSERT INTO group_members (group_id, member_id, mac) VALUES (?, ?, NULL)', group, mallory.id);
    await server.restart();
    await api(server, 'POST', `/v1.0/groups/${group}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${mallory.id}` });
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    write('DELETE FROM group_members WHERE group_id = ?', group);
  });

  it("the deployment administrator's id changed in the database stops the start", async () => {
    const admin = read<{ value: string }>("SELECT value FROM settings WHERE key = 'adminObjectId'").value;
    write("UPDATE settings SET value = ? WHERE key = 'adminObjectId'", mallory.id);
    write("DELETE FROM settings WHERE key = 'administratorRolesGranted'");
    await assert.rejects(server.restart(), /deployment administrator's object id .* does not match its seal/);
    write("UPDATE settings SET value = ? WHERE key = 'adminObjectId'", admin);
    await server.restart();
    assert.equal(await statusOf(asMallory('seal-rbac').getSecret('db')), 403);
    assert.equal((await asReader('seal-rbac').getSecret('db')).value, 'rbac-value');
  });
});
