import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { StoreParentGoneError, type KeyCredentialRow, type Store } from '../../src/storage/store-types.js';
import { auditRecord, byKey, isConflict, principal } from './store-conformance-kit.js';

// Certificate credentials of service principals: stored with their bytes as
// given, changed (added and removed) in one transaction with the write's
// audit record, removed with their principal, and their seal replaced only
// where it is still the one read.

function keyRow(objectId: string, over: Partial<KeyCredentialRow> = {}): KeyCredentialRow {
  return {
    keyId: randomUUID(),
    objectId,
    certificate: randomBytes(300),
    thumbprintSha1: randomBytes(20).toString('hex').toUpperCase(),
    thumbprintSha256: randomBytes(32).toString('hex').toUpperCase(),
    displayName: 'CN=conformance',
    startAt: 100,
    endAt: 2_000_000_000,
    mac: 'a1.0.mac',
    ...over,
  };
}

export function describeKeyCredentialConformance(h: { store(): Store }): void {
  describe('principals: key credentials', () => {
    const sorted = (rows: KeyCredentialRow[]) => [...rows].sort(byKey((k) => k.keyId));

    it('adds and removes in one change with its record, lists per principal and all; deleting the principal removes them', async () => {
      const store = h.store();
      const sp = principal({ appId: randomUUID() });
      const other = principal({ appId: randomUUID() });
      for (const p of [sp, other]) await store.principals.insert(p);
      const [a, b, c] = [keyRow(sp.objectId, { startAt: 1 }), keyRow(sp.objectId, { displayName: null, mac: null }), keyRow(other.objectId)];
      await store.principals.changeKeyCredentials(sp.objectId, { add: [a, b], remove: [] }, auditRecord('add key credentials'));
      await store.principals.changeKeyCredentials(other.objectId, { add: [c], remove: [] });
      const listed = await store.principals.listKeyCredentials(sp.objectId);
      assert.deepEqual(sorted(listed), sorted([a, b]));
      assert.ok(Buffer.isBuffer(listed[0]!.certificate), 'the certificate reads back as bytes');
      assert.deepEqual(sorted(await store.principals.allKeyCredentials()).filter((k) => [a, b, c].some((x) => x.keyId === k.keyId)), sorted([a, b, c]));
      assert.deepEqual(await store.principals.listKeyCredentials(randomUUID()), []);

      // Another principal's keyId names nothing here; one change removes and adds together.
      const d = keyRow(sp.objectId);
      await store.principals.changeKeyCredentials(sp.objectId, { add: [d], remove: [a.keyId, c.keyId] }, auditRecord('replace key credentials'));
      assert.deepEqual(sorted(await store.principals.listKeyCredentials(sp.objectId)), sorted([b, d]));
      assert.deepEqual(await store.principals.listKeyCredentials(other.objectId), [c]);
      const records = (await store.audit.range(1, 10_000)).map((r) => r.operation).filter((o) => o.endsWith('key credentials'));
      assert.deepEqual(records, ['add key credentials', 'replace key credentials']);

      assert.equal(await store.principals.delete(sp.objectId), true);
      assert.deepEqual(await store.principals.listKeyCredentials(sp.objectId), []);
      assert.deepEqual(await store.principals.listKeyCredentials(other.objectId), [c]);
    });

    it('a change fails whole: a taken keyId or a principal that is gone stores nothing, and appends no record', async () => {
      const store = h.store();
      const sp = principal({ appId: randomUUID() });
      await store.principals.insert(sp);
      const a = keyRow(sp.objectId);
      await store.principals.changeKeyCredentials(sp.objectId, { add: [a], remove: [] });
      const fresh = keyRow(sp.objectId);
      await assert.rejects(
        store.principals.changeKeyCredentials(sp.objectId, { add: [fresh, { ...keyRow(sp.objectId), keyId: a.keyId }], remove: [] }, auditRecord('refused key change')),
        isConflict('exists'),
      );
      // The refused change stored neither row.
      assert.deepEqual(await store.principals.listKeyCredentials(sp.objectId), [a]);
      await assert.rejects(store.principals.changeKeyCredentials(randomUUID(), { add: [keyRow(randomUUID())], remove: [] }, auditRecord('refused key change')), StoreParentGoneError);
      await assert.rejects(store.principals.changeKeyCredentials(randomUUID(), { add: [], remove: [] }), StoreParentGoneError);
      assert.deepEqual((await store.audit.range(1, 10_000)).filter((r) => r.operation === 'refused key change'), []);
    });

    it('with `expected`, a change applies only over exactly those stored keyIds (compare-and-set), in any order or case', async () => {
      const store = h.store();
      const sp = principal({ appId: randomUUID() });
      await store.principals.insert(sp);
      const a = keyRow(sp.objectId);
      const b = keyRow(sp.objectId);
      await store.principals.changeKeyCredentials(sp.objectId, { add: [a, b], remove: [], expected: [] });
      const c = keyRow(sp.objectId);
      await assert.rejects(store.principals.changeKeyCredentials(sp.objectId, { add: [c], remove: [a.keyId], expected: [a.keyId] }, auditRecord('stale key change')), isConflict('changed'));
      await assert.rejects(store.principals.changeKeyCredentials(sp.objectId, { add: [c], remove: [], expected: [] }), isConflict('changed'));
      assert.deepEqual((await store.principals.listKeyCredentials(sp.objectId)).map((k) => k.keyId).sort(), [a.keyId, b.keyId].sort());
      await store.principals.changeKeyCredentials(sp.objectId, { add: [c], remove: [a.keyId], expected: [b.keyId.toUpperCase(), a.keyId] });
      assert.deepEqual((await store.principals.listKeyCredentials(sp.objectId)).map((k) => k.keyId).sort(), [b.keyId, c.keyId].sort());
      assert.deepEqual((await store.audit.range(1, 10_000)).filter((r) => r.operation === 'stale key change'), []);
    });

    it('insert stores a principal with its first key credentials in one transaction: a taken keyId stores neither', async () => {
      const store = h.store();
      const sp = principal({ appId: randomUUID() });
      const k = keyRow(sp.objectId);
      await store.principals.insert(sp, auditRecord('create with key credentials'), undefined, [k]);
      assert.deepEqual(await store.principals.listKeyCredentials(sp.objectId), [k]);
      for (const audit of [undefined, auditRecord('refused create')]) {
        const late = principal({ appId: randomUUID() });
        await assert.rejects(store.principals.insert(late, audit, undefined, [{ ...keyRow(late.objectId), keyId: k.keyId }]), isConflict('exists'));
        assert.equal(await store.principals.get(late.objectId), null, 'the principal went with its keys');
      }
      assert.deepEqual((await store.audit.range(1, 10_000)).map((r) => r.operation).filter((o) => o.includes('create')), ['create with key credentials']);
    });

    it("setKeyCredentialMac replaces a row's seal only while it is still the one read (none included)", async () => {
      const store = h.store();
      const sp = principal({ appId: randomUUID() });
      await store.principals.insert(sp);
      const [sealed, bare] = [keyRow(sp.objectId, { mac: 'a1.0.old' }), keyRow(sp.objectId, { mac: null })];
      await store.principals.changeKeyCredentials(sp.objectId, { add: [sealed, bare], remove: [] });
      assert.equal(await store.principals.setKeyCredentialMac(sealed.keyId, 'a1.1.new', 'a1.0.stale'), false);
      assert.equal(await store.principals.setKeyCredentialMac(sealed.keyId, 'a1.1.new', null), false);
      assert.equal(await store.principals.setKeyCredentialMac(sealed.keyId, 'a1.1.new', 'a1.0.old'), true);
      assert.equal(await store.principals.setKeyCredentialMac(bare.keyId, 'a1.1.bare', 'a1.0.old'), false);
      assert.equal(await store.principals.setKeyCredentialMac(bare.keyId, 'a1.1.bare', null), true);
      assert.equal(await store.principals.setKeyCredentialMac(randomUUID(), 'a1.1.x', null), false);
      const macs = Object.fromEntries((await store.principals.listKeyCredentials(sp.objectId)).map((k) => [k.keyId, k.mac]));
      assert.deepEqual(macs, { [sealed.keyId]: 'a1.1.new', [bare.keyId]: 'a1.1.bare' });
    });
  });
}
