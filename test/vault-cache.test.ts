import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VaultKeys } from '../src/crypto/vault-keys.js';
import type { ResourceGroupStore, VaultRow, VaultStore } from '../src/storage/store-types.js';
import { createVaultService } from '../src/vaults/vault-service.js';

// The data plane's vault cache (src/vaults/vault-service.ts). On PostgreSQL a
// lookup's read can overlap a change; the row it read must not be cached
// over the change, or revoked access and deleted vaults would live on until
// the next change to that vault.

const vault = (properties: Record<string, unknown>): VaultRow =>
  ({
    id: 'v1',
    name: 'shared',
    subscriptionId: 'sub',
    resourceGroup: 'rg',
    location: 'local',
    tags: {},
    properties,
    createdBy: 'admin',
    createdAt: 1,
    updatedAt: 1,
    deletedAt: null,
    scheduledPurgeAt: null,
  }) as unknown as VaultRow;

/** A store whose reads return the row as it was when the read began; holdNextRead makes the next one wait. */
function slowStore(initial: VaultRow) {
  let current = initial;
  let gate: Promise<void> | null = null;
  const store = {
    async getByName() {
      const snapshot = current;
      const wait = gate;
      gate = null;
      if (wait) await wait;
      return snapshot;
    },
    async update(_id: string, patch: Partial<VaultRow>) {
      current = { ...current, ...patch };
    },
    async markDeleted(_id: string, at: number, purgeAt: number) {
      current = { ...current, deletedAt: at, scheduledPurgeAt: purgeAt };
    },
  };
  return {
    store: store as unknown as VaultStore,
    /** Returns the function that lets the held read finish. */
    holdNextRead(): () => void {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return release;
    },
  };
}

function service(store: VaultStore) {
  return createVaultService({ vaults: store, resourceGroups: {} as ResourceGroupStore, vaultKeys: { forget() {} } as unknown as VaultKeys, location: 'local' });
}

test('a lookup that read a vault before its access policies changed does not cache the old policies', async () => {
  const policy = { tenantId: 't', objectId: 'ex-employee', permissions: { secrets: ['get'] } };
  const { store, holdNextRead } = slowStore(vault({ accessPolicies: [policy] }));
  const vaults = service(store);
  const release = holdNextRead();
  const inFlight = vaults.findLive('shared');
  const live = await store.getByName('shared');
  await vaults.setAccessPolicies(live!, []);
  release();
  assert.equal(((await inFlight)!.properties.accessPolicies as unknown[]).length, 1, 'the overlapping lookup saw the row of its time');
  assert.deepEqual((await vaults.findLive('shared'))!.properties.accessPolicies, [], 'the next lookup sees the change');
});

test('a lookup that overlapped a delete does not bring the vault back', async () => {
  const { store, holdNextRead } = slowStore(vault({ enableSoftDelete: true }));
  const vaults = service(store);
  const release = holdNextRead();
  const inFlight = vaults.findLive('shared');
  await vaults.delete((await store.getByName('shared'))!);
  release();
  assert.ok(await inFlight);
  assert.equal(await vaults.findLive('shared'), null);
});

test('without changes, a lookup is cached', async () => {
  let reads = 0;
  const row = vault({});
  const vaults = service({ getByName: async () => (reads++, row) } as unknown as VaultStore);
  await vaults.findLive('shared');
  await vaults.findLive('SHARED');
  assert.equal(reads, 1);
});
