import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAccessIndex } from '../src/authorization/access-index.js';
import type { GroupStore, RoleAssignmentStore } from '../src/storage/store-types.js';

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
