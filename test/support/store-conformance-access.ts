import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { StoreParentGoneError, type Store } from '../../src/storage/store-types.js';
import { assignmentRow as assignment, insertVault, isConflict, principal, vaultRow } from './store-conformance-kit.js';

// Access-control part of the storage contract: group memberships, custom
// role definitions, role assignments.

export function describeAccessConformance(h: { store(): Store }): void {
  describe('groups', () => {
    it('adds, lists and removes members; a second add reports false; deleting a principal drops its memberships', async () => {
      const store = h.store();
      const group = principal({ kind: 'Group', appId: null });
      const member = principal({});
      await store.principals.insert(group);
      await store.principals.insert(member);
      assert.equal(await store.groups.addMember(group.objectId, member.objectId, undefined, 'a1.0.m'), true);
      assert.equal(await store.groups.addMember(group.objectId, member.objectId, undefined, 'a1.0.other'), false);
      assert.deepEqual(await store.groups.listMembers(group.objectId), [member.objectId]);
      assert.deepEqual(await store.groups.allMemberships(), [{ groupId: group.objectId, memberId: member.objectId, mac: 'a1.0.m' }]);
      assert.deepEqual(await store.groups.membershipsOf(group.objectId), [{ groupId: group.objectId, memberId: member.objectId, mac: 'a1.0.m' }]);
      assert.equal(await store.groups.removeMember(group.objectId, member.objectId), true);
      assert.equal(await store.groups.removeMember(group.objectId, member.objectId), false);
      await store.groups.addMember(group.objectId, member.objectId);
      await store.principals.delete(member.objectId);
      assert.deepEqual(await store.groups.allMemberships(), []);
    });
  });

  describe('role definitions', () => {
    it('upserts, lists, gets and deletes custom roles; names are unique case-insensitively', async () => {
      const store = h.store();
      const role = { id: randomUUID(), roleName: 'Reader Plus', description: 'd', permissions: [{ actions: ['*/read'], notActions: [], dataActions: [], notDataActions: [] }], assignableScopes: ['/subscriptions/s'], createdAt: 1, updatedAt: 1, createdBy: 'a', mac: 'a1.0.r1' };
      await store.roleDefinitions.upsert(role);
      assert.deepEqual(await store.roleDefinitions.get(role.id.toUpperCase()), role);
      await store.roleDefinitions.upsert({ ...role, description: 'changed', updatedAt: 2, mac: 'a1.0.r2' });
      assert.equal((await store.roleDefinitions.get(role.id))?.description, 'changed');
      assert.equal((await store.roleDefinitions.get(role.id))?.mac, 'a1.0.r2');
      await assert.rejects(store.roleDefinitions.upsert({ ...role, id: randomUUID(), roleName: 'READER PLUS' }), isConflict('exists'));
      assert.equal((await store.roleDefinitions.list()).length, 1);
      assert.equal(await store.roleDefinitions.delete(role.id), true);
      assert.equal(await store.roleDefinitions.delete(role.id), false);
      assert.equal(await store.roleDefinitions.get(role.id), null);
    });
  });

  describe('role assignments', () => {
    it('inserts, gets, lists and deletes; ids are unique and compare case-insensitively', async () => {
      const store = h.store();
      const a = assignment({ description: 'why', endTime: 50 });
      await store.roleAssignments.insert(a);
      assert.deepEqual(await store.roleAssignments.get(a.id.toUpperCase()), a);
      await assert.rejects(store.roleAssignments.insert(assignment({ id: a.id })), isConflict('exists'));
      assert.deepEqual(await store.roleAssignments.list(), [a]);
      assert.equal(await store.roleAssignments.delete(a.id), true);
      assert.equal(await store.roleAssignments.delete(a.id), false);
    });

    it('refuses a second assignment of one grant (principal, scope, role) under another id, naming the first', async () => {
      const store = h.store();
      const a = assignment({ roleDefinitionId: randomUUID() });
      await store.roleAssignments.insert(a);
      const twinOf = (row: typeof a) => (err: unknown) => isConflict('exists')(err) && (err as { existing?: string }).existing === row.id;
      // Scopes compare case-insensitively; a role may be named by its GUID or its full id.
      await assert.rejects(store.roleAssignments.insert(assignment({ scope: a.scope.toUpperCase(), roleDefinitionId: a.roleDefinitionId, principalId: a.principalId })), twinOf(a));
      await assert.rejects(
        store.roleAssignments.insert(assignment({ roleDefinitionId: `/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/${a.roleDefinitionId.toUpperCase()}`, principalId: a.principalId })),
        twinOf(a),
      );
      // Another role, scope or principal is another grant.
      await store.roleAssignments.insert(assignment({ principalId: a.principalId }));
      await store.roleAssignments.insert(assignment({ scope: `${a.scope}2`, roleDefinitionId: a.roleDefinitionId, principalId: a.principalId }));
      await store.roleAssignments.insert(assignment({ roleDefinitionId: a.roleDefinitionId }));
      assert.equal((await store.roleAssignments.list()).length, 4);
    });

    it('a custom role is not deleted while an assignment of it is stored; an assignment of a custom role needs the role stored', async () => {
      const store = h.store();
      const role = { id: randomUUID(), roleName: `Assigned ${randomUUID()}`, description: 'd', permissions: [], assignableScopes: ['/subscriptions/s'], createdAt: 1, updatedAt: 1, createdBy: 'a' };
      await store.roleDefinitions.upsert(role);
      // By its GUID, as coffer stores it, or by its full id (an older row).
      for (const roleDefinitionId of [role.id, `/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/${role.id.toUpperCase()}`]) {
        const a = assignment({ roleDefinitionId });
        await store.roleAssignments.insert(a, undefined, { customRole: true });
        await assert.rejects(store.roleDefinitions.delete(role.id), isConflict('changed'));
        assert.notEqual(await store.roleDefinitions.get(role.id), null);
        await store.roleAssignments.delete(a.id);
      }
      assert.equal(await store.roleDefinitions.delete(role.id), true);
      assert.equal(await store.roleDefinitions.delete(role.id), false);
      await assert.rejects(store.roleAssignments.insert(assignment({ roleDefinitionId: role.id }), undefined, { customRole: true }), StoreParentGoneError);
      // A built-in role is not stored: without customRole, nothing is looked for.
      await store.roleAssignments.insert(assignment({ roleDefinitionId: role.id }));
    });

    it('an assignment at a resource group or vault (or under it) needs them stored (any spelling of their names)', async () => {
      const store = h.store();
      const at = { subscriptionId: 'sub-ra', resourceGroup: 'Granted-RG' };
      await assert.rejects(store.roleAssignments.insert(assignment(), undefined, { scope: at }), StoreParentGoneError);
      await store.resourceGroups.create({ subscriptionId: at.subscriptionId, name: at.resourceGroup, location: 'local', tags: {} });
      await store.roleAssignments.insert(assignment(), undefined, { scope: { ...at, resourceGroup: 'granted-rg' } });
      const vault = { ...at, vault: 'Granted-Vault' };
      await assert.rejects(store.roleAssignments.insert(assignment(), undefined, { scope: vault }), StoreParentGoneError);
      const row = await insertVault(store, vaultRow({ name: vault.vault, subscriptionId: at.subscriptionId, resourceGroup: at.resourceGroup }));
      // In another group of the subscription, the vault is not the one meant.
      await assert.rejects(store.roleAssignments.insert(assignment(), undefined, { scope: { ...vault, resourceGroup: 'other-rg' } }), StoreParentGoneError);
      await store.roleAssignments.insert(assignment(), undefined, { scope: { ...vault, vault: 'granted-vault' } });
      // Soft-deleted, it still exists (recovering it brings its access back); purged, it does not.
      assert.equal(await store.vaults.markDeleted(row.id, 10, 20), true);
      await store.roleAssignments.insert(assignment(), undefined, { scope: vault });
      assert.equal(await store.vaults.purge(row.id), true);
      await assert.rejects(store.roleAssignments.insert(assignment(), undefined, { scope: vault }), StoreParentGoneError);
      assert.equal((await store.roleAssignments.list()).length, 3);
    });

    it('updates description, end time and seal only over the seal it was read with; ids compare case-insensitively', async () => {
      const store = h.store();
      const a = assignment({ description: 'first', endTime: 500, updatedAt: 1, mac: 'a1.0.first' });
      await store.roleAssignments.insert(a);
      const change = { description: 'second', endTime: 900, updatedAt: 7, mac: 'a1.0.second' };
      const updated = await store.roleAssignments.update({ ...a, id: a.id.toUpperCase() }, change);
      assert.deepEqual(updated, { ...a, ...change });
      assert.deepEqual(await store.roleAssignments.get(a.id), { ...a, ...change });
      // Read before that change (its old seal): refused, nothing changed.
      assert.equal(await store.roleAssignments.update(a, { description: 'lost', endTime: null, updatedAt: 8, mac: 'a1.0.lost' }), null);
      assert.deepEqual(await store.roleAssignments.get(a.id), { ...a, ...change });
      // Back to no end time and no description; a row stored without a seal is matched by a null seal.
      assert.deepEqual(await store.roleAssignments.update({ ...a, ...change }, { description: null, endTime: null, updatedAt: 9, mac: 'a1.0.third' }), { ...a, description: null, endTime: null, updatedAt: 9, mac: 'a1.0.third' });
      const bare = assignment({ mac: null });
      await store.roleAssignments.insert(bare);
      assert.equal((await store.roleAssignments.update(bare, { description: 'd', endTime: null, updatedAt: 2, mac: 'a1.0.b' }))?.mac, 'a1.0.b');
      assert.equal(await store.roleAssignments.update(assignment(), { description: 'none', endTime: null, updatedAt: 2, mac: 'a1.0.x' }), null, 'no such assignment');
    });

    it('deletes expired assignments and returns them; deletes every assignment of a principal', async () => {
      const store = h.store();
      const ended = assignment({ endTime: 10 });
      const later = assignment({ endTime: 1000 });
      const forever = assignment();
      for (const a of [ended, later, forever]) await store.roleAssignments.insert(a);
      assert.deepEqual((await store.roleAssignments.deleteExpired(100)).map((a) => a.id), [ended.id]);
      assert.equal((await store.roleAssignments.list()).length, 2);
      const p = randomUUID();
      await store.roleAssignments.insert(assignment({ principalId: p }));
      await store.roleAssignments.insert(assignment({ principalId: p }));
      assert.equal(await store.roleAssignments.deleteForPrincipal(p), 2);
      assert.equal((await store.roleAssignments.list()).length, 2);
    });
  });

  describe('seals', () => {
    // bindAuthorizationData seals rows stored before seals existed: only those, never over a seal written meanwhile.
    it('setMac seals a row stored without a seal, and never replaces a seal', async () => {
      const store = h.store();
      const bare = assignment({ mac: null });
      const sealedRow = assignment();
      await store.roleAssignments.insert(bare);
      await store.roleAssignments.insert(sealedRow);
      assert.equal(await store.roleAssignments.setMac(bare.id.toUpperCase(), 'a1.0.bound'), true);
      assert.equal(await store.roleAssignments.setMac(bare.id, 'a1.0.again'), false);
      assert.equal(await store.roleAssignments.setMac(sealedRow.id, 'a1.0.over'), false);
      assert.equal(await store.roleAssignments.setMac(randomUUID(), 'a1.0.none'), false);
      assert.equal((await store.roleAssignments.get(bare.id))?.mac, 'a1.0.bound');
      // With the seal expected (a renewal sealing a row again): only over exactly that seal.
      assert.equal(await store.roleAssignments.setMac(bare.id, 'a1.1.renewed', 'a1.0.other'), false);
      assert.equal(await store.roleAssignments.setMac(bare.id, 'a1.1.renewed', 'a1.0.bound'), true);
      assert.equal((await store.roleAssignments.get(bare.id))?.mac, 'a1.1.renewed');
      assert.equal((await store.roleAssignments.get(sealedRow.id))?.mac, sealedRow.mac);

      const role = { id: randomUUID(), roleName: `Bare ${randomUUID()}`, description: 'd', permissions: [], assignableScopes: ['/'], createdAt: 1, updatedAt: 1, createdBy: 'a' };
      await store.roleDefinitions.upsert(role);
      assert.equal((await store.roleDefinitions.get(role.id))?.mac, null);
      assert.equal(await store.roleDefinitions.setMac(role.id, 'a1.0.role'), true);
      assert.equal(await store.roleDefinitions.setMac(role.id, 'a1.0.over'), false);
      assert.equal((await store.roleDefinitions.get(role.id))?.mac, 'a1.0.role');
      assert.equal(await store.roleDefinitions.setMac(role.id, 'a1.1.role', 'a1.0.role'), true);
      assert.equal((await store.roleDefinitions.get(role.id))?.mac, 'a1.1.role');

      const group = principal({ kind: 'Group', appId: null });
      const member = principal({});
      await store.principals.insert(group);
      await store.principals.insert(member);
      await store.groups.addMember(group.objectId, member.objectId);
      assert.equal(await store.groups.setMac(group.objectId, member.objectId, 'a1.0.member'), true);
      assert.equal(await store.groups.setMac(group.objectId, member.objectId, 'a1.0.over'), false);
      assert.equal(await store.groups.setMac(group.objectId, member.objectId, 'a1.1.member', null), false);
      assert.equal(await store.groups.setMac(group.objectId, member.objectId, 'a1.1.member', 'a1.0.member'), true);
      assert.deepEqual(await store.groups.membershipsOf(group.objectId), [{ groupId: group.objectId, memberId: member.objectId, mac: 'a1.1.member' }]);
    });

    it('setMac seals a vault stored without a seal, and never replaces a seal', async () => {
      const store = h.store();
      const bare = await insertVault(store, vaultRow({ mac: null }));
      const sealed = await insertVault(store, vaultRow());
      assert.equal(await store.vaults.setMac(bare.id, 'a1.0.bound'), true);
      assert.equal(await store.vaults.setMac(bare.id, 'a1.0.again'), false);
      assert.equal(await store.vaults.setMac(sealed.id, 'a1.0.over'), false);
      assert.equal((await store.vaults.getById(bare.id))?.mac, 'a1.0.bound');
      assert.equal((await store.vaults.getByName(sealed.name))?.mac, sealed.mac);
      assert.equal(await store.vaults.setMac(sealed.id, 'a1.1.renewed', 'a1.0.other'), false);
      assert.equal(await store.vaults.setMac(sealed.id, 'a1.1.renewed', sealed.mac), true);
      assert.equal((await store.vaults.getById(sealed.id))?.mac, 'a1.1.renewed');
    });
  });
}
