import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Store, VaultRow } from '../../src/storage/store-types.js';
import { collect, isConflict, versionRow } from './store-conformance-kit.js';

// Secrets part of the storage contract (see store-conformance.ts).

export interface ConformanceHandle {
  store(): Store;
  newVault(overrides?: Partial<VaultRow>): Promise<VaultRow>;
}

export function describeSecretConformance(h: ConformanceHandle): void {
  describe('secrets', () => {
    it('stores every field of a version and returns it with its seq', async () => {
      const v = await h.newVault();
      const input = versionRow(v.id, 'full', { contentType: 'application/json', tags: { k: 'v' }, enabled: false, nbf: 10, exp: 20, created: 5, updated: 6 });
      const stored = await h.store().secrets.insertVersion(input);
      assert.deepEqual(stored, { ...input, seq: 1 });
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'full', input.version), stored);
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'full', null), stored);
      const { ciphertext: _c, ...meta } = stored;
      assert.deepEqual(await h.store().secrets.getSummary(v.id, 'full'), { ...meta, deleted: null });
    });

    it('the latest version has the highest seq, whatever the order of version ids', async () => {
      const v = await h.newVault();
      const first = await h.store().secrets.insertVersion(versionRow(v.id, 'Db-Password', { version: 'f'.repeat(32) }));
      const second = await h.store().secrets.insertVersion(versionRow(v.id, 'db-password', { version: '0'.repeat(32) }));
      const third = await h.store().secrets.insertVersion(versionRow(v.id, 'DB-PASSWORD', { version: '8'.repeat(32) }));
      assert.deepEqual([first.seq, second.seq, third.seq], [1, 2, 3]);
      assert.equal(third.name, 'Db-Password', 'the first spelling of the name is kept');
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'db-PASSWORD', null), third);
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'db-password', first.version), first);
      assert.equal((await h.store().secrets.getSummary(v.id, 'Db-Password'))?.version, third.version);
      assert.equal(await h.store().secrets.getVersion(v.id, 'db-password', '1'.repeat(32)), null);
      assert.equal(await h.store().secrets.getVersion(v.id, 'other', null), null);
      assert.equal(await h.store().secrets.getSummary(v.id, 'other'), null);
      assert.deepEqual((await h.store().secrets.allVersions(v.id, 'db-password')).map((r) => r.seq), [1, 2, 3], 'oldest first');
      assert.deepEqual((await h.store().secrets.allVersions(v.id, 'db-password', 2)).map((r) => r.seq), [1, 2], 'at most a limit, oldest first');
    });

    it('the same name in two vaults is two secrets', async () => {
      const a = await h.newVault();
      const b = await h.newVault();
      await h.store().secrets.insertVersion(versionRow(a.id, 'shared', { ciphertext: Buffer.from('a') }));
      await h.store().secrets.insertVersion(versionRow(b.id, 'shared', { ciphertext: Buffer.from('b') }));
      await h.store().secrets.insertVersion(versionRow(b.id, 'shared', { ciphertext: Buffer.from('b2') }));
      assert.deepEqual((await h.store().secrets.getVersion(a.id, 'shared', null))?.ciphertext, Buffer.from('a'));
      assert.deepEqual((await h.store().secrets.getVersion(b.id, 'shared', null))?.ciphertext, Buffer.from('b2'));
      assert.equal(await h.store().secrets.countVersions(a.id), 1);
      assert.equal(await h.store().secrets.countVersions(b.id), 2);
    });

    it('pages through live secrets by name key with no duplicates or omissions', async () => {
      const v = await h.newVault();
      const names = Array.from({ length: 53 }, (_, i) => `${i % 2 ? 'S' : 's'}-${String(i).padStart(3, '0')}`);
      for (const n of [...names].reverse()) await h.store().secrets.insertVersion(versionRow(v.id, n));
      await h.store().secrets.markDeleted(v.id, names[7]!, { deletedAt: 1, scheduledPurgeAt: 2 });
      const live = names.filter((_, i) => i !== 7);
      const { items, pages } = await collect((after) => h.store().secrets.list(v.id, 25, after), 25);
      assert.deepEqual(items.map((s) => s.name), live);
      assert.equal(pages, 3);
      for (const s of items) {
        assert.equal(s.deleted, null);
        assert.ok(!('ciphertext' in s), 'list items carry no ciphertext');
      }
      const exact = await h.store().secrets.list(v.id, 52, null);
      assert.equal(exact.items.length, 52);
      assert.equal(exact.next, null, 'an exactly full last page has no continuation');
      assert.deepEqual(await h.store().secrets.list(randomUUID(), 25, null), { items: [], next: null });
    });

    it('pages through deleted secrets', async () => {
      const v = await h.newVault();
      const names = Array.from({ length: 27 }, (_, i) => `gone-${String(i).padStart(2, '0')}`);
      for (const n of names) {
        await h.store().secrets.insertVersion(versionRow(v.id, n));
        await h.store().secrets.markDeleted(v.id, n, { deletedAt: 5, scheduledPurgeAt: 9 });
      }
      await h.store().secrets.insertVersion(versionRow(v.id, 'alive'));
      const { items, pages } = await collect((after) => h.store().secrets.listDeleted(v.id, 10, after), 10);
      assert.deepEqual(items.map((s) => s.name), names);
      assert.equal(pages, 3);
      for (const s of items) assert.deepEqual(s.deleted, { deletedAt: 5, scheduledPurgeAt: 9 });
    });

    it('pages through the versions of a secret by version id', async () => {
      const v = await h.newVault();
      const versions: string[] = [];
      for (let i = 0; i < 30; i++) versions.push((await h.store().secrets.insertVersion(versionRow(v.id, 'Many'))).version);
      await h.store().secrets.insertVersion(versionRow(v.id, 'other'));
      const { items, pages } = await collect((after) => h.store().secrets.listVersions(v.id, 'MANY', 7, after), 7);
      assert.deepEqual(items.map((x) => x.version), [...versions].sort());
      assert.equal(pages, 5);
      for (const m of items) {
        assert.equal(m.name, 'Many');
        assert.ok(!('ciphertext' in m), 'version metadata carries no ciphertext');
      }
      assert.deepEqual(await h.store().secrets.listVersions(v.id, 'absent', 7, null), { items: [], next: null });
    });

    it('updateVersion changes only the patched fields of one version of a live secret', async () => {
      const v = await h.newVault();
      const row = await h.store().secrets.insertVersion(versionRow(v.id, 'upd', { tags: { a: '1' }, contentType: 'x', nbf: 1, exp: 2 }));
      const next = await h.store().secrets.insertVersion(versionRow(v.id, 'upd'));
      const { ciphertext: _c, ...meta } = row;
      const updated = await h.store().secrets.updateVersion(v.id, 'UPD', row.version, { enabled: false, tags: null, exp: 500, updated: 3000 });
      assert.deepEqual(updated, { ...meta, enabled: false, tags: null, exp: 500, updated: 3000 });
      const again = await h.store().secrets.updateVersion(v.id, 'upd', row.version, { contentType: null, nbf: null, tags: { b: '2' }, updated: 3001 });
      assert.deepEqual(again, { ...meta, enabled: false, tags: { b: '2' }, contentType: null, nbf: null, exp: 500, updated: 3001 });
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'upd', row.version), { ...again, ciphertext: row.ciphertext });
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'upd', null), next, 'other versions are untouched');

      assert.equal(await h.store().secrets.updateVersion(v.id, 'upd', '9'.repeat(32), { updated: 1 }), null);
      assert.equal(await h.store().secrets.updateVersion(v.id, 'absent', row.version, { updated: 1 }), null);
      await h.store().secrets.markDeleted(v.id, 'upd', { deletedAt: 1, scheduledPurgeAt: 2 });
      assert.equal(await h.store().secrets.updateVersion(v.id, 'upd', row.version, { enabled: true, updated: 4 }), null);
      await h.store().secrets.recover(v.id, 'upd');
      assert.equal((await h.store().secrets.getVersion(v.id, 'upd', row.version))?.enabled, false, 'the refused update changed nothing');
    });

    it('soft delete hides a secret from reads and lists and shows it as deleted; recover restores it', async () => {
      const v = await h.newVault();
      const row = await h.store().secrets.insertVersion(versionRow(v.id, 'Gone'));
      await h.store().secrets.insertVersion(versionRow(v.id, 'stays'));
      assert.equal(await h.store().secrets.markDeleted(v.id, 'GONE', { deletedAt: 10, scheduledPurgeAt: 99 }), true);
      assert.equal(await h.store().secrets.markDeleted(v.id, 'gone', { deletedAt: 11, scheduledPurgeAt: 99 }), false, 'already deleted');
      assert.equal(await h.store().secrets.markDeleted(v.id, 'absent', { deletedAt: 11, scheduledPurgeAt: 99 }), false);

      assert.equal(await h.store().secrets.getVersion(v.id, 'gone', null), null);
      assert.equal(await h.store().secrets.getVersion(v.id, 'gone', row.version), null);
      assert.deepEqual((await h.store().secrets.list(v.id, 25, null)).items.map((s) => s.name), ['stays']);
      assert.deepEqual((await h.store().secrets.listDeleted(v.id, 25, null)).items.map((s) => s.name), ['Gone']);
      const { ciphertext: _c, ...meta } = row;
      assert.deepEqual(await h.store().secrets.getSummary(v.id, 'gone'), { ...meta, deleted: { deletedAt: 10, scheduledPurgeAt: 99 } });
      assert.deepEqual(await h.store().secrets.listVersions(v.id, 'gone', 25, null), { items: [], next: null });
      assert.deepEqual(await h.store().secrets.allVersions(v.id, 'gone'), []);
      assert.equal(await h.store().secrets.countVersions(v.id), 2, 'deleted versions still exist');

      assert.equal(await h.store().secrets.recover(v.id, 'gone'), true);
      assert.equal(await h.store().secrets.recover(v.id, 'gone'), false, 'not deleted');
      assert.equal(await h.store().secrets.recover(v.id, 'absent'), false);
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'gone', null), row);
      assert.equal((await h.store().secrets.getSummary(v.id, 'gone'))?.deleted, null);
      assert.deepEqual((await h.store().secrets.listDeleted(v.id, 25, null)).items, []);
    });

    it('insertVersion on a soft-deleted secret throws StoreConflictError("deleted") and changes nothing', async () => {
      const v = await h.newVault();
      const row = await h.store().secrets.insertVersion(versionRow(v.id, 'gone'));
      await h.store().secrets.markDeleted(v.id, 'gone', { deletedAt: 10, scheduledPurgeAt: 99 });
      await assert.rejects(h.store().secrets.insertVersion(versionRow(v.id, 'GONE')), isConflict('deleted'));
      assert.equal(await h.store().secrets.countVersions(v.id), 1);
      await h.store().secrets.recover(v.id, 'gone');
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'gone', null), row);
    });

    it('purge removes every version, live or deleted; the name can then start over', async () => {
      const v = await h.newVault();
      await h.store().secrets.insertVersion(versionRow(v.id, 'p1'));
      await h.store().secrets.insertVersion(versionRow(v.id, 'p1'));
      await h.store().secrets.insertVersion(versionRow(v.id, 'p2'));
      const kept = await h.store().secrets.insertVersion(versionRow(v.id, 'p3'));
      assert.equal(await h.store().secrets.purge(v.id, 'P1'), true, 'a live secret');
      assert.equal(await h.store().secrets.purge(v.id, 'p1'), false);
      await h.store().secrets.markDeleted(v.id, 'p2', { deletedAt: 1, scheduledPurgeAt: 50 });
      assert.equal(await h.store().secrets.purge(v.id, 'p2'), true, 'a deleted secret');
      assert.equal(await h.store().secrets.getSummary(v.id, 'p1'), null);
      assert.equal(await h.store().secrets.getSummary(v.id, 'p2'), null);
      assert.equal(await h.store().secrets.countVersions(v.id), 1);
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'p3', null), kept);
      assert.equal((await h.store().secrets.insertVersion(versionRow(v.id, 'p1'))).seq, 1);
    });

    it('purgeExpired purges deleted secrets at or after their scheduled time only', async () => {
      const v = await h.newVault();
      const w = await h.newVault();
      for (const n of ['due', 'edge', 'later', 'live']) await h.store().secrets.insertVersion(versionRow(v.id, n));
      await h.store().secrets.insertVersion(versionRow(v.id, 'due'));
      await h.store().secrets.insertVersion(versionRow(w.id, 'elsewhere'));
      await h.store().secrets.markDeleted(v.id, 'due', { deletedAt: 1, scheduledPurgeAt: 50 });
      await h.store().secrets.markDeleted(v.id, 'edge', { deletedAt: 1, scheduledPurgeAt: 100 });
      await h.store().secrets.markDeleted(v.id, 'later', { deletedAt: 1, scheduledPurgeAt: 5000 });
      await h.store().secrets.markDeleted(w.id, 'elsewhere', { deletedAt: 1, scheduledPurgeAt: 60 });
      assert.equal(await h.store().secrets.purgeExpired(49), 0);
      assert.equal(await h.store().secrets.purgeExpired(100), 3);
      for (const [vault, name] of [[v.id, 'due'], [v.id, 'edge'], [w.id, 'elsewhere']] as const) {
        assert.equal(await h.store().secrets.getSummary(vault, name), null, name);
      }
      assert.equal((await h.store().secrets.getSummary(v.id, 'later'))?.deleted?.scheduledPurgeAt, 5000);
      assert.equal((await h.store().secrets.getSummary(v.id, 'live'))?.deleted, null);
      assert.equal(await h.store().secrets.countVersions(v.id), 2);
      assert.equal(await h.store().secrets.countVersions(w.id), 0);
    });

    it('restore inserts every version in order; the last one is the latest', async () => {
      const v = await h.newVault();
      const versions = [
        versionRow(v.id, 'Restored', { version: 'b'.repeat(32), created: 1, updated: 1, tags: { n: '1' } }),
        versionRow(v.id, 'Restored', { version: 'c'.repeat(32), created: 2, updated: 3, enabled: false }),
        versionRow(v.id, 'Restored', { version: 'a'.repeat(32), created: 4, updated: 4, contentType: 'text/plain', nbf: 4, exp: 8 }),
      ];
      await h.store().secrets.restore(v.id, 'Restored', versions);
      const expected = versions.map((r, i) => ({ ...r, seq: i + 1 }));
      assert.deepEqual(await h.store().secrets.allVersions(v.id, 'restored'), expected);
      assert.deepEqual(await h.store().secrets.getVersion(v.id, 'RESTORED', null), expected[2]);
      assert.equal((await h.store().secrets.insertVersion(versionRow(v.id, 'restored'))).seq, 4);
    });

    it('restore refuses a live name ("exists") or a soft-deleted one ("deleted") and changes nothing', async () => {
      const v = await h.newVault();
      const live = await h.store().secrets.insertVersion(versionRow(v.id, 'live'));
      const gone = await h.store().secrets.insertVersion(versionRow(v.id, 'gone'));
      await h.store().secrets.markDeleted(v.id, 'gone', { deletedAt: 1, scheduledPurgeAt: 2 });
      await assert.rejects(h.store().secrets.restore(v.id, 'LIVE', [versionRow(v.id, 'LIVE'), versionRow(v.id, 'LIVE')]), isConflict('exists'));
      await assert.rejects(h.store().secrets.restore(v.id, 'Gone', [versionRow(v.id, 'Gone')]), isConflict('deleted'));
      assert.equal(await h.store().secrets.countVersions(v.id), 2);
      assert.deepEqual(await h.store().secrets.allVersions(v.id, 'live'), [live]);
      const { ciphertext: _c, ...goneMeta } = gone;
      assert.deepEqual(await h.store().secrets.getSummary(v.id, 'gone'), { ...goneMeta, deleted: { deletedAt: 1, scheduledPurgeAt: 2 } });
    });

    it('countVersions counts every version of a vault, deleted secrets included', async () => {
      const v = await h.newVault();
      assert.equal(await h.store().secrets.countVersions(v.id), 0);
      await h.store().secrets.insertVersion(versionRow(v.id, 'a'));
      await h.store().secrets.insertVersion(versionRow(v.id, 'a'));
      await h.store().secrets.insertVersion(versionRow(v.id, 'b'));
      await h.store().secrets.markDeleted(v.id, 'b', { deletedAt: 1, scheduledPurgeAt: 2 });
      assert.equal(await h.store().secrets.countVersions(v.id), 3);
      assert.equal(await h.store().secrets.countVersions(randomUUID()), 0);
    });
  
    it('concurrent inserts all land with distinct seqs; one refused insert does not undo the others', async () => {
      const v = await h.newVault();
      await h.store().secrets.insertVersion(versionRow(v.id, 'gone'));
      await h.store().secrets.markDeleted(v.id, 'gone', { deletedAt: 1, scheduledPurgeAt: 2 });
      const results = await Promise.allSettled([
        ...Array.from({ length: 8 }, () => h.store().secrets.insertVersion(versionRow(v.id, 'busy'))),
        h.store().secrets.insertVersion(versionRow(v.id, 'gone')),
      ]);
      const ok = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<Store['secrets']['insertVersion']>>> => r.status === 'fulfilled');
      assert.equal(ok.length, 8);
      assert.deepEqual(ok.map((r) => r.value.seq).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
      const refused = results[8]!;
      assert.ok(refused.status === 'rejected' && isConflict('deleted')(refused.reason));
      assert.equal(await h.store().secrets.countVersions(v.id), 9);
    });
  });
}
