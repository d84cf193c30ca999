import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { api, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { DIGEST_LOCK } from '../src/storage/postgres/pg-authorization-digest.js';
import { createVault, credential } from './support/clients.js';
import { pgQuery } from './support/pg-rows.js';
import { rawRequest } from './support/raw-http.js';
import { startBalancedPgCluster, type BalancedPgCluster } from './support/pg-cluster.js';
import type { TestServer } from './support/server-fixture.js';
import { until } from './support/until.js';

// Writes sent at once through two members of a cluster that each decided
// against its own memory (found by fuzzing helpers): they end as the same
// writes one after the other would, because the database holds the check
// (cluster-postgres.test.ts sets up the same cluster for the rest).

const ARM = 'api-version=2022-04-01';
const GROUPS = 'api-version=2021-04-01';
const WAITING = "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

describe('a cluster: writes sent at once through both members', () => {
  let cluster: BalancedPgCluster;
  let a: TestServer;
  let b: TestServer;
  let pub: TestServer;
  let token: string;
  let sub: string;
  /** Straight to one member, naming the cluster's host (as a balancer passes it on), with a token for it. */
  const arm = async (m: TestServer, method: string, path: string, body?: unknown) => {
    const r = await rawRequest(`${m.url}${path}`, {
      method,
      headers: { host: `localhost:${cluster.lb.port}`, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, text: r.text, code: r.status >= 400 ? (JSON.parse(r.text) as { error?: { code?: string } }).error?.code : undefined };
  };
  const waitingForLocks = async () => (await pgQuery<{ n: number }>(cluster.url, WAITING))[0]!.n;
  const roleId = (id: string) => `${sub}/providers/Microsoft.Authorization/roleDefinitions/${id}`;

  before(async () => {
    cluster = await startBalancedPgCluster();
    ({ a, b, pub } = cluster);
    token = (await credential(pub).getToken(`${pub.url}/.default`)).token;
    sub = `/subscriptions/${a.bootstrap.subscriptionId}`;
  });
  after(() => cluster?.stop());

  it('one new vault PUT at once through both members: every PUT 200, one vault (the ones that lose the insert update it)', async () => {
    const body = { location: 'local', properties: { tenantId: a.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [] } };
    assert.equal((await arm(a, 'PUT', `${sub}/resourcegroups/rg-raced?${GROUPS}`, { location: 'local' })).status, 201);
    for (let round = 0; round < 6; round++) {
      const path = `${sub}/resourceGroups/rg-raced/providers/Microsoft.KeyVault/vaults/raced-${round}?api-version=2023-07-01`;
      const codes = (await Promise.all(Array.from({ length: 6 }, (_, i) => arm(i % 2 ? a : b, 'PUT', path, body)))).map((r) => `${r.status}${r.code ? ` ${r.code}` : ''}`);
      assert.ok(codes.every((c) => c === '200'), codes.join(', '));
    }
  });

  it('one grant under different names: one 201, the rest RoleAssignmentExists; one stored', async () => {
    const vault = await createVault(pub, 'twin-vault');
    // Rounds: each member admits one of its own requests, and the two inserts meet only in some rounds.
    for (let round = 0; round < 8; round++) {
      const sp = await newServicePrincipal(pub, `twin-sp-${round}`);
      const assign = (m: TestServer) => arm(m, 'PUT', `${vault.id!}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?${ARM}`, { properties: { roleDefinitionId: roleId(ROLE_IDS['Key Vault Secrets User']), principalId: sp.id } });
      const codes = (await Promise.all(Array.from({ length: 6 }, (_, i) => assign(i % 2 ? a : b)))).map((r) => `${r.status}${r.code ? ` ${r.code}` : ''}`);
      assert.equal(codes.filter((c) => c === '201').length, 1, codes.join(', '));
      assert.ok(codes.every((c) => c === '201' || c === '409 RoleAssignmentExists'), codes.join(', '));
      const filter = encodeURIComponent(`principalId eq '${sp.id}'`);
      const listed = await api(pub, 'GET', `${vault.id!}/providers/Microsoft.Authorization/roleAssignments?${ARM}&$filter=${filter}`);
      assert.equal((listed.body!.value as unknown[]).length, 1, 'one grant, not twins that a deletion would leave granting');
    }
  });

  it('one new resource group: one 201, the rest 200', async () => {
    for (let round = 0; round < 6; round++) {
      const put = (m: TestServer) => arm(m, 'PUT', `${sub}/resourcegroups/together-${round}?${GROUPS}`, { location: 'local' });
      const statuses = (await Promise.all(Array.from({ length: 6 }, (_, i) => put(i % 2 ? a : b)))).map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 201]);
    }
  });

  it('a custom role deleted while the other member assigns it: never both; no assignment is left naming it', async () => {
    const sp = await newServicePrincipal(pub, 'doomed-role-holder');
    for (let round = 0; round < 6; round++) {
      const id = randomUUID();
      const roleUrl = `${roleId(id)}?${ARM}`;
      const role = { properties: { roleName: `doomed ${id}`, type: 'CustomRole', permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action'] }], assignableScopes: [sub] } };
      assert.equal((await arm(a, 'PUT', roleUrl, role)).status, 201);
      // Both members know the role before it is raced.
      await until('the role reached the other member', async () => (await arm(b, 'GET', roleUrl)).status === 200);
      const assignment = `${sub}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?${ARM}`;
      const [deleted, assigned] = await Promise.all([arm(b, 'DELETE', roleUrl), arm(a, 'PUT', assignment, { properties: { roleDefinitionId: roleId(id), principalId: sp.id } })]);
      const line = `round ${round}: DELETE ${deleted.status} ${deleted.text.slice(0, 120)}; PUT ${assigned.status} ${assigned.text.slice(0, 120)}`;
      assert.ok(!(deleted.status === 200 && assigned.status === 201), line);
      assert.ok([200, 409].includes(deleted.status) && [201, 400].includes(assigned.status), line);
      if (assigned.status === 201) assert.equal((await arm(a, 'DELETE', assignment)).status, 200);
    }
  });

  it('a resource group deleted while the other member assigns a role at it: no assignment outlives the group', async () => {
    const sp = await newServicePrincipal(pub, 'orphan-candidate');
    for (let round = 0; round < 8; round++) {
      const group = `${sub}/resourceGroups/doomed-${round}`;
      assert.equal((await arm(a, 'PUT', `${group}?${GROUPS}`, { location: 'local' })).status, 201);
      const assignment = `${group}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?${ARM}`;
      const [deleted, assigned] = await Promise.all([arm(b, 'DELETE', `${group}?${GROUPS}`), arm(a, 'PUT', assignment, { properties: { roleDefinitionId: roleId(ROLE_IDS.Reader), principalId: sp.id } })]);
      const line = `round ${round}: DELETE ${deleted.status}; PUT ${assigned.status} ${assigned.text.slice(0, 160)}`;
      assert.equal(deleted.status, 200, line);
      assert.ok([201, 404].includes(assigned.status), line);
      // Gone from the store, so from both members once they have heard.
      assert.deepEqual(await pgQuery<{ id: string }>(cluster.url, 'SELECT id FROM role_assignments WHERE lower(scope) = lower($1)', [group]), [], line);
    }
  });

  it('a vault purged through one member while the other stores an assignment at it or at one of its secrets: no assignment outlives the vault', async () => {
    const sp = await newServicePrincipal(pub, 'purge-orphan-candidate');
    const KV = 'api-version=2023-07-01';
    for (const at of ['vault', 'secret']) {
      // Without soft delete, its DELETE purges it at once.
      const vault = await createVault(pub, `purged-${at}`, { enableSoftDelete: false });
      await until('the vault reached both members', async () => (await arm(a, 'GET', `${vault.id!}?${KV}`)).status === 200 && (await arm(b, 'GET', `${vault.id!}?${KV}`)).status === 200);
      const scope = at === 'vault' ? vault.id! : `${vault.id!}/secrets/some-secret`;
      // The order that once left an assignment behind, every time: the purge's write and the assignment's, both
      // decided while the vault was there, queue for the lock that sealed writes take across the cluster (held
      // here by a database client), the purge first; the purging member then looks for assignments to remove
      // with the vault while the assignment is being stored.
      const holder = new pg.Client({ connectionString: cluster.url });
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1)', [DIGEST_LOCK]);
        const purged = arm(b, 'DELETE', `${vault.id!}?${KV}`);
        await until('the purge waits for the lock', async () => (await waitingForLocks()) === 1);
        const assigned = arm(a, 'PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?${ARM}`, { properties: { roleDefinitionId: roleId(ROLE_IDS['Key Vault Secrets User']), principalId: sp.id } });
        await until('the assignment waits for the lock', async () => (await waitingForLocks()) === 2);
        await holder.query('SELECT pg_advisory_unlock($1)', [DIGEST_LOCK]);
        const line = `at a ${at}: DELETE ${(await purged).status}; PUT ${(await assigned).status} ${(await assigned).text.slice(0, 160)}`;
        assert.equal((await purged).status, 200, line);
        assert.ok([201, 404].includes((await assigned).status), line);
        // Gone from the store, so from both members once they have heard: a vault made again under the name inherits nothing.
        assert.deepEqual(await pgQuery<{ id: string }>(cluster.url, 'SELECT id FROM role_assignments WHERE lower(scope) LIKE lower($1)', [`${vault.id!}%`]), [], line);
      } finally {
        await holder.end();
      }
    }
  });
});
