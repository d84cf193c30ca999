import assert from 'node:assert/strict';
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { api, assignRole, newGroup, newServicePrincipal, ROLE_IDS, setPolicy, type Principal } from './support/access-kit.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { loadKeyring } from '../src/crypto/keyring.js';
import { beginRenewal, sealOfStoredKey } from '../src/authorization/authorization-key.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { cliHome, coffer } from './support/cli.js';
import { canonicalJson, createAuthorizationSeal } from '../src/authorization/authorization-seal.js';
import { createSealHolder } from '../src/authorization/sealed-stores.js';
import type { RoleAssignmentRow } from '../src/storage/store-types.js';

// Someone who can write the database but does not hold the master key
// cannot grant access: every row that grants (role assignments, custom roles,
// group memberships, a vault's properties) carries a seal under a key the
// master key wraps (authorization/authorization-seal.ts). Each case writes
// the database directly, as such a writer would, and restarts the server
// (which reads authorization data at start).

const statusOf = async (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: { statusCode?: number }) => e.statusCode ?? -1,
  );

describe('the seal', () => {
  const seal = createAuthorizationSeal(createSecretKey(randomBytes(32)));
  const assignment: RoleAssignmentRow = {
    id: 'A1B2C3D4-0000-4000-8000-000000000001',
    scope: '/subscriptions/s/resourceGroups/rg/',
    roleDefinitionId: '/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/r',
    principalId: 'P-1',
    principalType: 'ServicePrincipal',
    description: 'why',
    endTime: null,
    createdAt: 1,
    updatedAt: 1,
    createdBy: 'admin',
  };
  const vault = { id: 'v-1', name: 'Kv', subscriptionId: 'S', resourceGroup: 'Rg', properties: { accessPolicies: [{ objectId: 'o', permissions: { secrets: ['get'] } }], enableRbacAuthorization: false } };

  it('covers what grants and where, not descriptions, times or the case of ids', () => {
    const mac = seal.assignment(assignment);
    assert.match(mac, /^a1\.0\.[A-Za-z0-9_-]{43}$/);
    for (const change of [{ id: randomUUID() }, { scope: '/subscriptions/s' }, { roleDefinitionId: 'other' }, { principalId: 'p-2' }, { principalType: 'Group' as const }, { endTime: 5 }]) {
      assert.notEqual(seal.assignment({ ...assignment, ...change }), mac, JSON.stringify(change));
    }
    for (const same of [{ description: 'other' }, { createdAt: 9, updatedAt: 9, createdBy: 'x' }, { id: assignment.id.toLowerCase(), principalId: 'p-1', scope: '/SUBSCRIPTIONS/s/resourceGroups/rg' }]) {
      assert.equal(seal.assignment({ ...assignment, ...same }), mac, JSON.stringify(same));
    }
    assert.notEqual(seal.membership('g', 'm'), seal.membership('m', 'g'));
    assert.equal(seal.membership('G', 'M'), seal.membership('g', 'm'));
  });

  it("covers a vault's identity and properties whatever their key order, not its tags", () => {
    const mac = seal.vault(vault);
    assert.equal(seal.vault({ ...vault, properties: { enableRbacAuthorization: false, accessPolicies: [{ permissions: { secrets: ['get'] }, objectId: 'o' }] } }), mac);
    assert.equal(seal.vault({ ...vault, tags: { a: 'b' } } as typeof vault), mac);
    for (const change of [{ id: 'v-2' }, { name: 'other' }, { subscriptionId: 'T' }, { resourceGroup: 'rg2' }, { properties: { ...vault.properties, enableRbacAuthorization: true } }]) {
      assert.notEqual(seal.vault({ ...vault, ...change }), mac, JSON.stringify(change));
    }
    assert.equal(canonicalJson({ b: [2, { d: 1, c: undefined, a: null }], a: 'x' }), '{"a":"x","b":[2,{"a":null,"d":1}]}');
  });

  it('matches only the same MAC, and none under another key', () => {
    const mac = seal.assignment(assignment);
    assert.equal(seal.intact(mac, mac), true);
    const flipped = mac.slice(0, -1) + (mac.endsWith('A') ? 'B' : 'A');
    for (const stored of [null, undefined, '', mac.slice(0, -1), flipped]) {
      assert.equal(seal.intact(stored, mac), false, String(stored));
    }
    const other = createAuthorizationSeal(createSecretKey(randomBytes(32)));
    assert.notEqual(other.assignment(assignment), mac);
    assert.notEqual(other.fingerprint, seal.fingerprint);
  });
});

