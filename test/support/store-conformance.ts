import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ClientSecretRow, PrincipalRow, SigningKeyRow, Store, VaultRow } from '../../src/storage/store-types.js';
import { describeAccessConformance } from './store-conformance-access.js';
import { describeAuditConformance } from './store-conformance-audit.js';
import { describeAuditRenewalConformance } from './store-conformance-audit-renewal.js';
import { createKeyring, type Keyring } from '../../src/crypto/keyring.js';
import type { ChainKey } from '../../src/audit/audit-chain.js';
import { byKey, hex32, insertVault, isConflict, keyAuditChain, principal, vaultRow, versionRow, type StoreFactory } from './store-conformance-kit.js';
import { describeSecretConformance } from './store-conformance-secrets.js';
import { describeVaultKeyConformance } from './store-conformance-vault-keys.js';
import { describeResourceGroupConformance } from './store-conformance-resource-groups.js';
import { describeSignInCodeConformance } from './store-conformance-sign-in.js';
import { describeKeyCredentialConformance } from './store-conformance-key-credentials.js';
import { describeFederatedCredentialConformance } from './store-conformance-federated-credentials.js';

// The storage contract as executable checks. Every Store implementation
// (SQLite now, PostgreSQL next) runs this same suite.

export { auditRecord, vaultRow, versionRow, type StoreFactory } from './store-conformance-kit.js';

