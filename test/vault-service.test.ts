import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VaultKeys } from '../src/crypto/vault-keys.js';
import type { ResourceGroupStore, VaultRow, VaultStore } from '../src/storage/store-types.js';
import { createVaultService } from '../src/vaults/vault-service.js';

const ADMIN = { name: 'admin-app', type: 'Application' } as const;

// The vault service (src/vaults/vault-service.ts) under overlapping requests,
// as PostgreSQL's asynchronous reads allow them. A lookup's read that
// overlapped a change must not be cached over it, or revoked access and
// deleted vaults would live on until the next change to that vault; and two
// changes of one vault's access policies must not undo each other.

const vault = (properties: Record<string, unknown>): VaultRow =>
  ({
    id: 'v1',
    name: 'shared',
    subscriptionId: 'sub',
    resourceGroup: 'rg',
    location: 'local',
    tags: {},
    properties,
    by: ADMIN,
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
      return true;
    },
    async markDeleted(_id: string, at: number, purgeAt: number) {
      current = { ...current, deletedAt: at, scheduledPurgeAt: purgeAt };
      return true;
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
  await vaults.changeAccessPolicies(live!, () => [], ADMIN);
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

test('concurrent access policy changes apply one after another, each to the stored list', async () => {
  const entry = (objectId: string) => ({ tenantId: 't', objectId, permissions: { secrets: ['get'] } });
  let current = vault({ accessPolicies: [entry('x')] });
  // Every read and write takes a turn of the event loop, as a pooled database round trip does.
  const later = () => new Promise<void>((r) => setImmediate(r));
  const store = {
    async getByName() {
      const snapshot = current;
      await later();
      return snapshot;
    },
    async update(_id: string, patch: Partial<VaultRow>) {
      await later();
      current = { ...current, ...patch };
      return true;
    },
  } as unknown as VaultStore;
  const vaults = createVaultService({
    vaults: store,
    resourceGroups: { get: async () => ({ subscriptionId: 'sub', name: 'rg', location: 'local', tags: {} }) } as unknown as ResourceGroupStore,
    vaultKeys: { forget() {} } as unknown as VaultKeys,
    location: 'local',
  });
  const stale = { ...current };
  const ids = (list: Array<{ objectId: string }>) => list.map((e) => e.objectId);
  await Promise.all([
    vaults.changeAccessPolicies(stale, (list) => list.filter((e) => e.objectId !== 'x'), ADMIN),
    vaults.changeAccessPolicies(stale, (list) => [...list, entry('y')], ADMIN),
    vaults.patch(stale, { tags: { by: 'patch' }, properties: {} } as never, ADMIN),
  ]);
  assert.deepEqual(ids(current.properties.accessPolicies as Array<{ objectId: string }>), ['y']);
  assert.deepEqual(current.tags, { by: 'patch' });

  // A PUT that read the vault before a PATCH turned purge protection on (irreversible) keeps it on.
  const beforePatch = { ...current };
  await Promise.all([
    vaults.patch(beforePatch, { properties: { enablePurgeProtection: true } } as never, ADMIN),
    vaults.put({ subscriptionId: 'sub', resourceGroup: 'rg', name: 'shared', body: { location: 'local', properties: { tenantId: 't' } } as never, by: ADMIN }),
  ]);
  assert.equal(current.properties.enablePurgeProtection, true);
});

test('the purge sweep forgets the data keys of the vaults it purged', async () => {
  const forgotten: string[] = [];
  const store = { purgeExpired: async () => ['v1', 'v2'] } as unknown as VaultStore;
  const vaults = createVaultService({ vaults: store, resourceGroups: {} as ResourceGroupStore, vaultKeys: { forget: (id: string) => forgotten.push(id) } as unknown as VaultKeys, location: 'local' });
  assert.equal(await vaults.sweep(1), 2);
  assert.deepEqual(forgotten, ['v1', 'v2']);
});
