import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  StoreConflictError,
  type ClientSecretRow,
  type Page,
  type PrincipalRow,
  type SecretVersionRow,
  type SigningKeyRow,
  type Store,
  type VaultRow,
} from '../../src/storage/store-types.js';

// The storage contract as executable checks, written against the Store
// interface only. Every implementation (SQLite now, PostgreSQL next) runs this
// same suite. Each test gets a fresh, empty store, so counts are exact.
// Where the interface leaves an order unspecified, results are compared sorted.

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

type NewVersion = Omit<SecretVersionRow, 'seq'>;

const hex32 = (): string => randomBytes(16).toString('hex');
const byKey = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

export function vaultRow(overrides: Partial<VaultRow> = {}): VaultRow {
  return {
    id: randomUUID(),
    name: `v-${randomBytes(4).toString('hex')}`,
    subscriptionId: 'sub-1',
    resourceGroup: 'rg-1',
    location: 'local',
    tags: { env: 'test' },
    properties: { enableSoftDelete: true, softDeleteRetentionInDays: 7, sku: { family: 'A', name: 'standard' } },
    createdBy: 'creator-oid',
    createdAt: 1000,
    updatedAt: 1000,
    deletedAt: null,
    scheduledPurgeAt: null,
    dekWrapped: randomBytes(60),
    masterKeyId: 'mk-1',
    ...overrides,
  };
}

export function versionRow(vaultId: string, name: string, overrides: Partial<NewVersion> = {}): NewVersion {
  return {
    vaultId,
    name,
    version: hex32(),
    ciphertext: randomBytes(48),
    contentType: null,
    tags: null,
    enabled: true,
    nbf: null,
    exp: null,
    created: 2000,
    updated: 2000,
    ...overrides,
  };
}

const principal = (overrides: Partial<PrincipalRow>): PrincipalRow => ({
  objectId: randomUUID(),
  kind: 'ServicePrincipal',
  displayName: 'p',
  appId: null,
  upn: null,
  passwordHash: null,
  createdAt: 1,
  ...overrides,
});

const isConflict = (reason: 'exists' | 'deleted') => (err: unknown) => {
  assert.ok(err instanceof StoreConflictError, `expected StoreConflictError, got ${String(err)}`);
  assert.equal(err.reason, reason);
  return true;
};

/** Follows `next` to the end, checking that no page is empty or oversized. */
async function collect<T>(fetch: (after: string | null) => Promise<Page<T>>, limit: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let after: string | null = null;
  let pages = 0;
  do {
    const page: Page<T> = await fetch(after);
    pages++;
    assert.ok(page.items.length <= limit, `page of ${page.items.length} exceeds limit ${limit}`);
    if (page.next !== null) assert.ok(page.items.length > 0, 'a page with a continuation must not be empty');
    items.push(...page.items);
    after = page.next;
    assert.ok(pages < 1000, 'paging does not terminate');
  } while (after !== null);
  return { items, pages };
}