describe('the seal holder', () => {
  it('holds sealed writes while a renewal runs, after the writes under way, and then seals under the new generation', async () => {
    const first = createAuthorizationSeal(createSecretKey(randomBytes(32)), 0);
    const second = createAuthorizationSeal(createSecretKey(randomBytes(32)), 1);
    const holder = createSealHolder(first);
    const events: string[] = [];
    let finishWrite!: () => void;
    const under = holder.writing(async (seal) => {
      events.push(`write under ${seal.generation}`);
      await new Promise<void>((resolve) => (finishWrite = resolve));
      events.push('write done');
    });
    let next: typeof second | null = null;
    let finishRenewal!: () => void;
    const renewal = holder.renewing(
      () => next,
      async () => {
        events.push('renewal starts');
        next = second;
        // While it runs, rows sealed by either generation match.
        assert.equal(holder.matches(second.membership('g', 'm'), (s) => s.membership('g', 'm')), true);
        assert.equal(holder.matches(first.membership('g', 'm'), (s) => s.membership('g', 'm')), true);
        await new Promise<void>((resolve) => (finishRenewal = resolve));
        return true;
      },
    );
    await new Promise((r) => setImmediate(r));
    const later = holder.writing(async (seal) => void events.push(`write under ${seal.generation}`));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['write under 0'], 'the renewal waits for the write under way; the later write waits for the renewal');
    finishWrite();
    await under;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['write under 0', 'write done', 'renewal starts']);
    finishRenewal();
    assert.equal(await renewal, true);
    await later;
    assert.deepEqual(events.slice(3), ['write under 1']);
    assert.equal(holder.current(), second);
    assert.equal(holder.matches(first.membership('g', 'm'), (s) => s.membership('g', 'm')), false, 'the old generation matches no more');
  });
});

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
  const asMallory = (vault: string) => secretClient(server, vault, credential(server, mallory.appId, mallory.secret));
  const asReader = (vault: string) => secretClient(server, vault, credential(server, reader.appId, reader.secret));

  before(async () => {
    server = await startTestServer();
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
    assert.match(read<{ mac: string }>('SELECT mac FROM vaults WHERE name = ?', 'seal-policies').mac, /^a1\.0\./);
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
    write("UPDATE vaults SET resource_group = 'rg-test', resource_group_key = 'rg-test' WHERE name = ?", 'seal-moved');
    write('DELETE FROM role_assignments WHERE principal_id = ?', mallory.id);
  });

  it("a vault's seal copied onto another vault does not match it", async () => {
    await createVault(server, 'seal-other');
    await secretClient(server, 'seal-other').setSecret('x', 'other-value');
    write('UPDATE vaults SET mac = (SELECT mac FROM vaults WHERE name = ?) WHERE name = ?', 'seal-policies', 'seal-other');
    await server.restart();
    assert.equal(await statusOf(secretClient(server, 'seal-other').getSecret('x')), 500);
    assert.equal((await asReader('seal-policies').getSecret('db')).value, 'policy-value');
  });

  it('a custom role removed in the database is not created again under its id while assignments refer to it', async () => {
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

describe('the authorization key', () => {
  it('seals the rows stored before it once, at the first start that makes it; later starts refuse it removed or put back unbound', async () => {
    const server = await startTestServer();
    const file = join(server.dataDir, 'coffer.db');
    const sql = (statement: string, ...params: unknown[]) => {
      const d = new Database(file);
      try {
        return d.prepare(statement).run(...params);
      } finally {
        d.close();
      }
    };
    try {
      await createVault(server, 'seal-upgrade', { enableRbacAuthorization: true });
      await secretClient(server, 'seal-upgrade').setSecret('s', 'v');
      const sp = await newServicePrincipal(server, 'upgraded');
      const scope = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/seal-upgrade`;
      assert.equal((await assignRole(server, scope, ROLE_IDS['Key Vault Secrets User'], sp.id)).status, 201);
      const asSp = () => secretClient(server, 'seal-upgrade', credential(server, sp.appId, sp.secret));
      assert.equal((await asSp().getSecret('s')).value, 'v');

      // The database as a build from before seals left it: no key, no seals, no record.
      await server.kill();
      sql("DELETE FROM settings WHERE key IN ('authorizationKey', 'adminObjectIdSeal')");
      for (const table of ['role_assignments', 'role_definitions', 'group_members', 'vaults']) sql(`UPDATE ${table} SET mac = NULL`);
      rmSync(join(server.dataDir, 'authorization-key.json'));
      await server.restart();
      assert.match(server.logs(), /"rows":\d+.*sealed the role assignments, custom roles, group memberships and vaults stored before/);
      assert.equal((await asSp().getSecret('s')).value, 'v', 'the assignment stored before is sealed and grants');
      const d = new Database(file, { readonly: true });
      const unsealed = d.prepare('SELECT (SELECT COUNT(*) FROM role_assignments WHERE mac IS NULL) + (SELECT COUNT(*) FROM vaults WHERE mac IS NULL) AS n').get() as { n: number };
      const stored = (d.prepare("SELECT value FROM settings WHERE key = 'authorizationKey'").get() as { value: string }).value;
      d.close();
      assert.equal(unsealed.n, 0);
      assert.equal(JSON.parse(stored).bound, true);
      assert.equal(JSON.parse(readFileSync(join(server.dataDir, 'authorization-key.json'), 'utf8')).bound, true);

      // A second start seals nothing more: a row without a seal now is refused, not sealed.
      await server.kill();
      sql('UPDATE role_assignments SET mac = NULL WHERE principal_id = ?', sp.id);
      const before = server.logs().length;
      await server.restart();
      assert.doesNotMatch(server.logs().slice(before), /sealed the role assignments/);
      assert.equal(await statusOf(asSp().getSecret('s')), 403);

      // The key removed from the database (to have a new one seal rows of the writer's): the start refuses.
      await server.kill();
      sql("DELETE FROM settings WHERE key = 'authorizationKey'");
      await assert.rejects(server.restart(), /authorization key is missing/);
      // Put back as it was while it was made, before the rows were sealed (a replay): refused as well.
      const keyring = loadKeyring({ file: join(server.dataDir, 'master.key') }).keyring;
      const { sealed: _s, keyId: _k, ...rest } = JSON.parse(stored) as Record<string, unknown>;
      assert.deepEqual(rest, { bound: true });
      const bytes = keyring.unwrap(JSON.parse(stored).keyId, Buffer.from(JSON.parse(stored).sealed, 'base64'), 'coffer/authorization-key/v1|bound');
      const unbound = keyring.wrap(bytes, 'coffer/authorization-key/v1|binding');
      sql("INSERT INTO settings (key, value) VALUES ('authorizationKey', ?)", JSON.stringify({ keyId: unbound.keyId, sealed: unbound.sealed.toString('base64') }));
      await assert.rejects(server.restart(), /marked as not yet bound, though it was/);
      // The bound row back: the server starts, and the row unsealed above still grants nothing.
      sql("UPDATE settings SET value = ? WHERE key = 'authorizationKey'", stored);
      await server.restart();
      assert.equal(await statusOf(asSp().getSecret('s')), 403);
    } finally {
      await server.stop();
    }
  });

  it('is not made to seal unsealed rows by a data dir that never ran against the database, unless the operator says so', async () => {
    const server = await startTestServer();
    let second: TestServer | undefined;
    try {
      await createVault(server, 'seal-fresh-dir', { enableRbacAuthorization: true });
      await secretClient(server, 'seal-fresh-dir').setSecret('s', 'v');
      const intruder = await newServicePrincipal(server, 'fresh-dir-intruder');
      await server.kill();
      // The key removed, and an assignment of the writer's own added without a seal.
      const d = new Database(join(server.dataDir, 'coffer.db'));
      d.prepare("DELETE FROM settings WHERE key IN ('authorizationKey', 'adminObjectIdSeal')").run();
      for (const table of ['role_assignments', 'role_definitions', 'group_members', 'vaults']) d.prepare(`UPDATE ${table} SET mac = NULL`).run();
      const sample = d.prepare('SELECT scope FROM role_assignments LIMIT 1').get() as { scope: string };
      d.prepare(
        `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, end_time, created_at, updated_at, created_by, mac)
         VALUES (?, ?, ?, ?, 'ServicePrincipal', NULL, 1, 1, 'x', NULL)`,
      ).run(randomUUID(), sample.scope, ROLE_IDS['Key Vault Secrets Officer'], intruder.id);
      d.close();
      // A data dir without its records (a new cluster member, a container's fresh one): the start refuses.
      rmSync(join(server.dataDir, 'authorization-key.json'));
      rmSync(join(server.dataDir, 'audit-key.json'));
      await assert.rejects(server.restart(), /holds \d+ role assignments, custom roles, memberships or vaults without a seal, and no authorization key/);
      // On the operator's word, it seals them as they are (the writer's too: the operator vouched for the database).
      second = await startTestServer({ dataDir: server.dataDir, env: { COFFER_SEAL_STORED_AUTHORIZATION: '1' } });
      assert.match(second.logs(), /sealed the role assignments, custom roles, group memberships and vaults stored before/);
      const asIntruder = secretClient(second, 'seal-fresh-dir', credential(second, intruder.appId, intruder.secret));
      assert.equal((await asIntruder.getSecret('s')).value, 'v');
    } finally {
      await second?.stop();
      await server.stop();
    }
  });

  it("is renewed by a master key rotation: every row is sealed again, and the old key's holder seals nothing", async () => {
    const server = await startTestServer();
    const file = join(server.dataDir, 'coffer.db');
    const sql = (statement: string, ...params: unknown[]) => {
      const d = new Database(file);
      try {
        return d.prepare(statement).run(...params);
      } finally {
        d.close();
      }
    };
    try {
      await createVault(server, 'seal-rotated', { enableRbacAuthorization: true });
      await secretClient(server, 'seal-rotated').setSecret('s', 'v');
      const sp = await newServicePrincipal(server, 'rotated-reader');
      const intruder = await newServicePrincipal(server, 'rotated-intruder');
      const scope = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/seal-rotated`;
      assert.equal((await assignRole(server, scope, ROLE_IDS['Key Vault Secrets User'], sp.id)).status, 201);
      const asSp = () => secretClient(server, 'seal-rotated', credential(server, sp.appId, sp.secret));
      const asIntruder = () => secretClient(server, 'seal-rotated', credential(server, intruder.appId, intruder.secret));
      // What whoever leaks the master key (and copies the database) holds from before the rotation.
      const oldKeyring = loadKeyring({ file: join(server.dataDir, 'master.key') }).keyring;
      const oldSeal = sealOfStoredKey(readSetting(server, 'authorizationKey'), oldKeyring);
      assert.equal(oldSeal.generation, 0);

      const rotated = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
      assert.equal(rotated.code, 0, rotated.stderr);
      const result = JSON.parse(rotated.stdout);
      assert.equal(result.renewedAuthorizationKey, true);
      const stored = JSON.parse(readSetting(server, 'authorizationKey'));
      assert.equal(stored.generation, 1);
      assert.equal(stored.previous, undefined, 'the old generation is dropped');
      const macs = (() => {
        const d = new Database(file, { readonly: true });
        try {
          return d.prepare("SELECT mac FROM role_assignments UNION ALL SELECT mac FROM vaults UNION ALL SELECT mac FROM group_members").all() as Array<{ mac: string }>;
        } finally {
          d.close();
        }
      })();
      assert.ok(macs.length >= 3 && macs.every((r) => r.mac.startsWith('a1.1.')), JSON.stringify(macs));
      assert.equal(JSON.parse(readFileSync(join(server.dataDir, 'authorization-key.json'), 'utf8')).generation, 1);
      // Access goes on, written during and after the rotation alike.
      assert.equal((await asSp().getSecret('s')).value, 'v');
      await secretClient(server, 'seal-rotated').setSecret('after', 'rotation');

      // The old key's holder writes an assignment sealed under it: it grants nothing.
      const forged = { id: randomUUID(), scope, roleDefinitionId: ROLE_IDS['Key Vault Secrets Officer'], principalId: intruder.id, principalType: 'ServicePrincipal' as const, description: null, endTime: null, createdAt: 1, updatedAt: 1, createdBy: 'x' };
      sql(
        `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, end_time, created_at, updated_at, created_by, mac) VALUES (?, ?, ?, ?, 'ServicePrincipal', NULL, 1, 1, 'x', ?)`,
        forged.id,
        forged.scope,
        forged.roleDefinitionId,
        forged.principalId,
        oldSeal.assignment(forged),
      );
      await server.restart();
      assert.equal(await statusOf(asIntruder().getSecret('s')), 403);
      assert.equal((await asSp().getSecret('s')).value, 'v');
      sql('DELETE FROM role_assignments WHERE id = ?', forged.id);

      // A renewal a stop cut short (the new generation stored, rows not yet sealed again) is finished by the next start.
      await server.kill();
      const keyring = loadKeyring({ file: join(server.dataDir, 'master.key') }).keyring;
      const raw = openSqliteStore({ file });
      const renewal = await beginRenewal(raw.settings, keyring);
      await raw.close();
      assert.equal(renewal?.to.generation, 2);
      const before = server.logs().length;
      await server.restart();
      assert.match(server.logs().slice(before), /"rows":[1-9]\d*.*finished the authorization key renewal a stop had cut short/);
      assert.equal(JSON.parse(readSetting(server, 'authorizationKey')).previous, undefined);
      assert.equal((await asSp().getSecret('s')).value, 'v');
      await server.restart();
      assert.equal((await asSp().getSecret('s')).value, 'v');
    } finally {
      await server.stop();
    }
  });
});

function readSetting(server: TestServer, key: string): string {
  const d = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
  try {
    return (d.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string }).value;
  } finally {
    d.close();
  }
}
