import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vaultRow } from './store-conformance-kit.js';
import type { ConformanceHandle } from './store-conformance-secrets.js';

// Resource groups in the storage contract (see store-conformance.ts): a
// group and the live vaults it holds, under concurrent deletes.

export function describeResourceGroupConformance(h: ConformanceHandle): void {
  describe('resource groups', () => {
    it('creates a group only while its name is free: a second create (any spelling) stores nothing and answers null', async () => {
      const created = await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'New-RG', location: 'local', tags: { a: 'b' } });
      assert.deepEqual(created, { subscriptionId: 'sub-1', name: 'New-RG', location: 'local', tags: { a: 'b' } });
      assert.equal(await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'new-rg', location: 'elsewhere', tags: {} }), null);
      assert.deepEqual(await h.store().resourceGroups.get('sub-1', 'NEW-RG'), created);
      assert.notEqual(await h.store().resourceGroups.create({ subscriptionId: 'sub-2', name: 'new-rg', location: 'local', tags: {} }), null);
    });

    it('updates a group case-insensitively: the first spelling and location stay, tags are replaced; another location, or a group gone, changes nothing', async () => {
      const created = await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'My-RG', location: 'local', tags: { a: 'b' } });
      assert.deepEqual(created, { subscriptionId: 'sub-1', name: 'My-RG', location: 'local', tags: { a: 'b' } });
      assert.equal(await h.store().resourceGroups.update({ subscriptionId: 'sub-1', name: 'my-rg', location: 'elsewhere', tags: { x: 'y' } }), null);
      const again = await h.store().resourceGroups.update({ subscriptionId: 'sub-1', name: 'my-rg', location: 'local', tags: { c: 'd' } });
      assert.deepEqual(again, { subscriptionId: 'sub-1', name: 'My-RG', location: 'local', tags: { c: 'd' } });
      assert.deepEqual(await h.store().resourceGroups.get('sub-1', 'MY-rg'), again);
      assert.equal(await h.store().resourceGroups.get('sub-2', 'my-rg'), null);
      // Never an insert: a group deleted meanwhile stays deleted.
      assert.equal(await h.store().resourceGroups.update({ subscriptionId: 'sub-2', name: 'my-rg', location: 'local', tags: {} }), null);
      assert.equal(await h.store().resourceGroups.get('sub-2', 'my-rg'), null);

      await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'Alpha', location: 'local', tags: {} });
      await h.store().resourceGroups.create({ subscriptionId: 'sub-2', name: 'Other', location: 'local', tags: {} });
      assert.deepEqual((await h.store().resourceGroups.list('sub-1')).map((g) => g.name).sort(), ['Alpha', 'My-RG']);
      assert.deepEqual(await h.store().resourceGroups.list('sub-3'), []);
    });

    it('delete fails while the group holds live vaults, and succeeds once they are deleted', async () => {
      await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'Busy', location: 'local', tags: {} });
      const v = await h.newVault({ subscriptionId: 'sub-1', resourceGroup: 'Busy' });
      assert.equal(await h.store().resourceGroups.delete('sub-1', 'BUSY'), false);
      assert.notEqual(await h.store().resourceGroups.get('sub-1', 'busy'), null);
      // As in Azure, a soft-deleted vault does not hold its group.
      await h.store().vaults.markDeleted(v.id, 10, 20);
      assert.equal(await h.store().resourceGroups.delete('sub-1', 'busy'), true);
      assert.equal(await h.store().resourceGroups.get('sub-1', 'busy'), null);
      assert.equal(await h.store().resourceGroups.delete('sub-1', 'busy'), false, 'absent');
    });

    it('a vault is neither stored nor recovered into a group that is gone', async () => {
      const orphan = vaultRow({ subscriptionId: 'sub-1', resourceGroup: 'never-made' });
      assert.equal(await h.store().vaults.insert(orphan), false);
      assert.equal(await h.store().vaults.getById(orphan.id), null);
      const v = await h.newVault({ subscriptionId: 'sub-1', resourceGroup: 'Short-Lived' });
      await h.store().vaults.markDeleted(v.id, 10, 20);
      assert.equal(await h.store().resourceGroups.delete('sub-1', 'short-lived'), true);
      assert.equal(await h.store().vaults.recover(v.id, 30), false);
      assert.equal((await h.store().vaults.getById(v.id))!.deletedAt, 10);
      await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'short-lived', location: 'local', tags: {} });
      assert.equal(await h.store().vaults.recover(v.id, 30), true);
      assert.equal((await h.store().vaults.getById(v.id))!.deletedAt, null);
    });

    it('deleting a group while vaults are created and recovered in it never leaves a live vault without its group', async () => {
      for (let round = 0; round < 50; round++) {
        const group = `race-${round}`;
        await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: group, location: 'local', tags: {} });
        const deletedOne = await h.newVault({ subscriptionId: 'sub-1', resourceGroup: group });
        await h.store().vaults.markDeleted(deletedOne.id, 10, 20);
        const fresh = vaultRow({ subscriptionId: 'sub-1', resourceGroup: group });
        const [inserted, recovered, groupDeleted] = await Promise.all([
          h.store().vaults.insert(fresh),
          h.store().vaults.recover(deletedOne.id, 30),
          h.store().resourceGroups.delete('sub-1', group),
        ]);
        const groupLeft = (await h.store().resourceGroups.get('sub-1', group)) !== null;
        const live = await h.store().vaults.list({ subscriptionId: 'sub-1', resourceGroup: group });
        assert.equal(groupDeleted, !groupLeft);
        if (!groupLeft) assert.deepEqual(live, [], `round ${round}: live vaults in a deleted group`);
        assert.equal(live.some((x) => x.id === fresh.id), inserted, `round ${round}: insert said ${inserted}`);
        assert.equal(live.some((x) => x.id === deletedOne.id), recovered, `round ${round}: recover said ${recovered}`);
      }
    });
  });
}