export function runStoreConformance(label: string, makeStore: StoreFactory): void {
  describe(`store conformance: ${label}`, () => {
    let store: Store;
    let auditKey: ChainKey;
    let keyring: Keyring;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
      keyring = createKeyring(randomBytes(32));
      auditKey = await keyAuditChain(store, keyring);
    });
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    async function newVault(overrides: Partial<VaultRow> = {}): Promise<VaultRow> {
      return insertVault(store, vaultRow(overrides));
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

      it('setIfAbsent writes its companions only with a value it stored, in one go', async () => {
        await store.settings.set('companion', 'old');
        assert.equal(await store.settings.setIfAbsent('key', 'first', { companion: 'new', other: 'x' }), 'first');
        assert.deepEqual([await store.settings.get('companion'), await store.settings.get('other')], ['new', 'x']);
        assert.equal(await store.settings.setIfAbsent('key', 'second', { companion: 'newer', third: 'y' }), 'first');
        assert.deepEqual([await store.settings.get('companion'), await store.settings.get('third')], ['new', null]);
      });

      it('replace sets a value only where it is the one expected; of concurrent replaces of one value, one wins', async () => {
        assert.equal(await store.settings.replace('absent', 'x', 'y'), false, 'an absent key is not created');
        assert.equal(await store.settings.get('absent'), null);
        await store.settings.set('cas', 'v0');
        assert.equal(await store.settings.replace('cas', 'other', 'v1'), false);
        assert.equal(await store.settings.get('cas'), 'v0');
        const wins = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((v) => store.settings.replace('cas', 'v0', v)));
        assert.equal(wins.filter(Boolean).length, 1);
        assert.equal(await store.settings.get('cas'), ['a', 'b', 'c', 'd', 'e', 'f'][wins.indexOf(true)]);
      });
    });

    describe('principals', () => {
      it('stores principals and finds them by id, appId and UPN (case-insensitively, keeping the spelling)', async () => {
        const appId = 'C0FFEE00-0000-4000-8000-0000000000A1';
        const sp = principal({ kind: 'ServicePrincipal', displayName: 'connector', appId, createdAt: 10 });
        const user = principal({ kind: 'User', displayName: 'Alice', upn: 'Alice@Example.com', passwordHash: 'scrypt$x', createdAt: 11 });
        const group = principal({ kind: 'Group', displayName: 'admins', mailNickname: 'Admins-Team', createdAt: 12 });
        for (const p of [sp, user, group]) await store.principals.insert(p);
        assert.deepEqual(await store.principals.get(group.objectId), group, 'the mail nickname as given');

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

      it('replaces a password or client secret hash only while it is still the one read', async () => {
        const user = principal({ kind: 'User', upn: `rehash-${hex32()}@example.com`, passwordHash: 'scrypt$old' });
        const sp = principal({ appId: randomUUID() });
        await store.principals.insert(user);
        await store.principals.insert(sp);
        const row: ClientSecretRow = { keyId: randomUUID(), objectId: sp.objectId, secretHash: 'sha256$old', hint: 'abc', displayName: null, startAt: 1, endAt: 2 };
        await store.principals.addClientSecret(row);

        assert.equal(await store.principals.replaceCredentialHash(user.objectId, null, 'scrypt$stale', 'scrypt-hmac$new'), false);
        assert.equal((await store.principals.get(user.objectId))!.passwordHash, 'scrypt$old');
        assert.equal(await store.principals.replaceCredentialHash(user.objectId, null, 'scrypt$old', 'scrypt-hmac$new'), true);
        assert.equal((await store.principals.get(user.objectId))!.passwordHash, 'scrypt-hmac$new');
        assert.equal(await store.principals.replaceCredentialHash(user.objectId, null, 'scrypt$old', 'scrypt-hmac$newer'), false, 'already replaced');

        assert.equal(await store.principals.replaceCredentialHash(sp.objectId, randomUUID(), 'sha256$old', 'hmac-sha256$new'), false, 'no such secret');
        assert.equal(await store.principals.replaceCredentialHash(user.objectId, row.keyId, 'sha256$old', 'hmac-sha256$new'), false, "another principal's");
        assert.equal(await store.principals.replaceCredentialHash(sp.objectId, row.keyId, 'sha256$old', 'hmac-sha256$new'), true);
        assert.deepEqual(await store.principals.listClientSecrets(sp.objectId), [{ ...row, secretHash: 'hmac-sha256$new' }]);
        assert.equal(await store.principals.replaceCredentialHash(sp.objectId, row.keyId, 'sha256$old', 'hmac-sha256$newer'), false);
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
        const resealed = randomBytes(40);
        assert.equal(await store.signingKeys.retire('kid-2', 9, resealed, 'mk-3'), true);
        assert.equal(await store.signingKeys.retire('kid-2', 10, randomBytes(40), 'mk-4'), false, 'retired once');
        assert.deepEqual(await sorted(), [
          { ...k1, privateSealed: sealed, masterKeyId: 'mk-2' },
          { ...k2, retiredAt: 9, privateSealed: resealed, masterKeyId: 'mk-3' },
        ]);
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

      it('deletes and recovers a vault with its new seal only over the seal read (compare-and-set); without one, the seal stays', async () => {
        const v = await newVault({ mac: 'a2.0.live' });
        const stale = { ...v, mac: 'a2.0.stale' };
        assert.equal(await store.vaults.markDeleted(v.id, 10, 20, undefined, { was: stale, mac: 'a2.0.deleted' }), false);
        assert.deepEqual(await store.vaults.getById(v.id), v, 'nothing changed');
        assert.equal(await store.vaults.markDeleted(v.id, 10, 20, undefined, { was: v, mac: 'a2.0.deleted' }), true);
        const deleted = (await store.vaults.getById(v.id))!;
        assert.deepEqual([deleted.deletedAt, deleted.scheduledPurgeAt, deleted.mac], [10, 20, 'a2.0.deleted']);
        assert.equal(await store.vaults.recover(v.id, 30, undefined, { was: v, mac: 'a2.0.recovered' }), false, 'the seal read is the live one');
        assert.equal((await store.vaults.getById(v.id))!.deletedAt, 10);
        assert.equal(await store.vaults.recover(v.id, 30, undefined, { was: deleted, mac: 'a2.0.recovered' }), true);
        const recovered = (await store.vaults.getById(v.id))!;
        assert.deepEqual([recovered.deletedAt, recovered.scheduledPurgeAt, recovered.mac], [null, null, 'a2.0.recovered']);
        // A row whose seal does not match is deleted as it is: its seal is not written.
        assert.equal(await store.vaults.markDeleted(v.id, 40, 50, undefined, { was: recovered }), true);
        assert.equal((await store.vaults.getById(v.id))!.mac, 'a2.0.recovered');
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
        await store.vaults.update(v.id, { properties: { enableRbacAuthorization: true }, mac: 'a1.0.p1', updatedAt: 60 });
        assert.deepEqual(await store.vaults.getById(v.id), { ...v, tags: { t: '1' }, properties: { enableRbacAuthorization: true }, mac: 'a1.0.p1', updatedAt: 60 });
        // A change without a seal keeps the stored one.
        await store.vaults.update(v.id, { tags: {}, properties: {}, updatedAt: 70 });
        assert.deepEqual(await store.vaults.getById(v.id), { ...v, tags: {}, properties: {}, mac: 'a1.0.p1', updatedAt: 70 });
        // Who changed it is kept until someone else does; the creator stays.
        await store.vaults.update(v.id, { tags: { t: '2' }, updatedAt: 80, modifiedBy: 'app-id-1', modifiedByType: 'Application' });
        await store.vaults.update(v.id, { updatedAt: 90 });
        assert.deepEqual(await store.vaults.getById(v.id), { ...v, tags: { t: '2' }, properties: {}, mac: 'a1.0.p1', updatedAt: 90, modifiedBy: 'app-id-1', modifiedByType: 'Application' });
      });

      it('update with `unless` writes only over the row as it was read, and never over a deleted vault', async () => {
        const v = await newVault({ tags: { a: '1' }, properties: { accessPolicies: [], sku: { name: 'standard' } } });
        const read = (await store.vaults.getById(v.id))!;
        assert.equal(await store.vaults.update(v.id, { properties: { ...read.properties, enableRbacAuthorization: true }, updatedAt: 50 }, undefined, read), true);
        // Another server's change came between this read and this write: nothing is written.
        assert.equal(await store.vaults.update(v.id, { tags: { b: '2' }, updatedAt: 60 }, undefined, read), false);
        const now = (await store.vaults.getById(v.id))!;
        assert.deepEqual([now.tags, now.updatedAt], [{ a: '1' }, 50]);
        assert.equal(await store.vaults.update(v.id, { tags: { b: '2' }, updatedAt: 60 }, undefined, now), true, 'from a fresh read it writes');
        const fresh = (await store.vaults.getById(v.id))!;
        await store.vaults.markDeleted(v.id, 70, 80);
        assert.equal(await store.vaults.update(v.id, { tags: { c: '3' }, updatedAt: 90 }, undefined, fresh), false, 'deleted meanwhile');
        assert.deepEqual((await store.vaults.getById(v.id))!.tags, { b: '2' });
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

      it('a purge of deleted objects only touches what is deleted at that moment: a recover that got there first keeps its object', async () => {
        const v = await newVault();
        await store.secrets.insertVersion(versionRow(v.id, 'kept'));
        await store.secrets.markDeleted(v.id, 'kept', { deletedAt: 1, scheduledPurgeAt: 99 });
        await store.secrets.recover(v.id, 'kept');
        assert.equal(await store.secrets.purge(v.id, 'kept', true), false);
        assert.equal(await store.secrets.countVersions(v.id), 1);
        await store.secrets.markDeleted(v.id, 'kept', { deletedAt: 2, scheduledPurgeAt: 99 });
        assert.equal(await store.secrets.purge(v.id, 'kept', true), true);
        assert.equal(await store.secrets.countVersions(v.id), 0);

        await store.secrets.insertVersion(versionRow(v.id, 'inside'));
        await store.vaults.markDeleted(v.id, 10, 20);
        await store.vaults.recover(v.id, 11);
        assert.equal(await store.vaults.purge(v.id, true), false);
        assert.equal((await store.vaults.getById(v.id))?.deletedAt, null);
        assert.equal(await store.secrets.countVersions(v.id), 1);
        await store.vaults.markDeleted(v.id, 12, 20);
        assert.equal(await store.vaults.purge(v.id, true), true);
        assert.equal(await store.vaults.getById(v.id), null);
        assert.equal(await store.vaults.purge(v.id), false, 'nothing left to purge');
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
        assert.deepEqual(await store.vaults.purgeExpired(99), []);
        assert.deepEqual((await store.vaults.purgeExpired(500)).sort(), [due.id, edge.id].sort());
        assert.equal(await store.vaults.getById(due.id), null);
        assert.equal(await store.vaults.getById(edge.id), null);
        assert.equal(await store.secrets.countVersions(due.id), 0);
        assert.equal((await store.vaults.getById(later.id))?.scheduledPurgeAt, 10_000);
        assert.equal((await store.vaults.getById(live.id))?.deletedAt, null);
        assert.equal(await store.secrets.countVersions(live.id), 1);
        assert.deepEqual(await store.vaults.purgeExpired(500), []);
      });
    });

    describeResourceGroupConformance({ store: () => store, newVault });
    describeSecretConformance({ store: () => store, newVault });
    describeVaultKeyConformance({ store: () => store, newVault });
    describeAccessConformance({ store: () => store });
    describeSignInCodeConformance({ store: () => store });
    describeKeyCredentialConformance({ store: () => store });
    describeFederatedCredentialConformance({ store: () => store });
    describeAuditConformance({ store: () => store, newVault, auditKey: () => auditKey });
    describeAuditRenewalConformance({ store: () => store, newVault, keyring: () => keyring });
  });
}
