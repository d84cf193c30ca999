import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { matchPolicies, type AccessPolicyEntry } from '../src/authorization/access-policies.js';
import { heapLimits } from '../src/cli/commands/server-thread.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { AuditRow } from '../src/storage/store-types.js';
import { vaultRow, versionRow } from './support/store-conformance-kit.js';

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

describe('writer thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-perf-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('commits concurrent secret versions and audit rows; a refused write fails alone', async () => {
    const store = openSqliteStore({ file: join(dir, 'coffer.db') });
    try {
      const vault = vaultRow();
      await store.vaults.insert(vault);
      const audit = (seq: number): AuditRow => ({
        seq,
        time: '2026-01-01T00:00:00.000Z',
        vault: null,
        secret: null,
        principal: null,
        operation: 'Op',
        resultType: 'Success',
        httpStatus: 200,
        record: '{}',
        prevHash: 'p',
        hash: 'h',
      });
      const writes = await Promise.allSettled([
        ...Array.from({ length: 20 }, () => store.secrets.insertVersion(versionRow(vault.id, 'same'))),
        store.secrets.insertVersion(versionRow(vault.id, 'dup', { version: 'a'.repeat(32) })),
        store.secrets.insertVersion(versionRow(vault.id, 'dup', { version: 'a'.repeat(32) })),
        store.audit.append([audit(1), audit(2)]),
      ]);
      assert.deepEqual(
        writes.map((w) => w.status),
        [...Array<string>(21).fill('fulfilled'), 'rejected', 'fulfilled'],
      );
      assert.equal(await store.secrets.countVersions(vault.id), 21);
      assert.equal((await store.secrets.getVersion(vault.id, 'same', null))?.seq, 20);
      assert.equal((await store.audit.last())?.seq, 2);
    } finally {
      await store.close();
    }
  });
});
