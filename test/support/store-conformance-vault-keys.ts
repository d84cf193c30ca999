import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { byKey } from './store-conformance-kit.js';
import type { ConformanceHandle } from './store-conformance-secrets.js';

// Vault data keys in the storage contract (see store-conformance.ts): the
// current key and its earlier generations, renewal and rewrapping.

export function describeVaultKeyConformance(h: ConformanceHandle): void {
  describe('vault data keys', () => {
    const store = () => h.store();
    const newVault = h.newVault;

    it('listKeys covers every vault, deleted ones included; rewrapKey replaces one key', async () => {
      const a = await newVault();
      const b = await newVault();
      await store().vaults.markDeleted(b.id, 1, 2);
      const keys = async () => [...(await store().vaults.listKeys())].sort(byKey((k) => k.id));
      const expected = [a, b].map((v) => ({ id: v.id, generation: 0, dekWrapped: v.dekWrapped, masterKeyId: v.masterKeyId, current: true })).sort(byKey((k) => k.id));
      assert.deepEqual(await keys(), expected);
      const sealed = randomBytes(61);
      await store().vaults.rewrapKey({ id: b.id, generation: 0, dekWrapped: sealed, masterKeyId: 'mk-2' });
      assert.deepEqual(await keys(), expected.map((k) => (k.id === b.id ? { ...k, dekWrapped: sealed, masterKeyId: 'mk-2' } : k)));
      assert.deepEqual((await store().vaults.getById(a.id))?.dekWrapped, a.dekWrapped);
    });

    it('renewKey makes a new generation current and keeps the old one; only from the current generation', async () => {
      const v = await newVault();
      const other = await newVault();
      const next = { dekWrapped: randomBytes(60), masterKeyId: 'mk-2' };
      assert.equal(await store().vaults.renewKey(v.id, 1, next), false, 'not from a generation the vault is not at');
      assert.equal(await store().vaults.renewKey('no-such-vault', 0, next), false);
      assert.equal(await store().vaults.renewKey(v.id, 0, next), true);
      const row = (await store().vaults.getById(v.id))!;
      assert.equal(row.dekGeneration, 1);
      assert.deepEqual(row.dekWrapped, next.dekWrapped);
      assert.equal(row.masterKeyId, 'mk-2');
      assert.deepEqual(await store().vaults.earlierKey(v.id, 0), { id: v.id, generation: 0, dekWrapped: v.dekWrapped, masterKeyId: v.masterKeyId });
      assert.equal(await store().vaults.earlierKey(v.id, 1), null, 'the current key is not an earlier one');
      assert.equal(await store().vaults.earlierKey(other.id, 0), null);
      assert.equal(await store().vaults.renewKey(v.id, 0, { dekWrapped: randomBytes(60), masterKeyId: 'mk-3' }), false, 'a second renewal from 0 loses');
      assert.equal((await store().vaults.getById(v.id))?.masterKeyId, 'mk-2');

      const mine = (await store().vaults.listKeys()).filter((k) => k.id === v.id).sort(byKey((k) => String(k.generation)));
      assert.deepEqual(mine.map((k) => [k.generation, k.masterKeyId, k.current]), [[0, v.masterKeyId, false], [1, 'mk-2', true]]);
      // Rewrapping the earlier generation leaves the current key alone, and the other way round.
      const rewrapped = randomBytes(61);
      await store().vaults.rewrapKey({ id: v.id, generation: 0, dekWrapped: rewrapped, masterKeyId: 'mk-9' });
      assert.deepEqual((await store().vaults.earlierKey(v.id, 0))?.dekWrapped, rewrapped);
      assert.deepEqual((await store().vaults.getById(v.id))?.dekWrapped, next.dekWrapped);
      await store().vaults.rewrapKey({ id: v.id, generation: 1, dekWrapped: rewrapped, masterKeyId: 'mk-9' });
      assert.deepEqual((await store().vaults.getById(v.id))?.dekWrapped, rewrapped);
      assert.equal((await store().vaults.earlierKey(v.id, 0))?.masterKeyId, 'mk-9');

      assert.equal(await store().vaults.purge(v.id), true);
      assert.equal(await store().vaults.earlierKey(v.id, 0), null, 'a purge removes the earlier keys');
      assert.deepEqual((await store().vaults.listKeys()).map((k) => k.id), [other.id]);
    });

    it('concurrent renewals from one generation: exactly one wins', async () => {
      const v = await newVault();
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store().vaults.renewKey(v.id, 0, { dekWrapped: randomBytes(60), masterKeyId: `mk-${i}` })));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await store().vaults.getById(v.id))?.dekGeneration, 1);
      assert.equal((await store().vaults.listKeys()).filter((k) => k.id === v.id).length, 2);
    });
  });
}
