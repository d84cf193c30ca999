import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { after, describe, it } from 'node:test';
import { matchPolicies, type AccessPolicyEntry } from '../src/authorization/access-policies.js';
import { createAccessIndex } from '../src/authorization/access-index.js';
import { covers } from '../src/authorization/scopes.js';
import { heapLimits } from '../src/cli/commands/server-thread.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { AuditRecord, GroupStore, RoleAssignmentRow, RoleAssignmentStore } from '../src/storage/store-types.js';
import { insertVault, keyAuditChain, vaultRow, versionRow } from './support/store-conformance-kit.js';

// Behaviour behind the issue-8 performance work: the access-policy index,
// the server thread's heap limits, and the writer thread that commits secret
// versions and audit rows together.

const TENANT = 'c0ffee00-0000-4000-8000-000000000001';
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const entry = (objectId: string, secrets: string[], applicationId?: string): AccessPolicyEntry => ({
  tenantId: TENANT,
  objectId,
  ...(applicationId ? { applicationId } : {}),
  permissions: { secrets },
});

describe('access-policy matching by object id', () => {
  it('finds the caller and group entries among many, in entry order', () => {
    const entries = Array.from({ length: 1024 }, (_, i) => entry(id(i), ['get']));
    entries[900] = entry(id(5000), ['list']);
    entries[700] = entry(id(6000), ['all']);
    entries[10] = entry(id(5000), ['get']);
    const matches = matchPolicies(entries, [id(5000), id(6000)], null, TENANT, 'get');
    assert.deepEqual(
      matches.map((m) => [m.index, m.via]),
      [
        [10, id(5000)],
        [700, id(6000)],
      ],
    );
    assert.deepEqual(matchPolicies(entries, [id(7000)], null, TENANT, 'get'), []);
  });

  it('keeps tenant and compound-identity rules', () => {
    const app = id(9000);
    const entries = [entry(id(1), ['get'], app), { ...entry(id(1), ['get']), tenantId: id(2) }];
    assert.equal(matchPolicies(entries, [id(1)], id(9001), TENANT, 'get').length, 0, 'other application, other tenant');
    assert.deepEqual(
      matchPolicies(entries, [id(1)], app.toUpperCase(), TENANT, 'get').map((m) => m.index),
      [0],
    );
  });

  it('sees a changed policy list (a new array, or one grown in place)', () => {
    const entries = [entry(id(1), ['get'])];
    assert.equal(matchPolicies(entries, [id(2)], null, TENANT, 'get').length, 0);
    entries.push(entry(id(2), ['get']));
    assert.equal(matchPolicies(entries, [id(2)], null, TENANT, 'get').length, 1);
    assert.equal(matchPolicies([...entries, entry(id(3), ['get'])], [id(3)], null, TENANT, 'get').length, 1);
  });
});

describe('role assignments of a principal with many', () => {
  const SUB = '/subscriptions/c0ffee00-0000-4000-8000-0000000000b1';
  const VAULT = `${SUB}/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/big`;
  const ROLE = '/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6';
  let n = 0;
  const row = (principalId: string, scope: string, endTime: number | null = null): RoleAssignmentRow => ({
    id: id(100_000 + n++),
    scope,
    roleDefinitionId: ROLE,
    principalId,
    principalType: 'ServicePrincipal',
    description: null,
    endTime,
    createdAt: 1,
    updatedAt: 1,
    createdBy: 'test',
  });
  const memoryStores = () => {
    const rows = new Map<string, RoleAssignmentRow>();
    const assignments = {
      insert: async (r: RoleAssignmentRow) => void rows.set(r.id, r),
      get: async (assignmentId: string) => rows.get(assignmentId) ?? null,
      list: async () => [...rows.values()],
      delete: async (assignmentId: string) => rows.delete(assignmentId),
    } as unknown as RoleAssignmentStore;
    const groups = { allMemberships: async () => [] } as unknown as GroupStore;
    return { assignments, groups };
  };

  it('finds what a scan of every assignment finds, in the same order', async () => {
    const index = await createAccessIndex(memoryStores());
    const busy = id(1);
    const added: RoleAssignmentRow[] = [];
    const add = async (r: RoleAssignmentRow) => {
      added.push(r);
      await index.addAssignment(r);
    };
    for (let i = 0; i < 3000; i++) await add(row(busy, `${VAULT}/secrets/s-${i}`));
    await add(row(busy, VAULT));
    await add(row(busy, `${SUB}/resourceGroups/rg`));
    await add(row(busy, '/'));
    await add(row(busy, `${VAULT}/secrets/s-7`, 50)); // expired at now=100
    await add(row(busy, `${VAULT}/secrets/S-7/`)); // another spelling of the same scope
    await add(row(busy, `${VAULT}x/secrets/s-7`)); // a vault whose name extends "big"
    await add(row(id(2), `${VAULT}/secrets/s-7`));
    assert.ok(index.assignmentsOf(busy).length > 16, 'past the scan limit');

    const scan = (scopeKey: string) =>
      added.filter((r) => r.principalId === busy && (r.endTime === null || r.endTime > 100) && covers(r.scope.replace(/\/+$/, '').toLowerCase(), scopeKey)).map((r) => r.id);
    for (const scope of [`${VAULT}/secrets/s-7`, `${VAULT}/secrets/s-2999`, VAULT, `${SUB}/resourceGroups/RG`, SUB, '', `${VAULT}/secrets/none`]) {
      const key = scope.toLowerCase();
      const found = index.applicable([busy], key, 100).map((a) => a.id);
      assert.deepEqual(found, scan(key), scope);
    }
    assert.equal(index.applicable([busy], `${VAULT}/secrets/s-7`.toLowerCase(), 100).length, 5, 'root, group, vault, s-7 twice');
    assert.equal(index.atScope(busy, `${VAULT}/secrets/s-7`.toLowerCase()).length, 3, 'exact scope, expired included');

    await index.removeAssignment(added[7]!.id);
    assert.deepEqual(index.applicable([busy], `${VAULT}/secrets/s-7`.toLowerCase(), 100).map((a) => a.id), scan(`${VAULT}/secrets/s-7`.toLowerCase()).filter((x) => x !== added[7]!.id));
  });
});

