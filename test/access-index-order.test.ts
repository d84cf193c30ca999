import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAccessIndex } from '../src/authorization/access-index.js';
import type { GroupStore, RoleAssignmentRow, RoleAssignmentStore } from '../src/storage/store-types.js';

// The authorization index mirrors group memberships and role assignments
// (src/authorization/access-index.ts). On PostgreSQL two writes on different
// pooled connections can return in either order; the index must end up as
// the store did, whatever order the replies come in.

test('a membership added and removed at once ends as the store has it, whichever reply comes first', async () => {
  const stored = new Set<string>();
  const later = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const groups = {
    allMemberships: async () => [],
    // Each write reaches the store when called, in call order; its reply takes its own time.
    async addMember(g: string, m: string) {
      stored.add(`${g}/${m}`);
      await later(30);
      return true;
    },
    async removeMember(g: string, m: string) {
      const had = stored.delete(`${g}/${m}`);
      await later(1);
      return had;
    },
  } as unknown as GroupStore;
  const index = await createAccessIndex({ assignments: { list: async () => [] } as unknown as RoleAssignmentStore, groups });
  await Promise.all([index.addMember('g', 'm'), index.removeMember('g', 'm')]);
  assert.equal(stored.has('g/m'), false);
  assert.deepEqual(index.identities('m'), ['m'], 'no group membership left in memory either');
});

test('an assignment whose principal was deleted before its turn is not stored (the deletion runs first, then forgetPrincipal)', async () => {
  const principals = new Set(['p']);
  const stored = new Map<string, RoleAssignmentRow>();
  const assignments = {
    list: async () => [],
    insert: async (row: RoleAssignmentRow) => void stored.set(row.id, row),
    deleteForPrincipal: async (id: string) => {
      for (const [k, r] of stored) if (r.principalId === id) stored.delete(k);
      return 0;
    },
  } as unknown as RoleAssignmentStore;
  const index = await createAccessIndex({ assignments, groups: { allMemberships: async () => [] } as unknown as GroupStore });
  const row: RoleAssignmentRow = {
    id: 'a1', scope: '/subscriptions/s', roleDefinitionId: 'r', principalId: 'p', principalType: 'ServicePrincipal',
    description: null, endTime: null, createdAt: 1, updatedAt: 1, createdBy: 'admin',
  };
  // The creation checked the principal before the deletion; its write reaches the index after forgetPrincipal's.
  principals.delete('p');
  const forgotten = index.forgetPrincipal('p');
  const added = index.addAssignment(row, async () => principals.has('p'));
  await forgotten;
  assert.equal(await added, false);
  assert.equal(stored.size, 0);
  assert.deepEqual(index.assignmentsOf('p'), []);
  // And with the principal in place the assignment is stored.
  principals.add('p');
  assert.equal(await index.addAssignment(row, async () => principals.has('p')), true);
  assert.equal(stored.size, 1);
});

test('asking for the identities of principals in no group caches nothing (the id may come from a request filter)', async () => {
  const groups = { allMemberships: async () => [{ groupId: 'g', memberId: 'member' }] } as unknown as GroupStore;
  const index = await createAccessIndex({ assignments: { list: async () => [] } as unknown as RoleAssignmentStore, groups });
  for (let i = 0; i < 1000; i++) assert.deepEqual(index.identities(`stranger-${i}-${'x'.repeat(100)}`), [`stranger-${i}-${'x'.repeat(100)}`]);
  assert.equal(index.identitiesCached(), 0);
  assert.deepEqual(index.identities('MEMBER'), ['member', 'g']);
  assert.equal(index.identitiesCached(), 1);
});