export function runStoreConformance(label: string, makeStore: StoreFactory): void {
  describe(`store conformance: ${label}`, () => {
    let store: Store;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    async function newVault(overrides: Partial<VaultRow> = {}): Promise<VaultRow> {
      const v = vaultRow(overrides);
      await store.vaults.insert(v);
      return v;
    }

    describe('settings', () => {
      it('get, set and setIfAbsent (which keeps the stored value)', async () => {
        assert.equal(await store.settings.get('tenantId'), null);
        assert.equal(await store.settings.setIfAbsent('tenantId', 'first'), 'first');
        assert.equal(await store.settings.setIfAbsent('tenantId', 'second'), 'first');
        assert.equal(await store.settings.get('tenantId'), 'first');
        await store.settings.set('tenantId', 'third');
        assert.equal(await store.settings.get('tenantId'), 'third');
        assert.equal(await store.settings.setIfAbsent('tenantId', 'fourth'), 'third');
        assert.equal(await store.settings.get('other'), null);
      });
    });

    describe('principals', () => {
      it('stores principals and finds them by id, appId and UPN (case-insensitively, keeping the spelling)', async () => {
        const appId = 'C0FFEE00-0000-4000-8000-0000000000A1';
        const sp = principal({ kind: 'ServicePrincipal', displayName: 'connector', appId, createdAt: 10 });
        const user = principal({ kind: 'User', displayName: 'Alice', upn: 'Alice@Example.com', passwordHash: 'scrypt$x', createdAt: 11 });
        const group = principal({ kind: 'Group', displayName: 'admins', createdAt: 12 });
        for (const p of [sp, user, group]) await store.principals.insert(p);

        assert.deepEqual(await store.principals.get(sp.objectId), sp);
        assert.deepEqual(await store.principals.get(user.objectId), user);
        assert.equal(await store.principals.get(randomUUID()), null);
        assert.deepEqual(await store.principals.getByAppId(appId), sp);
        assert.deepEqual(await store.principals.getByAppId(appId.toLowerCase()), sp, 'appIds are GUIDs: case-insensitive');
        assert.equal(await store.principals.getByAppId(randomUUID()), null);
        assert.deepEqual(await store.principals.getByUpn('alice@EXAMPLE.COM'), user);
        assert.equal(await store.principals.getByUpn('bob@example.com'), null);

        const ids = (rows: PrincipalRow[]) => rows.map((p) => p.objectId).sort();
        assert.deepEqual(ids(await store.principals.list()), ids([sp, user, group]));
        assert.deepEqual(ids(await store.principals.list('User')), [user.objectId]);
        assert.deepEqual(ids(await store.principals.list('ServicePrincipal')), [sp.objectId]);
        assert.deepEqual(ids(await store.principals.list('Group')), [group.objectId]);
      });

      it('refuses a duplicate objectId, appId or UPN with StoreConflictError("exists")', async () => {
        const sp = principal({ appId: randomUUID() });
        const user = principal({ kind: 'User', upn: 'dup@example.com' });
        await store.principals.insert(sp);
        await store.principals.insert(user);
        await assert.rejects(store.principals.insert(principal({ objectId: sp.objectId, appId: randomUUID() })), isConflict('exists'));
        await assert.rejects(store.principals.insert(principal({ appId: sp.appId!.toUpperCase() })), isConflict('exists'));
        await assert.rejects(store.principals.insert(principal({ kind: 'User', upn: 'DUP@example.com' })), isConflict('exists'));
        assert.equal((await store.principals.list()).length, 2);
      });

      it('adds, lists and removes client secrets; deleting a principal removes its secrets', async () => {
        const sp = principal({ appId: randomUUID() });
        const other = principal({ appId: randomUUID() });
        await store.principals.insert(sp);
        await store.principals.insert(other);
        const secret = (over: Partial<ClientSecretRow>): ClientSecretRow => ({
          keyId: randomUUID(), objectId: sp.objectId, secretHash: `sha256$${hex32()}`, hint: 'abc', displayName: null, startAt: 100, endAt: 200, ...over,
        });
        const a = secret({ displayName: 'rbac' });
        const b = secret({ startAt: 150, endAt: 900 });
        const c = secret({ objectId: other.objectId });
        for (const s of [a, b, c]) await store.principals.addClientSecret(s);
        const sorted = (rows: ClientSecretRow[]) => [...rows].sort(byKey((s) => s.keyId));
        assert.deepEqual(sorted(await store.principals.listClientSecrets(sp.objectId)), sorted([a, b]));
        assert.deepEqual(await store.principals.listClientSecrets(randomUUID()), []);

        assert.equal(await store.principals.removeClientSecret(sp.objectId, randomUUID()), false);
        assert.equal(await store.principals.removeClientSecret(sp.objectId, c.keyId), false, "another principal's secret");
        assert.equal(await store.principals.removeClientSecret(sp.objectId, a.keyId), true);
        assert.equal(await store.principals.removeClientSecret(sp.objectId, a.keyId), false);
        assert.deepEqual(await store.principals.listClientSecrets(sp.objectId), [b]);

        assert.equal(await store.principals.delete(sp.objectId), true);
        assert.equal(await store.principals.delete(sp.objectId), false);
        assert.equal(await store.principals.get(sp.objectId), null);
        assert.equal(await store.principals.getByAppId(sp.appId!), null);
        assert.deepEqual(await store.principals.listClientSecrets(sp.objectId), []);
        assert.deepEqual(await store.principals.listClientSecrets(other.objectId), [c]);
      });
    });

    describe('signing keys', () => {
      it('lists, rewraps and retires signing keys, one key at a time', async () => {
        const key = (kid: string, createdAt: number): SigningKeyRow => ({
          kid, publicJwk: JSON.stringify({ kid, kty: 'RSA' }), privateSealed: randomBytes(32), masterKeyId: 'mk-1', createdAt, retiredAt: null,
        });
        const k1 = key('kid-1', 5);
        const k2 = key('kid-2', 6);
        await store.signingKeys.insert(k1);
        await store.signingKeys.insert(k2);
        const sorted = async () => [...(await store.signingKeys.list())].sort(byKey((k) => k.kid));
        assert.deepEqual(await sorted(), [k1, k2]);

        const sealed = randomBytes(40);
        await store.signingKeys.rewrap('kid-1', sealed, 'mk-2');
        await store.signingKeys.retire('kid-2', 9);
        assert.deepEqual(await sorted(), [
          { ...k1, privateSealed: sealed, masterKeyId: 'mk-2' },
          { ...k2, retiredAt: 9 },
        ]);
      });
    });

    describe('refresh tokens', () => {
      it('take returns the row once (single use)', async () => {
        const row = { tokenHash: hex32(), objectId: 'oid', clientId: 'cid', scope: 'https://vault.localhost', expiresAt: 100 };
        await store.refreshTokens.insert(row);
        assert.deepEqual(await store.refreshTokens.take(row.tokenHash), row);
        assert.equal(await store.refreshTokens.take(row.tokenHash), null);
        assert.equal(await store.refreshTokens.take(hex32()), null);
      });

      it('deleteExpired removes only tokens whose expiry is before now', async () => {
        const row = (tokenHash: string, expiresAt: number) => ({ tokenHash, objectId: 'o', clientId: 'c', scope: 's', expiresAt });
        for (const r of [row('old', 10), row('edge', 50), row('new', 100)]) await store.refreshTokens.insert(r);
        assert.equal(await store.refreshTokens.deleteExpired(50), 1);
        assert.equal(await store.refreshTokens.take('old'), null);
        assert.equal((await store.refreshTokens.take('edge'))?.expiresAt, 50, 'still valid at its expiry second');
        assert.equal((await store.refreshTokens.take('new'))?.expiresAt, 100);
        assert.equal(await store.refreshTokens.deleteExpired(1000), 0);
      });
    });

    describe('resource groups', () => {
      it('upserts case-insensitively: the first spelling and location stay, tags are replaced', async () => {
        const created = await store.resourceGroups.upsert({ subscriptionId: 'sub-1', name: 'My-RG', location: 'local', tags: { a: 'b' } });
        assert.deepEqual(created, { subscriptionId: 'sub-1', name: 'My-RG', location: 'local', tags: { a: 'b' } });
        const again = await store.resourceGroups.upsert({ subscriptionId: 'sub-1', name: 'my-rg', location: 'elsewhere', tags: { c: 'd' } });
        assert.deepEqual(again, { subscriptionId: 'sub-1', name: 'My-RG', location: 'local', tags: { c: 'd' } });
        assert.deepEqual(await store.resourceGroups.get('sub-1', 'MY-rg'), again);
        assert.equal(await store.resourceGroups.get('sub-2', 'my-rg'), null);

        await store.resourceGroups.upsert({ subscriptionId: 'sub-1', name: 'Alpha', location: 'local', tags: {} });
        await store.resourceGroups.upsert({ subscriptionId: 'sub-2', name: 'Other', location: 'local', tags: {} });
        assert.deepEqual((await store.resourceGroups.list('sub-1')).map((g) => g.name).sort(), ['Alpha', 'My-RG']);
        assert.deepEqual(await store.resourceGroups.list('sub-3'), []);
      });

      it('delete fails while the group holds live vaults, and succeeds once they are deleted', async () => {
        await store.resourceGroups.upsert({ subscriptionId: 'sub-1', name: 'Busy', location: 'local', tags: {} });
        const v = await newVault({ subscriptionId: 'sub-1', resourceGroup: 'Busy' });
        assert.equal(await store.resourceGroups.delete('sub-1', 'BUSY'), false);
        assert.notEqual(await store.resourceGroups.get('sub-1', 'busy'), null);
        // As in Azure, a soft-deleted vault does not hold its group.
        await store.vaults.markDeleted(v.id, 10, 20);
        assert.equal(await store.resourceGroups.delete('sub-1', 'busy'), true);
        assert.equal(await store.resourceGroups.get('sub-1', 'busy'), null);
        assert.equal(await store.resourceGroups.delete('sub-1', 'busy'), false, 'absent');
      });
    });

    describe('vaults', () => {
      it('stores every field and finds a vault by id or by name, case-insensitively', async () => {
        const v = await newVault({ name: 'My-Vault', tags: { a: '1' }, properties: { nested: { list: [1, 'two', null] } } });
        assert.deepEqual(await store.vaults.getById(v.id), v);
        assert.deepEqual(await store.vaults.getByName('my-VAULT'), v);
        assert.equal(await store.vaults.getByName('other'), null);
        assert.equal(await store.vaults.getById(randomUUID()), null);
      });

      it('a name is taken while its vault is live or soft-deleted, until purged', async () => {
        const v = await newVault({ name: 'Unique-Vault' });
        await assert.rejects(store.vaults.insert(vaultRow({ name: 'unique-vault' })), isConflict('exists'));
        await store.vaults.markDeleted(v.id, 10, 20);
        await assert.rejects(store.vaults.insert(vaultRow({ name: 'UNIQUE-VAULT' })), isConflict('exists'));
        assert.equal((await store.vaults.getByName('unique-vault'))?.deletedAt, 10, 'getByName returns deleted vaults too');
        await store.vaults.purge(v.id);
        const reused = await newVault({ name: 'unique-VAULT' });
        assert.deepEqual(await store.vaults.getByName('Unique-Vault'), reused);
      });

      it('lists live vaults, filtered by subscription and resource group (case-insensitive)', async () => {
        const a = await newVault({ subscriptionId: 'sub-1', resourceGroup: 'Group-A' });
        const b = await newVault({ subscriptionId: 'sub-1', resourceGroup: 'group-b' });
        const c = await newVault({ subscriptionId: 'sub-2', resourceGroup: 'group-a' });
        const gone = await newVault({ subscriptionId: 'sub-1', resourceGroup: 'group-a' });
        await store.vaults.markDeleted(gone.id, 10, 20);
        const ids = (rows: VaultRow[]) => rows.map((x) => x.id).sort();
        assert.deepEqual(ids(await store.vaults.list({})), ids([a, b, c]));
        assert.deepEqual(ids(await store.vaults.list({ subscriptionId: 'sub-1' })), ids([a, b]));
        assert.deepEqual(ids(await store.vaults.list({ subscriptionId: 'sub-1', resourceGroup: 'GROUP-A' })), [a.id]);
        assert.deepEqual(ids(await store.vaults.list({ resourceGroup: 'group-a' })), ids([a, c]));
        assert.deepEqual(await store.vaults.list({ subscriptionId: 'sub-9' }), []);
      });

      it('soft delete, listDeleted and recover', async () => {
        const v = await newVault({ subscriptionId: 'sub-1' });
        await newVault({ subscriptionId: 'sub-1' });
        await store.vaults.markDeleted(v.id, 10, 20);
        const deleted = { ...v, deletedAt: 10, scheduledPurgeAt: 20 };
        assert.deepEqual(await store.vaults.listDeleted('sub-1'), [deleted]);
        assert.deepEqual(await store.vaults.listDeleted('sub-2'), []);
        assert.deepEqual(await store.vaults.getById(v.id), deleted);
        await store.vaults.recover(v.id, 11);
        assert.deepEqual(await store.vaults.getById(v.id), { ...v, updatedAt: 11 });
        assert.deepEqual(await store.vaults.listDeleted('sub-1'), []);
        assert.equal((await store.vaults.list({})).length, 2);
      });

      it('update changes only the given fields', async () => {
        const v = await newVault();
        await store.vaults.update(v.id, { tags: { t: '1' }, updatedAt: 50 });
        assert.deepEqual(await store.vaults.getById(v.id), { ...v, tags: { t: '1' }, updatedAt: 50 });
        await store.vaults.update(v.id, { properties: { enableRbacAuthorization: true }, updatedAt: 60 });
        assert.deepEqual(await store.vaults.getById(v.id), { ...v, tags: { t: '1' }, properties: { enableRbacAuthorization: true }, updatedAt: 60 });
        await store.vaults.update(v.id, { tags: {}, properties: {}, updatedAt: 70 });
        assert.deepEqual(await store.vaults.getById(v.id), { ...v, tags: {}, properties: {}, updatedAt: 70 });
      });

      it('purge removes the vault and every secret in it, and nothing else', async () => {
        const v = await newVault();
        const other = await newVault();
        await store.secrets.insertVersion(versionRow(v.id, 'a'));
        await store.secrets.insertVersion(versionRow(v.id, 'a'));
        await store.secrets.insertVersion(versionRow(v.id, 'b'));
        await store.secrets.markDeleted(v.id, 'b', { deletedAt: 1, scheduledPurgeAt: 99 });
        const kept = await store.secrets.insertVersion(versionRow(other.id, 'a'));
        await store.vaults.purge(v.id);
        assert.equal(await store.vaults.getById(v.id), null);
        assert.equal(await store.secrets.countVersions(v.id), 0);
        assert.equal(await store.secrets.getSummary(v.id, 'a'), null);
        assert.equal(await store.secrets.getSummary(v.id, 'b'), null);
        assert.deepEqual(await store.secrets.getVersion(other.id, 'a', null), kept);
        assert.deepEqual((await store.vaults.list({})).map((x) => x.id), [other.id]);
      });

      it('purgeExpired purges deleted vaults (with their secrets) at or after their scheduled time only', async () => {
        const due = await newVault();
        const edge = await newVault();
        const later = await newVault();
        const live = await newVault();
        await store.secrets.insertVersion(versionRow(due.id, 'inside'));
        await store.secrets.insertVersion(versionRow(live.id, 'inside'));
        await store.vaults.markDeleted(due.id, 1, 100);
        await store.vaults.markDeleted(edge.id, 1, 500);
        await store.vaults.markDeleted(later.id, 1, 10_000);
        assert.equal(await store.vaults.purgeExpired(99), 0);
        assert.equal(await store.vaults.purgeExpired(500), 2);
        assert.equal(await store.vaults.getById(due.id), null);
        assert.equal(await store.vaults.getById(edge.id), null);
        assert.equal(await store.secrets.countVersions(due.id), 0);
        assert.equal((await store.vaults.getById(later.id))?.scheduledPurgeAt, 10_000);
        assert.equal((await store.vaults.getById(live.id))?.deletedAt, null);
        assert.equal(await store.secrets.countVersions(live.id), 1);
        assert.equal(await store.vaults.purgeExpired(500), 0);
      });

      it('listKeys covers every vault, deleted ones included; rewrapKey replaces one key', async () => {
        const a = await newVault();
        const b = await newVault();
        await store.vaults.markDeleted(b.id, 1, 2);
        const keys = async () => [...(await store.vaults.listKeys())].sort(byKey((k) => k.id));
        const expected = [a, b].map((v) => ({ id: v.id, dekWrapped: v.dekWrapped, masterKeyId: v.masterKeyId })).sort(byKey((k) => k.id));
        assert.deepEqual(await keys(), expected);
        const sealed = randomBytes(61);
        await store.vaults.rewrapKey(b.id, sealed, 'mk-2');
        assert.deepEqual(await keys(), expected.map((k) => (k.id === b.id ? { id: b.id, dekWrapped: sealed, masterKeyId: 'mk-2' } : k)));
        assert.deepEqual((await store.vaults.getById(a.id))?.dekWrapped, a.dekWrapped);
      });
    });

    describe('secrets', () => {
      it('stores every field of a version and returns it with its seq', async () => {
        const v = await newVault();
        const input = versionRow(v.id, 'full', { contentType: 'application/json', tags: { k: 'v' }, enabled: false, nbf: 10, exp: 20, created: 5, updated: 6 });
        const stored = await store.secrets.insertVersion(input);
        assert.deepEqual(stored, { ...input, seq: 1 });
        assert.deepEqual(await store.secrets.getVersion(v.id, 'full', input.version), stored);
        assert.deepEqual(await store.secrets.getVersion(v.id, 'full', null), stored);
        const { ciphertext: _c, ...meta } = stored;
        assert.deepEqual(await store.secrets.getSummary(v.id, 'full'), { ...meta, deleted: null });
      });

      it('the latest version has the highest seq, whatever the order of version ids', async () => {
        const v = await newVault();
        const first = await store.secrets.insertVersion(versionRow(v.id, 'Db-Password', { version: 'f'.repeat(32) }));
        const second = await store.secrets.insertVersion(versionRow(v.id, 'db-password', { version: '0'.repeat(32) }));
        const third = await store.secrets.insertVersion(versionRow(v.id, 'DB-PASSWORD', { version: '8'.repeat(32) }));
        assert.deepEqual([first.seq, second.seq, third.seq], [1, 2, 3]);
        assert.equal(third.name, 'Db-Password', 'the first spelling of the name is kept');
        assert.deepEqual(await store.secrets.getVersion(v.id, 'db-PASSWORD', null), third);
        assert.deepEqual(await store.secrets.getVersion(v.id, 'db-password', first.version), first);
        assert.equal((await store.secrets.getSummary(v.id, 'Db-Password'))?.version, third.version);
        assert.equal(await store.secrets.getVersion(v.id, 'db-password', '1'.repeat(32)), null);
        assert.equal(await store.secrets.getVersion(v.id, 'other', null), null);
        assert.equal(await store.secrets.getSummary(v.id, 'other'), null);
        assert.deepEqual((await store.secrets.allVersions(v.id, 'db-password')).map((r) => r.seq), [1, 2, 3], 'oldest first');
      });

      it('the same name in two vaults is two secrets', async () => {
        const a = await newVault();
        const b = await newVault();
        await store.secrets.insertVersion(versionRow(a.id, 'shared', { ciphertext: Buffer.from('a') }));
        await store.secrets.insertVersion(versionRow(b.id, 'shared', { ciphertext: Buffer.from('b') }));
        await store.secrets.insertVersion(versionRow(b.id, 'shared', { ciphertext: Buffer.from('b2') }));
        assert.deepEqual((await store.secrets.getVersion(a.id, 'shared', null))?.ciphertext, Buffer.from('a'));
        assert.deepEqual((await store.secrets.getVersion(b.id, 'shared', null))?.ciphertext, Buffer.from('b2'));
        assert.equal(await store.secrets.countVersions(a.id), 1);
        assert.equal(await store.secrets.countVersions(b.id), 2);
      });

      it('pages through live secrets by name key with no duplicates or omissions', async () => {
        const v = await newVault();
        const names = Array.from({ length: 53 }, (_, i) => `${i % 2 ? 'S' : 's'}-${String(i).padStart(3, '0')}`);
        for (const n of [...names].reverse()) await store.secrets.insertVersion(versionRow(v.id, n));
        await store.secrets.markDeleted(v.id, names[7]!, { deletedAt: 1, scheduledPurgeAt: 2 });
        const live = names.filter((_, i) => i !== 7);
        const { items, pages } = await collect((after) => store.secrets.list(v.id, 25, after), 25);
        assert.deepEqual(items.map((s) => s.name), live);
        assert.equal(pages, 3);
        for (const s of items) {
          assert.equal(s.deleted, null);
          assert.ok(!('ciphertext' in s), 'list items carry no ciphertext');
        }
        const exact = await store.secrets.list(v.id, 52, null);
        assert.equal(exact.items.length, 52);
        assert.equal(exact.next, null, 'an exactly full last page has no continuation');
        assert.deepEqual(await store.secrets.list(randomUUID(), 25, null), { items: [], next: null });
      });

      it('pages through deleted secrets', async () => {
        const v = await newVault();
        const names = Array.from({ length: 27 }, (_, i) => `gone-${String(i).padStart(2, '0')}`);
        for (const n of names) {
          await store.secrets.insertVersion(versionRow(v.id, n));
          await store.secrets.markDeleted(v.id, n, { deletedAt: 5, scheduledPurgeAt: 9 });
        }
        await store.secrets.insertVersion(versionRow(v.id, 'alive'));
        const { items, pages } = await collect((after) => store.secrets.listDeleted(v.id, 10, after), 10);
        assert.deepEqual(items.map((s) => s.name), names);
        assert.equal(pages, 3);
        for (const s of items) assert.deepEqual(s.deleted, { deletedAt: 5, scheduledPurgeAt: 9 });
      });

      it('pages through the versions of a secret by version id', async () => {
        const v = await newVault();
        const versions: string[] = [];
        for (let i = 0; i < 30; i++) versions.push((await store.secrets.insertVersion(versionRow(v.id, 'Many'))).version);
        await store.secrets.insertVersion(versionRow(v.id, 'other'));
        const { items, pages } = await collect((after) => store.secrets.listVersions(v.id, 'MANY', 7, after), 7);
        assert.deepEqual(items.map((x) => x.version), [...versions].sort());
        assert.equal(pages, 5);
        for (const m of items) {
          assert.equal(m.name, 'Many');
          assert.ok(!('ciphertext' in m), 'version metadata carries no ciphertext');
        }
        assert.deepEqual(await store.secrets.listVersions(v.id, 'absent', 7, null), { items: [], next: null });
      });

      it('updateVersion changes only the patched fields of one version of a live secret', async () => {
        const v = await newVault();
        const row = await store.secrets.insertVersion(versionRow(v.id, 'upd', { tags: { a: '1' }, contentType: 'x', nbf: 1, exp: 2 }));
        const next = await store.secrets.insertVersion(versionRow(v.id, 'upd'));
        const { ciphertext: _c, ...meta } = row;
        const updated = await store.secrets.updateVersion(v.id, 'UPD', row.version, { enabled: false, tags: null, exp: 500, updated: 3000 });
        assert.deepEqual(updated, { ...meta, enabled: false, tags: null, exp: 500, updated: 3000 });
        const again = await store.secrets.updateVersion(v.id, 'upd', row.version, { contentType: null, nbf: null, tags: { b: '2' }, updated: 3001 });
        assert.deepEqual(again, { ...meta, enabled: false, tags: { b: '2' }, contentType: null, nbf: null, exp: 500, updated: 3001 });
        assert.deepEqual(await store.secrets.getVersion(v.id, 'upd', row.version), { ...again, ciphertext: row.ciphertext });
        assert.deepEqual(await store.secrets.getVersion(v.id, 'upd', null), next, 'other versions are untouched');

        assert.equal(await store.secrets.updateVersion(v.id, 'upd', '9'.repeat(32), { updated: 1 }), null);
        assert.equal(await store.secrets.updateVersion(v.id, 'absent', row.version, { updated: 1 }), null);
        await store.secrets.markDeleted(v.id, 'upd', { deletedAt: 1, scheduledPurgeAt: 2 });
        assert.equal(await store.secrets.updateVersion(v.id, 'upd', row.version, { enabled: true, updated: 4 }), null);
        await store.secrets.recover(v.id, 'upd');
        assert.equal((await store.secrets.getVersion(v.id, 'upd', row.version))?.enabled, false, 'the refused update changed nothing');
      });

      it('soft delete hides a secret from reads and lists and shows it as deleted; recover restores it', async () => {
        const v = await newVault();
        const row = await store.secrets.insertVersion(versionRow(v.id, 'Gone'));
        await store.secrets.insertVersion(versionRow(v.id, 'stays'));
        assert.equal(await store.secrets.markDeleted(v.id, 'GONE', { deletedAt: 10, scheduledPurgeAt: 99 }), true);
        assert.equal(await store.secrets.markDeleted(v.id, 'gone', { deletedAt: 11, scheduledPurgeAt: 99 }), false, 'already deleted');
        assert.equal(await store.secrets.markDeleted(v.id, 'absent', { deletedAt: 11, scheduledPurgeAt: 99 }), false);

        assert.equal(await store.secrets.getVersion(v.id, 'gone', null), null);
        assert.equal(await store.secrets.getVersion(v.id, 'gone', row.version), null);
        assert.deepEqual((await store.secrets.list(v.id, 25, null)).items.map((s) => s.name), ['stays']);
        assert.deepEqual((await store.secrets.listDeleted(v.id, 25, null)).items.map((s) => s.name), ['Gone']);
        const { ciphertext: _c, ...meta } = row;
        assert.deepEqual(await store.secrets.getSummary(v.id, 'gone'), { ...meta, deleted: { deletedAt: 10, scheduledPurgeAt: 99 } });
        assert.deepEqual(await store.secrets.listVersions(v.id, 'gone', 25, null), { items: [], next: null });
        assert.deepEqual(await store.secrets.allVersions(v.id, 'gone'), []);
        assert.equal(await store.secrets.countVersions(v.id), 2, 'deleted versions still exist');

        assert.equal(await store.secrets.recover(v.id, 'gone'), true);
        assert.equal(await store.secrets.recover(v.id, 'gone'), false, 'not deleted');
        assert.equal(await store.secrets.recover(v.id, 'absent'), false);
        assert.deepEqual(await store.secrets.getVersion(v.id, 'gone', null), row);
        assert.equal((await store.secrets.getSummary(v.id, 'gone'))?.deleted, null);
        assert.deepEqual((await store.secrets.listDeleted(v.id, 25, null)).items, []);
      });

      it('insertVersion on a soft-deleted secret throws StoreConflictError("deleted") and changes nothing', async () => {
        const v = await newVault();
        const row = await store.secrets.insertVersion(versionRow(v.id, 'gone'));
        await store.secrets.markDeleted(v.id, 'gone', { deletedAt: 10, scheduledPurgeAt: 99 });
        await assert.rejects(store.secrets.insertVersion(versionRow(v.id, 'GONE')), isConflict('deleted'));
        assert.equal(await store.secrets.countVersions(v.id), 1);
        await store.secrets.recover(v.id, 'gone');
        assert.deepEqual(await store.secrets.getVersion(v.id, 'gone', null), row);
      });

      it('purge removes every version, live or deleted; the name can then start over', async () => {
        const v = await newVault();
        await store.secrets.insertVersion(versionRow(v.id, 'p1'));
        await store.secrets.insertVersion(versionRow(v.id, 'p1'));
        await store.secrets.insertVersion(versionRow(v.id, 'p2'));
        const kept = await store.secrets.insertVersion(versionRow(v.id, 'p3'));
        assert.equal(await store.secrets.purge(v.id, 'P1'), true, 'a live secret');
        assert.equal(await store.secrets.purge(v.id, 'p1'), false);
        await store.secrets.markDeleted(v.id, 'p2', { deletedAt: 1, scheduledPurgeAt: 50 });
        assert.equal(await store.secrets.purge(v.id, 'p2'), true, 'a deleted secret');
        assert.equal(await store.secrets.getSummary(v.id, 'p1'), null);
        assert.equal(await store.secrets.getSummary(v.id, 'p2'), null);
        assert.equal(await store.secrets.countVersions(v.id), 1);
        assert.deepEqual(await store.secrets.getVersion(v.id, 'p3', null), kept);
        assert.equal((await store.secrets.insertVersion(versionRow(v.id, 'p1'))).seq, 1);
      });

      it('purgeExpired purges deleted secrets at or after their scheduled time only', async () => {
        const v = await newVault();
        const w = await newVault();
        for (const n of ['due', 'edge', 'later', 'live']) await store.secrets.insertVersion(versionRow(v.id, n));
        await store.secrets.insertVersion(versionRow(v.id, 'due'));
        await store.secrets.insertVersion(versionRow(w.id, 'elsewhere'));
        await store.secrets.markDeleted(v.id, 'due', { deletedAt: 1, scheduledPurgeAt: 50 });
        await store.secrets.markDeleted(v.id, 'edge', { deletedAt: 1, scheduledPurgeAt: 100 });
        await store.secrets.markDeleted(v.id, 'later', { deletedAt: 1, scheduledPurgeAt: 5000 });
        await store.secrets.markDeleted(w.id, 'elsewhere', { deletedAt: 1, scheduledPurgeAt: 60 });
        assert.equal(await store.secrets.purgeExpired(49), 0);
        assert.equal(await store.secrets.purgeExpired(100), 3);
        for (const [vault, name] of [[v.id, 'due'], [v.id, 'edge'], [w.id, 'elsewhere']] as const) {
          assert.equal(await store.secrets.getSummary(vault, name), null, name);
        }
        assert.equal((await store.secrets.getSummary(v.id, 'later'))?.deleted?.scheduledPurgeAt, 5000);
        assert.equal((await store.secrets.getSummary(v.id, 'live'))?.deleted, null);
        assert.equal(await store.secrets.countVersions(v.id), 2);
        assert.equal(await store.secrets.countVersions(w.id), 0);
      });

      it('restore inserts every version in order; the last one is the latest', async () => {
        const v = await newVault();
        const versions = [
          versionRow(v.id, 'Restored', { version: 'b'.repeat(32), created: 1, updated: 1, tags: { n: '1' } }),
          versionRow(v.id, 'Restored', { version: 'c'.repeat(32), created: 2, updated: 3, enabled: false }),
          versionRow(v.id, 'Restored', { version: 'a'.repeat(32), created: 4, updated: 4, contentType: 'text/plain', nbf: 4, exp: 8 }),
        ];
        await store.secrets.restore(v.id, 'Restored', versions);
        const expected = versions.map((r, i) => ({ ...r, seq: i + 1 }));
        assert.deepEqual(await store.secrets.allVersions(v.id, 'restored'), expected);
        assert.deepEqual(await store.secrets.getVersion(v.id, 'RESTORED', null), expected[2]);
        assert.equal((await store.secrets.insertVersion(versionRow(v.id, 'restored'))).seq, 4);
      });

      it('restore refuses a live name ("exists") or a soft-deleted one ("deleted") and changes nothing', async () => {
        const v = await newVault();
        const live = await store.secrets.insertVersion(versionRow(v.id, 'live'));
        const gone = await store.secrets.insertVersion(versionRow(v.id, 'gone'));
        await store.secrets.markDeleted(v.id, 'gone', { deletedAt: 1, scheduledPurgeAt: 2 });
        await assert.rejects(store.secrets.restore(v.id, 'LIVE', [versionRow(v.id, 'LIVE'), versionRow(v.id, 'LIVE')]), isConflict('exists'));
        await assert.rejects(store.secrets.restore(v.id, 'Gone', [versionRow(v.id, 'Gone')]), isConflict('deleted'));
        assert.equal(await store.secrets.countVersions(v.id), 2);
        assert.deepEqual(await store.secrets.allVersions(v.id, 'live'), [live]);
        const { ciphertext: _c, ...goneMeta } = gone;
        assert.deepEqual(await store.secrets.getSummary(v.id, 'gone'), { ...goneMeta, deleted: { deletedAt: 1, scheduledPurgeAt: 2 } });
      });

      it('countVersions counts every version of a vault, deleted secrets included', async () => {
        const v = await newVault();
        assert.equal(await store.secrets.countVersions(v.id), 0);
        await store.secrets.insertVersion(versionRow(v.id, 'a'));
        await store.secrets.insertVersion(versionRow(v.id, 'a'));
        await store.secrets.insertVersion(versionRow(v.id, 'b'));
        await store.secrets.markDeleted(v.id, 'b', { deletedAt: 1, scheduledPurgeAt: 2 });
        assert.equal(await store.secrets.countVersions(v.id), 3);
        assert.equal(await store.secrets.countVersions(randomUUID()), 0);
      });
    });
  });
}
