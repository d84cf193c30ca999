import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRoleCatalog } from '../src/authorization/role-catalog.js';
import type { RoleDefinitionRow, RoleDefinitionStore } from '../src/storage/store-types.js';

// The role catalog mirrors the stored custom roles (src/authorization/role-catalog.ts).
// Refreshes can overlap on PostgreSQL; a late one must not bring back an older state.

const role = (actions: string[]): RoleDefinitionRow => ({
  id: '0d7c4a3e-5b0f-4e8b-9a55-6f3c2f0e1a11',
  roleName: 'Narrowed',
  description: '',
  permissions: [{ actions, notActions: [], dataActions: [], notDataActions: [] }],
  assignableScopes: ['/'],
  createdAt: 1,
  updatedAt: 1,
  createdBy: 'admin',
});

test('a refresh whose read began first but finished last does not undo a newer one', async () => {
  let stored = [role(['*'])];
  const held: Array<() => void> = [];
  let hold = false;
  const store = {
    async list() {
      const snapshot = stored;
      if (hold) await new Promise<void>((r) => held.push(r));
      return snapshot;
    },
  } as unknown as RoleDefinitionStore;
  const catalog = await createRoleCatalog(store);
  hold = true;
  const slow = catalog.refresh(); // reads the wide role, then waits
  hold = false;
  stored = [role(['Microsoft.KeyVault/vaults/read'])];
  await catalog.refresh(); // reads and applies the narrowed role
  held.forEach((release) => release());
  await slow;
  assert.deepEqual(catalog.get(role([]).id)!.permissions[0]!.actions, ['Microsoft.KeyVault/vaults/read']);
});
