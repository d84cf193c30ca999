import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadAuditKey, nextAuditKey, renewAuditKey } from '../../src/audit/audit-key.js';
import { isSealed, pointFrom, rowHash, verifyChain, type ChainKey } from '../../src/audit/audit-chain.js';
import type { Keyring } from '../../src/crypto/keyring.js';
import type { Store } from '../../src/storage/store-types.js';
import { auditRecord as record, versionRow } from './store-conformance-kit.js';
import type { ConformanceHandle } from './store-conformance-secrets.js';

// Renewing the audit key (AuditStore.renewKey, through audit-key.ts's
// renewAuditKey as a master key rotation does): the new generation takes
// over at the next record, in order with appends running at the same time,
// and both chain ends move to it.

export function describeAuditRenewalConformance(h: ConformanceHandle & { keyring(): Keyring }): void {
  const store = (): Store => h.store();
  const keys = () => loadAuditKey(store(), h.keyring());
  const verify = async (k?: ChainKey) => verifyChain(await store().audit.ends(), k ?? (await keys()), (from, limit) => store().audit.range(from, limit));
  const all = () => store().audit.range(1, 10_000);

  describe('audit key renewal', () => {
    it('MACs the records from the next one on under the new generation and seals both ends under it; the old key forges nothing after it', async () => {
      await store().audit.append([record('old-1', '2020-01-01T00:00:00.000Z'), record('old-2', '2020-01-02T00:00:00.000Z'), record('before')]);
      assert.equal(await store().audit.deleteBefore('2021-01-01T00:00:00.000Z'), 2);
      const old = await keys();
      assert.equal(await renewAuditKey(store(), h.keyring()), true);
      await store().audit.append([record('after-1')]);
      await store().secrets.insertVersion(versionRow((await h.newVault()).id, 's'), record('after-2'));
      const renewed = await keys();
      assert.deepEqual(renewed.periods.map((p) => [p.generation, p.since]), [[0, 1], [1, 4]]);
      assert.deepEqual(await verify(), { ok: true, checked: 3, head: 5, keyedFrom: 1 });
      const ends = await store().audit.ends();
      assert.deepEqual([ends.anchor.generation, ends.head?.generation], [1, 1]);
      assert.ok(isSealed(renewed.key, 'anchor', ends.anchor) && isSealed(renewed.key, 'head', ends.head));
      const [before, after] = await all();
      assert.equal(before!.hash, rowHash(before!, old.key), 'a record before the renewal keeps its MAC');
      assert.equal(after!.hash, rowHash(after!, renewed.key));
      assert.notEqual(after!.hash, rowHash(after!, old.key));
      // Verified with the old generation only (what the old master key's holder can unwrap): nothing after it passes.
      const oldOnly = await verify(old);
      assert.equal(oldOnly.ok, false);
      // Retention after the renewal seals the anchor it moves under the new generation.
      await store().audit.append([record('later', '2030-01-01T00:00:00.000Z')]);
      assert.equal(await store().audit.deleteBefore('2027-01-01T00:00:00.000Z'), 3);
      const cut = await store().audit.ends();
      assert.equal(cut.anchor.generation, 1);
      assert.ok(isSealed(renewed.key, 'anchor', cut.anchor));
      assert.deepEqual(await verify(), { ok: true, checked: 1, head: 6, keyedFrom: 1 });
    });

    it('renewals in the middle of appends and versions form one unbroken chain; of two renewals of one generation, one is stored', async () => {
      const v = await h.newVault();
      const current = await keys();
      // Both made from the same stored keys, as by two rotations that read them at once.
      const renewals = Array.from({ length: 2 }, () => store().audit.renewKey(current, nextAuditKey(current, h.keyring())));
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => store().audit.append([record(`batch-${i}`)])),
        ...renewals,
        ...Array.from({ length: 10 }, (_, i) => store().secrets.insertVersion(versionRow(v.id, `s-${i % 3}`), record(`set-${i}`))),
      ]);
      assert.deepEqual((await Promise.all(renewals)).sort(), [false, true]);
      await store().audit.append([record('last')]);
      const now = await keys();
      assert.equal(now.generation, current.generation + 1);
      assert.deepEqual(await verify(), { ok: true, checked: 21, head: 21, keyedFrom: 1 });
      // A second rotation: three generations, every record still verifies.
      assert.equal(await renewAuditKey(store(), h.keyring()), true);
      await store().audit.append([record('third')]);
      assert.deepEqual((await keys()).periods.map((p) => p.generation), [0, 1, 2]);
      assert.deepEqual(await verify(), { ok: true, checked: 22, head: 22, keyedFrom: 1 });
    });

    it('an edited head checkpoint stays edited through a renewal', async () => {
      await store().audit.append([record('A'), record('B')]);
      const ends = await store().audit.ends();
      await store().settings.set('auditHead', JSON.stringify({ ...ends.head, seq: 1 }));
      assert.equal(await renewAuditKey(store(), h.keyring()), true);
      await store().audit.append([record('C')]);
      assert.equal(pointFrom(await store().settings.get('auditHead'))?.seq, 1, 'the edited checkpoint is not sealed over');
      assert.deepEqual(await verify(), { ok: false, checked: 0, firstBadSeq: 1, reason: "the chain's head checkpoint is missing or was changed" });
    });
  });
}