describe('server thread heap limits', () => {
  it('bounds both generations by default', () => {
    const limits = heapLimits([]);
    assert.ok(limits.maxOldGenerationSizeMb! >= 128, 'room for several times the largest measured live heap');
    assert.ok(limits.maxYoungGenerationSizeMb! > 0);
  });
  it("leaves a generation to node's own flag when one is given", () => {
    assert.deepEqual(Object.keys(heapLimits(['--max-old-space-size=2048'])), ['maxYoungGenerationSizeMb']);
    assert.deepEqual(Object.keys(heapLimits(['--max_semi_space_size=32'])), ['maxOldGenerationSizeMb']);
  });
});

describe('coffer server main thread', () => {
  // What `coffer server` loads on the main thread before the server thread
  // takes over: every module reachable through static imports from the
  // executable's entry for that command (dynamic imports are loaded only
  // when their branch runs). The client commands, the configuration schema
  // (zod) and the server's modules belong to other threads or commands.
  function staticImports(file: string, seen = new Set<string>()): Set<string> {
    if (seen.has(file)) return seen;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^import\s+(?!type\b)[^'"]*?['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) staticImports(resolvePath(dirname(file), spec.replace(/\.js$/, '.ts')), seen);
      else seen.add(spec);
    }
    return seen;
  }

  it('loads only commander and the server command', () => {
    const loaded = [...staticImports(resolvePath(import.meta.dirname, '../src/cli/main.ts'))];
    const ours = loaded.filter((f) => f.startsWith('/')).map((f) => relative(resolvePath(import.meta.dirname, '../src/cli'), f)).sort();
    assert.deepEqual(ours, ['abbreviations.ts', 'cli-error.ts', 'close-matches.ts', 'commands/server-command.ts', 'examples.ts', 'main.ts', 'root-program.ts']);
    assert.deepEqual(loaded.filter((f) => !f.startsWith('/')).sort(), ['commander']);
  });

  it('hands the thread nothing that needs the configuration schema', () => {
    const launcher = [...staticImports(resolvePath(import.meta.dirname, '../src/cli/commands/server-thread.ts'))];
    assert.ok(!launcher.some((f) => f.includes('config') || f === 'zod'), launcher.join(', '));
  });
});

describe('writer thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-perf-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('commits concurrent secret versions and audit rows; a refused write fails alone', async () => {
    const store = openSqliteStore({ file: join(dir, 'coffer.db') });
    await keyAuditChain(store);
    try {
      const vault = vaultRow();
      await insertVault(store, vault);
      const audit = (): AuditRecord => ({
        time: '2026-01-01T00:00:00.000Z',
        vault: null,
        secret: null,
        principal: null,
        operation: 'Op',
        resultType: 'Success',
        httpStatus: 200,
        record: '{}',
      });
      const writes = await Promise.allSettled([
        ...Array.from({ length: 20 }, () => store.secrets.insertVersion(versionRow(vault.id, 'same'))),
        store.secrets.insertVersion(versionRow(vault.id, 'dup', { version: 'a'.repeat(32) })),
        store.secrets.insertVersion(versionRow(vault.id, 'dup', { version: 'a'.repeat(32) })),
        store.audit.append([audit(), audit()]),
      ]);
      assert.deepEqual(
        writes.map((w) => w.status),
        [...Array<string>(21).fill('fulfilled'), 'rejected', 'fulfilled'],
      );
      assert.equal(await store.secrets.countVersions(vault.id), 21);
      assert.equal((await store.secrets.getVersion(vault.id, 'same', null))?.seq, 20);
      assert.deepEqual((await store.audit.range(1, 10)).map((r) => r.seq), [1, 2]);
    } finally {
      await store.close();
    }
  });
});
