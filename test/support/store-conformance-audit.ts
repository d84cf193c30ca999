import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { GENESIS, pointMac, verifyChain, type ChainKey } from '../../src/audit/audit-chain.js';
import { AuditWriteError, StoreParentGoneError, type AuditFilter, type AuditRow, type Page } from '../../src/storage/store-types.js';
import { AUDIT_SCAN_WINDOW } from '../../src/storage/audit-list-query.js';
import { assignmentRow, auditRecord as record, isConflict, principal, vaultRow, versionRow } from './store-conformance-kit.js';
import type { ConformanceHandle } from './store-conformance-secrets.js';

// Audit part of the storage contract (see store-conformance.ts): the store
// numbers and chains what it is given, in the transaction that stores it,
// and a record handed in with a new version is stored if and only if the
// version is. Rows and both chain ends are sealed with the audit key.

export function describeAuditConformance(h: ConformanceHandle & { auditKey(): ChainKey }): void {
  const all = () => h.store().audit.range(1, 10_000);
  const verify = async () => verifyChain(await h.store().audit.ends(), h.auditKey(), (from, limit) => h.store().audit.range(from, limit));
  const operations = (rows: AuditRow[]) => rows.map((r) => r.operation);

  describe('audit', () => {
    it('numbers and chains appended records in order from the genesis hash', async () => {
      assert.deepEqual((await h.store().audit.ends()).anchor, { seq: 0, hash: GENESIS });
      assert.deepEqual(await h.store().audit.tip(), { seq: 0, hash: GENESIS });
      await h.store().audit.append([record('A'), record('B')]);
      await h.store().audit.append([record('C')]);
      const rows = await all();
      assert.deepEqual(rows.map((r) => [r.seq, r.operation]), [[1, 'A'], [2, 'B'], [3, 'C']]);
      assert.equal(rows[0]!.prevHash, GENESIS);
      assert.equal(rows[2]!.prevHash, rows[1]!.hash);
      assert.deepEqual({ ...rows[1]!, seq: 0, prevHash: '', hash: '' }, { ...record('B'), seq: 0, prevHash: '', hash: '' });
      assert.deepEqual(await verify(), { ok: true, checked: 3, head: 3, keyedFrom: 1 });
      assert.deepEqual(await h.store().audit.tip(), { seq: 3, hash: rows[2]!.hash });
    });

    it('seals the head checkpoint with every append, in its transaction, and refuses records before the key', async () => {
      const v = await h.newVault();
      const head = async () => (await h.store().audit.ends()).head!;
      const sealed = (p: { seq: number; hash: string; mac?: string }) => p.mac === pointMac(h.auditKey().key, 'head', p);
      assert.ok(sealed(await head()), 'keying seals the starting point');
      await h.store().audit.append([record('A')]);
      const version = versionRow(v.id, 's');
      await h.store().secrets.insertVersion(version, record('B'));
      await assert.rejects(h.store().secrets.insertVersion({ ...version }, record('refused')), isConflict('exists'));
      const rows = await all();
      assert.deepEqual(await head(), { seq: 2, hash: rows[1]!.hash, mac: pointMac(h.auditKey().key, 'head', rows[1]!) });
      assert.ok(sealed(await head()));
    });

    it('concurrent appends and versions with records form one unbroken chain', async () => {
      const v = await h.newVault();
      await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => h.store().audit.append([record(`batch-${i}-a`), record(`batch-${i}-b`)])),
        ...Array.from({ length: 20 }, (_, i) => h.store().secrets.insertVersion(versionRow(v.id, `s-${i % 4}`), record(`set-${i}`))),
      ]);
      assert.equal((await all()).length, 60);
      assert.deepEqual(await verify(), { ok: true, checked: 60, head: 60, keyedFrom: 1 });
    });

    it('a version stores its record in the same transaction; a refused version stores none and leaves no gap', async () => {
      const v = await h.newVault();
      const stored = await h.store().secrets.insertVersion(versionRow(v.id, 'db'), record('SecretSet'));
      assert.equal(stored.seq, 1);
      await h.store().secrets.markDeleted(v.id, 'db', { deletedAt: 10, scheduledPurgeAt: 20 });
      await assert.rejects(h.store().secrets.insertVersion(versionRow(v.id, 'db'), record('refused: deleted')), isConflict('deleted'));
      const duplicate = versionRow(v.id, 'other');
      await h.store().secrets.insertVersion(duplicate);
      await assert.rejects(h.store().secrets.insertVersion({ ...duplicate }, record('refused: duplicate')), isConflict('exists'));
      await h.store().audit.append([record('next')]);
      assert.deepEqual(operations(await all()), ['SecretSet', 'next']);
      assert.deepEqual(await verify(), { ok: true, checked: 2, head: 2, keyedFrom: 1 });
    });

    it('stores a large batch exactly, whatever its text holds', async () => {
      const awkward = 'q"uo\\te {a,b} NULL \u00e9\u{1F511} \n\t,';
      const batch = Array.from({ length: 3000 }, (_, i) => ({
        ...record(`op-${i}`),
        vault: i % 3 === 0 ? null : `v-${i % 7}`,
        secret: i % 5 === 0 ? 'NULL' : null,
        principal: i % 2 === 0 ? awkward : null,
        record: JSON.stringify({ i, awkward }),
      }));
      await h.store().audit.append(batch);
      const rows = await all();
      assert.equal(rows.length, 3000);
      assert.deepEqual(rows.map(({ seq: _s, prevHash: _p, hash: _h, ...r }) => r), batch);
      assert.deepEqual(await verify(), { ok: true, checked: 3000, head: 3000, keyedFrom: 1 });
    });

    it('writes requested together succeed or fail one by one: each stored version has its record, no refused one has', async () => {
      const v = await h.newVault();
      const store = h.store();
      const duplicate = versionRow(v.id, 'dup');
      await store.secrets.insertVersion(duplicate);
      await store.secrets.insertVersion(versionRow(v.id, 'gone'));
      await store.secrets.markDeleted(v.id, 'gone', { deletedAt: 10, scheduledPurgeAt: 20 });
      // Requested in one turn, so that a batching store takes them in one transaction;
      // the first group has only a soft-deleted refusal, the second a statement-level one too.
      for (const withDuplicate of [false, true]) {
        const tag = withDuplicate ? 'second' : 'first';
        const outcomes = await Promise.allSettled([
          store.secrets.insertVersion(versionRow(v.id, 'a'), record(`${tag}: a`)),
          store.secrets.insertVersion(versionRow(v.id, 'gone'), record(`${tag}: refused, deleted`)),
          withDuplicate ? store.secrets.insertVersion({ ...duplicate }, record(`${tag}: refused, duplicate`)) : store.audit.append([record(`${tag}: appended`)]),
          store.secrets.insertVersion(versionRow(v.id, 'A'), record(`${tag}: a again`)),
          store.secrets.insertVersion(versionRow(v.id, 'b'), record(`${tag}: b`)),
        ]);
        const [a, gone, third, aAgain, b] = outcomes;
        assert.equal(gone.status, 'rejected');
        assert.ok(isConflict('deleted')((gone as PromiseRejectedResult).reason));
        if (withDuplicate) assert.ok(isConflict('exists')((third as PromiseRejectedResult).reason));
        else assert.equal(third.status, 'fulfilled');
        const seq = (o: PromiseSettledResult<unknown>) => (o.status === 'fulfilled' ? (o.value as { seq: number; name: string }) : assert.fail(String(o.reason)));
        assert.deepEqual([seq(a).seq, seq(aAgain).seq, seq(b).seq], withDuplicate ? [3, 4, 2] : [1, 2, 1]);
        assert.equal(seq(aAgain).name, 'a', 'the second write keeps the canonical name');
      }
      assert.deepEqual(operations(await all()), [
        'first: a', 'first: appended', 'first: a again', 'first: b',
        'second: a', 'second: a again', 'second: b',
      ]);
      assert.deepEqual(await verify(), { ok: true, checked: 7, head: 7, keyedFrom: 1 });
      assert.equal(await store.secrets.countVersions(v.id), 2 + 3 + 3);
    });

    it('a change other than a new version stores its record with it: if and only if something changed, and never the change without it', async () => {
      const v = await h.newVault();
      const s = h.store().secrets;
      const info = { deletedAt: 10, scheduledPurgeAt: 20 };
      const first = versionRow(v.id, 'x');
      await s.insertVersion(first);
      assert.ok(await s.updateVersion(v.id, 'x', first.version, { enabled: false, updated: 3000 }, record('update')));
      assert.equal(await s.markDeleted(v.id, 'x', info, record('delete')), true);
      assert.equal(await s.markDeleted(v.id, 'x', info, record('delete again')), false);
      assert.equal(await s.updateVersion(v.id, 'x', first.version, { enabled: true, updated: 3001 }, record('update while deleted')), null);
      assert.equal(await s.recover(v.id, 'x', record('recover')), true);
      assert.equal(await s.recover(v.id, 'x', record('recover again')), false);
      assert.equal(await s.purge(v.id, 'x', true, record('purge while live')), false);
      await s.markDeleted(v.id, 'x', info);
      assert.equal(await s.purge(v.id, 'x', true, record('purge')), true);
      assert.equal(await s.purge(v.id, 'x', false, record('purge again')), false);
      await s.restore(v.id, 'x', [versionRow(v.id, 'x')], record('restore'));
      await assert.rejects(s.restore(v.id, 'x', [versionRow(v.id, 'x')], record('restore over a live one')), isConflict('exists'));
      // Appended by the store's batches meanwhile: both paths extend one chain.
      await Promise.all([s.updateVersion(v.id, 'x', (await s.getVersion(v.id, 'x', null))!.version, { updated: 3002 }, record('update again')), h.store().audit.append([record('appended')])]);
      const ops = operations(await all());
      assert.deepEqual(ops.slice(0, 6), ['update', 'delete', 'recover', 'purge', 'restore', ops[5] === 'appended' ? 'appended' : 'update again']);
      assert.deepEqual(new Set(ops.slice(5)), new Set(['appended', 'update again']));
      assert.deepEqual(await verify(), { ok: true, checked: 7, head: 7, keyedFrom: 1 });

      // A record the store cannot take undoes the change it came with.
      const refused = { ...record('refused'), operation: null as unknown as string };
      await s.insertVersion(versionRow(v.id, 'kept'));
      await assert.rejects(s.markDeleted(v.id, 'kept', info, refused), AuditWriteError);
      await assert.rejects(s.updateVersion(v.id, 'kept', (await s.getVersion(v.id, 'kept', null))!.version, { enabled: false, updated: 4000 }, refused), AuditWriteError);
      assert.equal((await s.getSummary(v.id, 'kept'))!.deleted, null);
      assert.equal((await s.getVersion(v.id, 'kept', null))!.enabled, true);
      await assert.rejects(s.restore(v.id, 'fresh', [versionRow(v.id, 'fresh')], refused), AuditWriteError);
      await assert.rejects(s.insertVersion(versionRow(v.id, 'fresh'), refused), AuditWriteError);
      const latest = (await s.getVersion(v.id, 'kept', null))!.version;
      await assert.rejects(s.insertVersion(versionRow(v.id, 'kept'), refused), AuditWriteError);
      assert.equal((await s.getVersion(v.id, 'kept', null))!.version, latest);
      assert.equal(await s.getSummary(v.id, 'fresh'), null);
      await s.markDeleted(v.id, 'kept', info);
      await assert.rejects(s.recover(v.id, 'kept', refused), AuditWriteError);
      await assert.rejects(s.purge(v.id, 'kept', true, refused), AuditWriteError);
      assert.deepEqual((await s.getSummary(v.id, 'kept'))!.deleted, info);
      assert.equal((await all()).length, 7);
      assert.deepEqual(await verify(), { ok: true, checked: 7, head: 7, keyedFrom: 1 });
    });

    it('a vault or resource group change stores its record with it: if and only if something changed, and never the change without it', async () => {
      const vaults = h.store().vaults;
      const v = await h.newVault();
      const created = vaultRow();
      assert.equal(await vaults.insert(created, record('create')), true);
      await assert.rejects(vaults.insert({ ...vaultRow(), name: v.name }, record('create over a taken name')), isConflict('exists'));
      assert.equal(await vaults.insert(vaultRow({ resourceGroup: 'no-such-group' }), record('create in no group')), false);
      assert.equal(await vaults.update(v.id, { tags: { a: 'b' }, updatedAt: 2000 }, record('update')), true);
      assert.equal(await vaults.update('no-such-vault', { updatedAt: 2000 }, record('update nothing')), false);
      assert.equal(await vaults.markDeleted(v.id, 10, 20, record('delete')), true);
      assert.equal(await vaults.markDeleted(v.id, 10, 20, record('delete again')), false);
      assert.equal(await vaults.recover(v.id, 30, record('recover')), true);
      assert.equal(await vaults.purge(v.id, true, record('purge while live')), false);
      await vaults.markDeleted(v.id, 40, 50);
      assert.equal(await vaults.purge(v.id, true, record('purge')), true);
      assert.equal(await vaults.purge(v.id, false, record('purge again')), false);
      await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'audited-group', location: 'local', tags: {} }, record('group'));
      assert.equal(await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'audited-group', location: 'elsewhere', tags: {} }, record('group moved')), null);
      const busy = await h.newVault({ resourceGroup: 'audited-group' });
      assert.equal(await h.store().resourceGroups.delete('sub-1', 'audited-group', record('group delete while busy')), false);
      await vaults.markDeleted(busy.id, 10, 20);
      assert.equal(await h.store().resourceGroups.delete('sub-1', 'audited-group', record('group delete')), true);
      assert.equal(await h.store().resourceGroups.delete('sub-1', 'audited-group', record('group delete again')), false);
      assert.deepEqual(operations(await all()), ['create', 'update', 'delete', 'recover', 'purge', 'group', 'group delete']);

      // A record the store cannot take undoes the change it came with.
      const refused = { ...record('refused'), operation: null as unknown as string };
      const kept = await h.newVault();
      const orphan = vaultRow();
      await assert.rejects(vaults.insert(orphan, refused), AuditWriteError);
      assert.equal(await vaults.getById(orphan.id), null);
      await assert.rejects(vaults.update(kept.id, { tags: { changed: 'yes' }, updatedAt: 3000 }, refused), AuditWriteError);
      await assert.rejects(vaults.markDeleted(kept.id, 60, 70, refused), AuditWriteError);
      assert.deepEqual(await vaults.getById(kept.id), kept);
      await vaults.markDeleted(kept.id, 60, 70);
      await assert.rejects(vaults.recover(kept.id, 80, refused), AuditWriteError);
      await assert.rejects(vaults.purge(kept.id, true, refused), AuditWriteError);
      assert.equal((await vaults.getById(kept.id))?.deletedAt, 60);
      await assert.rejects(h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'refused-group', location: 'local', tags: {} }, refused), AuditWriteError);
      assert.equal(await h.store().resourceGroups.get('sub-1', 'refused-group'), null);
      await h.store().resourceGroups.create({ subscriptionId: 'sub-1', name: 'refused-delete', location: 'local', tags: {} });
      await assert.rejects(h.store().resourceGroups.delete('sub-1', 'refused-delete', refused), AuditWriteError);
      assert.notEqual(await h.store().resourceGroups.get('sub-1', 'refused-delete'), null, 'the group stays when its record is refused');
      assert.deepEqual(await verify(), { ok: true, checked: 7, head: 7, keyedFrom: 1 });
    });

    it('role definition and assignment changes store their record with them: if and only if something changed, never the change without it', async () => {
      const store = h.store();
      const role = { id: randomUUID(), roleName: `Audited ${randomUUID()}`, description: 'd', permissions: [{ actions: ['*/read'], notActions: [], dataActions: [], notDataActions: [] }], assignableScopes: ['/subscriptions/s'], createdAt: 1, updatedAt: 1, createdBy: 'a', mac: 'a1.0.role' };
      await store.roleDefinitions.upsert(role, record('role create'));
      await assert.rejects(store.roleDefinitions.upsert({ ...role, id: randomUUID() }, record('role name taken')), isConflict('exists'));
      const a = assignmentRow({ roleDefinitionId: role.id });
      await store.roleAssignments.insert(a, record('assign'));
      await assert.rejects(store.roleAssignments.insert(assignmentRow({ id: a.id }), record('assign over a taken id')), isConflict('exists'));
      assert.notEqual(await store.roleAssignments.update(a, { description: 'changed', endTime: 99, updatedAt: 2, mac: 'a1.0.changed' }, record('reassign')), null);
      assert.equal(await store.roleAssignments.update(a, { description: 'stale', endTime: null, updatedAt: 3, mac: 'a1.0.stale' }, record('reassign over a stale seal')), null);
      assert.equal(await store.roleAssignments.delete(a.id, record('unassign')), true);
      assert.equal(await store.roleAssignments.delete(a.id, record('unassign again')), false);
      assert.equal(await store.roleDefinitions.delete(role.id, record('role delete')), true);
      assert.equal(await store.roleDefinitions.delete(role.id, record('role delete again')), false);
      assert.deepEqual(operations(await all()), ['role create', 'assign', 'reassign', 'unassign', 'role delete']);

      const refused = { ...record('refused'), operation: null as unknown as string };
      const kept = assignmentRow();
      await store.roleAssignments.insert(kept);
      await assert.rejects(store.roleAssignments.delete(kept.id, refused), AuditWriteError);
      await assert.rejects(store.roleAssignments.update(kept, { description: 'refused', endTime: null, updatedAt: 3, mac: 'a1.0.refused' }, refused), AuditWriteError);
      await assert.rejects(store.roleAssignments.insert(assignmentRow({ id: randomUUID() }), refused), AuditWriteError);
      assert.deepEqual(await store.roleAssignments.list(), [kept], 'nothing whose record was refused is stored, the update included');
      await assert.rejects(store.roleDefinitions.upsert(role, refused), AuditWriteError);
      assert.equal(await store.roleDefinitions.get(role.id), null);
      await store.roleDefinitions.upsert(role);
      await assert.rejects(store.roleDefinitions.upsert({ ...role, description: 'changed' }, refused), AuditWriteError);
      await assert.rejects(store.roleDefinitions.delete(role.id, refused), AuditWriteError);
      assert.deepEqual(await store.roleDefinitions.get(role.id), role);
      assert.deepEqual(await verify(), { ok: true, checked: 5, head: 5, keyedFrom: 1 });
    });

    it('directory changes store their record with them: if and only if something changed, never the change without it', async () => {
      const { principals, groups } = h.store();
      const secretOf = (objectId: string) => ({ keyId: randomUUID(), objectId, secretHash: 'sha256$x', hint: 'abc', displayName: null, startAt: 1, endAt: 2 });
      const sp = principal({ appId: randomUUID() });
      const first = secretOf(sp.objectId);
      await principals.insert(sp, record('create sp'), first);
      await assert.rejects(principals.insert(principal({ objectId: sp.objectId }), record('create over a taken id')), isConflict('exists'));
      const second = secretOf(sp.objectId);
      await principals.addClientSecret(second, record('add secret'));
      assert.equal(await principals.removeClientSecret(sp.objectId, second.keyId, record('remove secret')), true);
      assert.equal(await principals.removeClientSecret(sp.objectId, second.keyId, record('remove secret again')), false);
      const group = principal({ kind: 'Group' });
      await principals.insert(group, record('create group'));
      assert.equal(await groups.addMember(group.objectId, sp.objectId, record('add member')), true);
      assert.equal(await groups.addMember(group.objectId, sp.objectId, record('add member again')), false);
      assert.equal(await groups.removeMember(group.objectId, sp.objectId, record('remove member')), true);
      assert.equal(await groups.removeMember(group.objectId, sp.objectId, record('remove member again')), false);
      assert.equal(await principals.delete(sp.objectId, record('delete sp')), true);
      assert.equal(await principals.delete(sp.objectId, record('delete sp again')), false);
      assert.deepEqual(operations(await all()), ['create sp', 'add secret', 'remove secret', 'create group', 'add member', 'remove member', 'delete sp']);

      // A record the store cannot take undoes the change it came with; a principal never lands without its first secret.
      const refused = { ...record('refused'), operation: null as unknown as string };
      const other = principal({ appId: randomUUID() });
      await assert.rejects(principals.insert(other, refused, secretOf(other.objectId)));
      assert.equal(await principals.get(other.objectId), null);
      const holder = principal({ appId: randomUUID() });
      const held = secretOf(holder.objectId);
      await principals.insert(holder, undefined, held);
      await assert.rejects(principals.insert(other, undefined, { ...secretOf(other.objectId), keyId: held.keyId }), isConflict('exists'));
      assert.equal(await principals.get(other.objectId), null, 'a refused first secret leaves no principal');
      await principals.insert(other, undefined, secretOf(other.objectId));
      const kept = (await principals.listClientSecrets(other.objectId)).map((c) => c.keyId);
      await assert.rejects(principals.addClientSecret(secretOf(other.objectId), refused), AuditWriteError);
      await assert.rejects(principals.removeClientSecret(other.objectId, kept[0]!, refused), AuditWriteError);
      assert.deepEqual((await principals.listClientSecrets(other.objectId)).map((c) => c.keyId), kept);
      await assert.rejects(groups.addMember(group.objectId, other.objectId, refused), AuditWriteError);
      assert.deepEqual(await groups.listMembers(group.objectId), []);
      await groups.addMember(group.objectId, other.objectId);
      await assert.rejects(groups.removeMember(group.objectId, other.objectId, refused), AuditWriteError);
      await assert.rejects(principals.delete(other.objectId, refused), AuditWriteError);
      assert.deepEqual(await groups.listMembers(group.objectId), [other.objectId]);
      assert.notEqual(await principals.get(other.objectId), null);
      assert.deepEqual(await verify(), { ok: true, checked: 7, head: 7, keyedFrom: 1 });
    });

    it('a write on a parent removed meanwhile (vault, principal, group) throws StoreParentGoneError and stores neither it nor its record', async () => {
      const store = h.store();
      const gone = (err: unknown) => err instanceof StoreParentGoneError;
      const missingVault = randomUUID();
      await assert.rejects(store.secrets.insertVersion(versionRow(missingVault, 'orphan'), record('version of a vault gone')), gone);
      await assert.rejects(store.secrets.restore(missingVault, 'orphan', [versionRow(missingVault, 'orphan')], record('restore into a vault gone')), gone);
      const missing = randomUUID();
      const secret = { keyId: randomUUID(), objectId: missing, secretHash: 'sha256$x', hint: 'abc', displayName: null, startAt: 1, endAt: 2 };
      await assert.rejects(store.principals.addClientSecret(secret, record('secret of a principal gone')), gone);
      const group = principal({ kind: 'Group' });
      await store.principals.insert(group);
      await assert.rejects(store.groups.addMember(group.objectId, missing, record('member gone')), gone);
      await assert.rejects(store.groups.addMember(missing, group.objectId, record('group gone')), gone);
      // A version of a live secret in the same batch as the refused one is stored with its record.
      const v = await h.newVault();
      const [lost, kept] = await Promise.allSettled([
        store.secrets.insertVersion(versionRow(missingVault, 'orphan'), record('lost')),
        store.secrets.insertVersion(versionRow(v.id, 'kept'), record('kept')),
      ]);
      assert.ok(lost.status === 'rejected' && gone(lost.reason));
      assert.equal(kept.status, 'fulfilled');
      assert.deepEqual(operations(await all()), ['kept']);
      assert.deepEqual(await store.groups.listMembers(group.objectId), []);
      assert.deepEqual(await verify(), { ok: true, checked: 1, head: 1, keyedFrom: 1 });
    });

    it('list filters by each column, oldest first, and pages by seq; a page reads at most AUDIT_SCAN_WINDOW records of the trail', async () => {
      const store = h.store();
      const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
      const rows = [
        { ...record('SecretGet', at(1)), vault: 'kv-a', secret: 'db', principal: 'p-1' },
        { ...record('SecretSet', at(2)), vault: 'kv-a', secret: 'api', principal: 'p-2' },
        { ...record('SecretGet', at(3)), vault: 'kv-b', secret: 'db', principal: 'p-1', resultType: 'Failure', httpStatus: 403 },
        { ...record('VaultPut', at(4)), vault: 'kv-b', secret: null, principal: 'p-2' },
        { ...record('SecretGet', at(5)), vault: 'kv-a', secret: 'db', principal: 'p-2' },
      ];
      await store.audit.append(rows);
      const seqs = async (filter: AuditFilter, limit = 100) => {
        const out: number[] = [];
        let after: string | null = null;
        do {
          const page: Page<AuditRow> = await store.audit.list(filter, limit, after);
          out.push(...page.items.map((r) => r.seq));
          after = page.next;
        } while (after !== null);
        return out;
      };
      assert.deepEqual(await seqs({}), [1, 2, 3, 4, 5]);
      assert.deepEqual(await seqs({}, 2), [1, 2, 3, 4, 5], 'pages of two');
      assert.deepEqual(await seqs({ vault: 'KV-A' }), [1, 2, 5], 'lookup columns match case-insensitively');
      assert.deepEqual(await seqs({ vault: 'kv-a', secret: 'db' }), [1, 5]);
      assert.deepEqual(await seqs({ principal: 'p-2' }, 1), [2, 4, 5]);
      assert.deepEqual(await seqs({ operation: 'SecretGet', resultType: 'Failure' }), [3]);
      assert.deepEqual(await seqs({ from: at(2), to: at(5) }), [2, 3, 4]);
      assert.deepEqual(await seqs({ from: at(4), vault: 'kv-a' }), [5]);
      assert.deepEqual(await store.audit.list({ from: at(6) }, 10, null), { items: [], next: null });
      assert.deepEqual(await seqs({ vault: 'none' }), []);

      // Past the window: a rare match leaves short or empty pages that go on after the window, never a skipped record.
      const filler = Array.from({ length: AUDIT_SCAN_WINDOW + 10 }, () => ({ ...record('SecretGet', at(10)), vault: 'kv-c', record: '{}' }));
      await store.audit.append(filler);
      await store.audit.append([{ ...record('SecretPurge', at(11)), vault: 'kv-c' }]);
      const first = await store.audit.list({ operation: 'SecretPurge' }, 10, null);
      assert.deepEqual(first, { items: [], next: String(AUDIT_SCAN_WINDOW) }, 'nothing in the first window');
      const second = await store.audit.list({ operation: 'SecretPurge' }, 10, first.next);
      assert.deepEqual([second.items.map((r) => r.seq), second.next], [[rows.length + filler.length + 1], null]);
      assert.deepEqual(await seqs({ vault: 'kv-a' }), [1, 2, 5]);
      // Walking the vault's index, the window counts that vault's entries.
      const purgeSeq = rows.length + filler.length + 1;
      const inVault = await store.audit.list({ vault: 'kv-c', operation: 'SecretPurge' }, 10, null);
      assert.deepEqual(inVault, { items: [], next: String(rows.length + AUDIT_SCAN_WINDOW) });
      const inVaultNext = await store.audit.list({ vault: 'kv-c', operation: 'SecretPurge' }, 10, inVault.next);
      assert.deepEqual([inVaultNext.items.map((r) => r.seq), inVaultNext.next], [[purgeSeq], null]);
      assert.deepEqual(await seqs({ vault: 'kv-c', from: at(11) }), [purgeSeq]);
      // A first page from a time starts at that time's first record, whatever the window.
      const fromEnd = await store.audit.list({ from: at(11) }, 10, null);
      assert.deepEqual([fromEnd.items.map((r) => r.operation), fromEnd.next], [['SecretPurge'], null]);
      // A walk stops at the last record before `to=`, however far the trail goes on.
      assert.deepEqual(await store.audit.list({ to: at(6) }, 10, null), { items: (await store.audit.list({}, 5, null)).items, next: null });
      assert.deepEqual(await store.audit.list({ to: at(1) }, 10, null), { items: [], next: null });
      // Where it stops is found once and carried in the cursor.
      assert.equal((await store.audit.list({ to: at(6) }, 2, null)).next, '2.5');
      assert.deepEqual(await seqs({ to: at(6) }, 2), [1, 2, 3, 4, 5]);
      // After retention, the first page starts where the trail does: no run of empty pages over the cut.
      assert.equal(await store.audit.deleteBefore(at(11)), rows.length + filler.length);
      const afterCut = await store.audit.list({}, 10, null);
      assert.deepEqual([afterCut.items.map((r) => r.seq), afterCut.next], [[purgeSeq], null]);
      const vaultAfterCut = await store.audit.list({ vault: 'kv-c', from: at(0) }, 10, null);
      assert.deepEqual([vaultAfterCut.items.map((r) => r.seq), vaultAfterCut.next], [[purgeSeq], null]);
    });

    it('deleteBefore removes old rows and moves the anchor with them; the chain goes on from it', async () => {
      await h.store().audit.append([record('old-1', '2020-01-01T00:00:00.000Z'), record('old-2', '2020-01-02T00:00:00.000Z'), record('new', '2026-01-01T00:00:00.000Z')]);
      const [, second] = await all();
      assert.equal(await h.store().audit.deleteBefore('2025-01-01T00:00:00.000Z'), 2);
      assert.deepEqual((await h.store().audit.ends()).anchor, { seq: 2, hash: second!.hash, mac: pointMac(h.auditKey().key, 'anchor', second!) });
      assert.equal(await h.store().audit.deleteBefore('2025-01-01T00:00:00.000Z'), 0);
      assert.deepEqual(await verify(), { ok: true, checked: 1, head: 3, keyedFrom: 1 });
      // Everything goes; the next record still follows the last one removed.
      assert.equal(await h.store().audit.deleteBefore('2030-01-01T00:00:00.000Z'), 1);
      await h.store().audit.append([record('after')]);
      const [after] = await all();
      assert.equal(after!.seq, 4);
      assert.deepEqual(await verify(), { ok: true, checked: 1, head: 4, keyedFrom: 1 });
    });
  });
}
