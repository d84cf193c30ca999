import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import Database from 'better-sqlite3';
import { renewalLink, renewalMac } from '../src/audit/audit-chain.js';
import { AuditKeyChangedError, createAuditKeySource, loadAuditKey, loadRecordedAuditKey, recordAuditKeyGeneration, renewAuditKey } from '../src/audit/audit-key.js';
import { createAuditLog, toRecord } from '../src/audit/audit-log.js';
import { IntegrityError } from '../src/crypto/envelope.js';
import { createKeyring } from '../src/crypto/keyring.js';
import { wrapInto } from '../src/crypto/wrapped-setting.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { auditEntry as entry, setSetting } from './support/audit-store-kit.js';

// The audit key's generations (audit/audit-key.ts): what a renewal binds, and
// what a writer of the database holding an old master key cannot do with them.

describe('audit key generations', () => {
  const renewedTrail = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-audit-renewal-'));
    const store = openSqliteStore({ file: join(dir, 'coffer.db') });
    const keyring = createKeyring(randomBytes(32));
    const record = join(dir, 'audit-key.json');
    const first = await loadRecordedAuditKey(store, keyring, record);
    store.audit.useKey(first);
    const log = createAuditLog({ store: store.audit, keys: () => loadAuditKey(store, keyring) });
    await log.write(entry(new Date().toISOString()));
    const single = await store.settings.get('auditKey');
    assert.equal(await renewAuditKey(store, keyring), true);
    await log.write(entry(new Date().toISOString()));
    recordAuditKeyGeneration(record, await loadAuditKey(store, keyring));
    return { store, keyring, record, log, single: single!, db: new Database(join(dir, 'coffer.db')) };
  };

  it("a renewal's first record cannot be moved: its MAC under the new key no longer matches", async () => {
    const { store, keyring, db, log } = await renewedTrail();
    assert.deepEqual(await log.verify(), { ok: true, checked: 2, head: 2, keyedFrom: 1 });
    const stored = JSON.parse(db.prepare("SELECT value FROM settings WHERE key = 'auditKey'").pluck().get() as string) as { renewals: Array<{ since: number }> };
    assert.equal(stored.renewals[0]!.since, 2);
    for (const since of [3, 1, 0]) {
      setSetting(db, 'auditKey', JSON.stringify({ ...stored, renewals: [{ ...stored.renewals[0], since }] }));
      await assert.rejects(loadAuditKey(store, keyring), (err: Error) => err instanceof IntegrityError && /generation 1 names a first record/.test(err.message));
      assert.deepEqual(await log.verify(), {
        ok: false,
        checked: 0,
        firstBadSeq: 1,
        reason: `the audit key cannot be read: the audit key's generation 1 names a first record (${since}) it was not renewed at`,
      });
    }
    db.close();
    await store.close();
  });

  it('a key row put back to fewer generations is refused at start, and by a server that saw more', async () => {
    const { store, keyring, db, record, single } = await renewedTrail();
    const source = createAuditKeySource(store.settings, keyring, await loadAuditKey(store, keyring));
    assert.equal((await source.current()).generation, 1);
    // The row as it was before the rotation (its key is one an old master key opens).
    setSetting(db, 'auditKey', single);
    await assert.rejects(source.current(), /of generation 0, older than generation 1 this server used/);
    await assert.rejects(loadRecordedAuditKey(store, keyring, record), (err: Error) => err instanceof AuditKeyChangedError && /generations up to 0 only, where this data dir saw generation 1/.test(err.message));
    db.close();
    await store.close();
  });
});

describe('audit key generations forged under an old master key', () => {
  it('a generation added after one its writer does not hold is refused; one put in place of the newest is noticed at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-audit-forged-'));
    const store = openSqliteStore({ file: join(dir, 'coffer.db') });
    // The keyring still holds the old master key (a rotation that stopped before dropping it, or COFFER_PREVIOUS_MASTER_KEYS kept).
    const keyring = createKeyring(randomBytes(32));
    const record = join(dir, 'audit-key.json');
    store.audit.useKey(await loadRecordedAuditKey(store, keyring, record));
    const k0 = await loadAuditKey(store, keyring); // what the old master key's holder unwraps from an old copy
    assert.equal(await renewAuditKey(store, keyring), true);
    await store.audit.append([toRecord(entry(new Date().toISOString()))]);
    recordAuditKeyGeneration(record, await loadAuditKey(store, keyring));
    const db = new Database(join(dir, 'coffer.db'));
    const row = JSON.parse(db.prepare("SELECT value FROM settings WHERE key = 'auditKey'").pluck().get() as string) as { renewals: Array<Record<string, unknown>> };
    const forgedRenewal = (generation: number, previous: KeyObject) => {
      const bytes = randomBytes(32);
      const key = createSecretKey(bytes);
      const since = 1;
      return { ...wrapInto(keyring, bytes, `coffer/audit-key/v1/generation=${generation}`, { since }), mac: renewalMac(key, generation, since), link: renewalLink(previous, key, generation, since) };
    };
    // A generation 2 after the real generation 1, linked with a key of the writer's own (they do not hold generation 1's).
    setSetting(db, 'auditKey', JSON.stringify({ ...row, renewals: [...row.renewals, forgedRenewal(2, createSecretKey(randomBytes(32)))] }));
    await assert.rejects(loadAuditKey(store, keyring), (err: Error) => err instanceof IntegrityError && /generation 2 was not made by a renewal of generation 1/.test(err.message));
    // Generation 1 replaced by one linked to generation 0, which the writer holds: it loads, but the data dir saw another.
    setSetting(db, 'auditKey', JSON.stringify({ ...row, renewals: [forgedRenewal(1, k0.key)] }));
    assert.equal((await loadAuditKey(store, keyring)).generation, 1);
    await assert.rejects(loadRecordedAuditKey(store, keyring, record), (err: Error) => err instanceof AuditKeyChangedError && /another key as generation 1 than this data dir saw/.test(err.message));
    db.close();
    await store.close();
  });
});
