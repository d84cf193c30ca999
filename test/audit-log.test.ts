import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { randomBytes, type KeyObject } from 'node:crypto';
import Database from 'better-sqlite3';
import { ANCHOR_SETTING, GENESIS, HEAD_SETTING, rowHash, sealedPoint } from '../src/audit/audit-chain.js';
import { AuditKeyChangedError, loadAuditKey, loadRecordedAuditKey } from '../src/audit/audit-key.js';
import { createAuditLog, toRecord, VERIFY_PAGE } from '../src/audit/audit-log.js';
import { IntegrityError } from '../src/crypto/envelope.js';
import { createKeyring } from '../src/crypto/keyring.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { AuditRow } from '../src/storage/store-types.js';
import { keyAuditChain } from './support/store-conformance-kit.js';
import { auditEntry as entry, setSetting } from './support/audit-store-kit.js';

// The audit log's own rules: batching, chain verification, retention, and
// what verification catches when someone with write access to the database
// (but not the master key) edits the trail.

const open = async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'coffer-audit-log-')), 'coffer.db');
  const store = openSqliteStore({ file });
  const keyring = createKeyring(randomBytes(32));
  const key = await keyAuditChain(store, keyring);
  return { file, store, key, keyring, log: createAuditLog({ store: store.audit, keys: async () => key }) };
};

describe('audit log', () => {
  it('keeps U+0000 out of the lookup columns, and in the event as sent', () => {
    const base = entry('2026-01-01T00:00:00.000Z');
    const uri = 'https://v/secrets/A\u0000b';
    const e = { ...base, vault: 'V\u0000', secret: 'A\u0000b', principal: '\u0000', event: { ...base.event, properties: { ...base.event.properties, requestUri: uri } } };
    const r = toRecord(e);
    assert.deepEqual([r.vault, r.secret, r.principal], ['v\uFFFD', 'a\uFFFDb', '\uFFFD']);
    assert.equal((JSON.parse(r.record) as typeof e.event).properties.requestUri, uri);
    assert.ok(!r.record.includes('\u0000'), 'JSON escapes it');
    assert.equal(toRecord({ ...e, vault: null, secret: undefined as unknown as null }).vault, null);
  });

  it('writes concurrent entries in order as one chain', async () => {
    const { store, log } = await open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.write(entry(new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()))));
    await log.write(entry(new Date().toISOString()));
    assert.deepEqual(await log.verify(), { ok: true, checked: 51, head: 51, keyedFrom: 1 });
    await store.close();
  });

  it('verifies page by page in turns of the event loop, and concurrent verifications share one run', async () => {
    const { store, log } = await open();
    const pages = 4;
    await Promise.all(Array.from({ length: pages * VERIFY_PAGE }, () => log.write(entry(new Date().toISOString()))));
    // SQLite reads are synchronous: without a pause between pages, no other callback would run until the end.
    let turns = 0;
    let done = false;
    const tick = () => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const first = log.verify();
    assert.equal(log.verify(), first, 'a second caller joins the run in progress');
    assert.deepEqual(await first, { ok: true, checked: pages * VERIFY_PAGE, head: pages * VERIFY_PAGE, keyedFrom: 1 });
    done = true;
    assert.ok(turns >= pages, `other callbacks ran ${turns} times during the verification`);
    assert.notEqual(log.verify(), first, 'a call after it finished starts a new run');
    await log.verify();
    await store.close();
  });

  it('retention waits for a verification in progress, and a verification for a retention: a cut between pages is no false alarm', async () => {
    const { store, log } = await open();
    const old = Array.from({ length: 4 * VERIFY_PAGE }, () => log.write(entry('2020-01-01T00:00:00.000Z')));
    await Promise.all(old);
    await Promise.all(Array.from({ length: 10 }, () => log.write(entry(new Date().toISOString()))));
    const verifying = log.verify();
    // As the hourly sweep would: a few turns of the event loop into the verification.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const retained = log.retain(new Date('2021-01-01T00:00:00.000Z'));
    assert.deepEqual(await verifying, { ok: true, checked: 4 * VERIFY_PAGE + 10, head: 4 * VERIFY_PAGE + 10, keyedFrom: 1 });
    const verifyingAfter = log.verify();
    assert.equal(await retained, 4 * VERIFY_PAGE);
    assert.deepEqual((await verifyingAfter).ok, true);
    await store.close();
  });

  it('detects reordered records', async () => {
    const { file, store, log } = await open();
    for (const op of ['SecretGet', 'SecretSet', 'SecretList']) await log.write(entry(new Date().toISOString(), op));
    const db = new Database(file);
    const rows = db.prepare('SELECT seq, record, operation FROM audit_events ORDER BY seq').all() as Array<{ seq: number; record: string; operation: string }>;
    const swap = db.prepare('UPDATE audit_events SET record = ?, operation = ? WHERE seq = ?');
    db.transaction(() => {
      swap.run(rows[2]!.record, rows[2]!.operation, 2);
      swap.run(rows[1]!.record, rows[1]!.operation, 3);
    })();
    db.close();
    const result = await log.verify();
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.firstBadSeq, 2);
    await store.close();
  });

  it('retention drops old records and keeps the rest verifiable', async () => {
    const { store, log } = await open();
    for (let i = 0; i < 10; i++) await log.write(entry(new Date(Date.UTC(2020, 0, 1 + i)).toISOString()));
    for (let i = 0; i < 5; i++) await log.write(entry(new Date(Date.UTC(2026, 0, 1 + i)).toISOString()));
    assert.equal(await log.retain(new Date(Date.UTC(2025, 0, 1))), 10);
    assert.equal((await store.audit.list({}, 100, null)).items.length, 5);
    assert.deepEqual(await log.verify(), { ok: true, checked: 5, head: 15, keyedFrom: 1 });
    await log.write(entry(new Date().toISOString()));
    assert.deepEqual(await log.verify(), { ok: true, checked: 6, head: 16, keyedFrom: 1 });
    await store.close();
  });
});

describe('audit chain against a writer of the database without the master key', () => {
  const COLUMNS = 'seq, time, vault, secret, principal, operation, result_type AS resultType, http_status AS httpStatus, record, prev_hash AS prevHash, hash';
  const readRows = (db: Database.Database) => db.prepare(`SELECT ${COLUMNS} FROM audit_events ORDER BY seq`).all() as AuditRow[];
  const putRow = (db: Database.Database, r: AuditRow) =>
    db
      .prepare(
        `INSERT OR REPLACE INTO audit_events (seq, time, vault, secret, principal, operation, result_type, http_status, record, prev_hash, hash)
         VALUES (@seq, @time, @vault, @secret, @principal, @operation, @resultType, @httpStatus, @record, @prevHash, @hash)`,
      )
      .run(r);
  /** Rewrites rows from `fromSeq` on, each re-chained to the one before with `key` (null: plain SHA-256, all an attacker can do). */
  const rechain = (db: Database.Database, fromSeq: number, edit: (r: AuditRow) => void, key: KeyObject | null) => {
    const rows = readRows(db);
    let prev = rows.find((r) => r.seq === fromSeq - 1)?.hash ?? GENESIS;
    for (const r of rows.filter((x) => x.seq >= fromSeq)) {
      edit(r);
      r.prevHash = prev;
      const { hash: _old, ...rest } = r;
      r.hash = prev = rowHash(rest, key);
      putRow(db, r);
    }
    return rows.at(-1)!;
  };

  async function trail() {
    const opened = await open();
    for (let i = 0; i < 5; i++) await opened.log.write(entry(new Date(Date.UTC(2020 + i, 0, 1)).toISOString()));
    return { ...opened, db: new Database(opened.file) };
  }

  it('a record rewritten and the chain hashed again without the key fails at that record; with the key it would pass', async () => {
    const { store, log, db, key } = await trail();
    rechain(db, 3, (r) => (r.principal = 'someone-else'), null);
    assert.deepEqual(await log.verify(), { ok: false, checked: 2, firstBadSeq: 3, reason: 'record 3 was modified' });
    // The same edit by the holder of the key, head checkpoint included, verifies: the key is what catches it.
    const last = rechain(db, 3, (r) => (r.principal = 'someone-else'), key.key);
    setSetting(db, HEAD_SETTING, sealedPoint(key.key, 'head', last));
    assert.deepEqual(await log.verify(), { ok: true, checked: 5, head: 5, keyedFrom: 1 });
    db.close();
    await store.close();
  });

  it('the newest records deleted, with or without the head checkpoint moved back, fail', async () => {
    const { store, log, db } = await trail();
    db.prepare('DELETE FROM audit_events WHERE seq > 3').run();
    assert.deepEqual(await log.verify(), { ok: false, checked: 3, firstBadSeq: 4, reason: 'records 4 to 5 are missing: the trail was cut at its end' });
    // The next honest record goes on from the sealed head, so the cut stays a gap.
    await log.write(entry(new Date().toISOString()));
    assert.deepEqual(await log.verify(), { ok: false, checked: 3, firstBadSeq: 4, reason: 'record 4 is missing (next present is 6)' });
    const row3 = readRows(db).at(-1)!;
    setSetting(db, HEAD_SETTING, JSON.stringify({ seq: 3, hash: row3.hash, mac: row3.hash }));
    assert.equal((await log.verify()).ok, false);
    setSetting(db, HEAD_SETTING, null);
    assert.deepEqual(await log.verify(), { ok: false, checked: 0, firstBadSeq: 1, reason: "the chain's head checkpoint is missing or was changed" });
    // Records still go in, and never seal a checkpoint over the edit.
    await log.write(entry(new Date().toISOString()));
    assert.equal(db.prepare("SELECT value FROM settings WHERE key = 'auditHead'").get(), undefined);
    assert.equal((await log.verify()).ok, false);
    db.close();
    await store.close();
  });

  it('the oldest records cut with the anchor moved as retention would move it fail', async () => {
    const { store, log, db } = await trail();
    const row2 = readRows(db)[1]!;
    db.prepare('DELETE FROM audit_events WHERE seq <= 2').run();
    setSetting(db, ANCHOR_SETTING, JSON.stringify({ seq: 2, hash: row2.hash }));
    assert.deepEqual(await log.verify(), { ok: false, checked: 0, firstBadSeq: 3, reason: "the chain's anchor (record 2, where retention last cut) was changed" });
    db.close();
    await store.close();
  });

  it('records from before the chain had a key verify by their plain hash, bound to the keyed ones after them', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'coffer-audit-legacy-')), 'coffer.db');
    const store = openSqliteStore({ file });
    const db = new Database(file);
    // As an earlier version left them: three rows chained with plain SHA-256, no key, no checkpoint.
    let prev = GENESIS;
    for (let seq = 1; seq <= 3; seq++) {
      const row = { ...toRecord(entry(new Date(Date.UTC(2024, 0, seq)).toISOString())), seq, prevHash: prev };
      prev = rowHash(row, null);
      putRow(db, { ...row, hash: prev });
    }
    const keyedFrom: number[] = [];
    const key = await loadAuditKey(store, createKeyring(randomBytes(32)), (since) => keyedFrom.push(since));
    assert.deepEqual([key.since, keyedFrom], [4, [4]], 'the start says where keying began');
    store.audit.useKey(key);
    const log = createAuditLog({ store: store.audit, keys: async () => key });
    await log.write(entry(new Date().toISOString()));
    await log.write(entry(new Date().toISOString()));
    assert.deepEqual(await log.verify(), { ok: true, checked: 5, head: 5, keyedFrom: 4 });
    // An old row edited and the old rows hashed again: the first keyed row no longer follows.
    const rows = readRows(db);
    db.prepare('DELETE FROM audit_events WHERE seq > 3').run();
    rechain(db, 2, (r) => (r.operation = 'SecretList'), null);
    // The keyed rows go back untouched: they cannot be redone without the key.
    for (const r of rows.slice(3)) putRow(db, r);
    assert.deepEqual(await log.verify(), { ok: false, checked: 3, firstBadSeq: 4, reason: 'record 4 does not follow record 3 (deleted or reordered)' });
    db.close();
    await store.close();
  });

  it('a stored MAC of any shape is a failed check, never an error', async () => {
    const { store, log, db } = await trail();
    db.prepare('UPDATE audit_events SET hash = ? WHERE seq = 2').run('\u00e9'.repeat(64));
    assert.deepEqual(await log.verify(), { ok: false, checked: 1, firstBadSeq: 2, reason: 'record 2 was modified' });
    db.close();
    await store.close();
  });

  it('an anchor from before keying is sealed when the key is made; one set up later without a seal fails', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'coffer-audit-legacy-anchor-')), 'coffer.db');
    const store = openSqliteStore({ file });
    const db = new Database(file);
    // As an earlier version's retention left it: rows 3 and 4 after an unsealed anchor at 2.
    let prev = 'cd'.repeat(32);
    setSetting(db, ANCHOR_SETTING, JSON.stringify({ seq: 2, hash: prev }));
    for (let seq = 3; seq <= 4; seq++) {
      const row = { ...toRecord(entry(new Date(Date.UTC(2024, 0, seq)).toISOString())), seq, prevHash: prev };
      prev = rowHash(row, null);
      putRow(db, { ...row, hash: prev });
    }
    const key = await keyAuditChain(store);
    const log = createAuditLog({ store: store.audit, keys: async () => key });
    await log.write(entry(new Date().toISOString()));
    assert.deepEqual(await log.verify(), { ok: true, checked: 3, head: 5, keyedFrom: 5 });
    // The old rows cut and the anchor moved to the last of them, as retention before keying would have.
    const row3 = readRows(db)[0]!;
    db.prepare('DELETE FROM audit_events WHERE seq = 3').run();
    setSetting(db, ANCHOR_SETTING, JSON.stringify({ seq: 3, hash: row3.hash }));
    assert.deepEqual(await log.verify(), { ok: false, checked: 0, firstBadSeq: 4, reason: "the chain's anchor (record 3, where retention last cut) was changed" });
    db.close();
    await store.close();
  });

  it('a database whose audit key was removed or replaced is refused at start, before anything is keyed anew', async () => {
    const { store, db, keyring, file } = await trail();
    const record = join(dirname(file), 'audit-key.json');
    const first = await loadRecordedAuditKey(store, keyring, record);
    assert.equal(statSync(record).mode & 0o777, 0o600);
    assert.ok((await loadRecordedAuditKey(store, keyring, record)).key.equals(first.key), 'the same key again');
    // Removed, with every record hashed again unkeyed: the next start would key the trail from its end.
    setSetting(db, 'auditKey', null);
    await assert.rejects(loadRecordedAuditKey(store, keyring, record), (err: Error) => err instanceof AuditKeyChangedError && /audit key is missing/.test(err.message));
    assert.equal(await store.settings.get('auditKey'), null, 'nothing keyed anew');
    // Replaced by another: refused too. Without the record (a database replaced on purpose), it starts.
    const other = await loadAuditKey(store, keyring);
    await assert.rejects(loadRecordedAuditKey(store, keyring, record), /audit key is another \(keyed from record 6\)/);
    rmSync(record);
    assert.ok((await loadRecordedAuditKey(store, keyring, record)).key.equals(other.key));
    db.close();
    await store.close();
  });

  it('the first keyed seq cannot be moved: the key no longer unwraps', async () => {
    const { store, db, keyring, key } = await trail();
    assert.equal((await loadAuditKey(store, keyring)).key.equals(key.key), true);
    const stored = JSON.parse(db.prepare("SELECT value FROM settings WHERE key = 'auditKey'").pluck().get() as string) as { since: number };
    setSetting(db, 'auditKey', JSON.stringify({ ...stored, since: 6 }));
    await assert.rejects(loadAuditKey(store, keyring), IntegrityError);
    db.close();
    await store.close();
  });
});

describe('audit chain hash format', () => {
  it('is HMAC-SHA-256 over each field followed by NUL, and plain SHA-256 of the same for rows from before keying (so they still verify)', async () => {
    const { createHash, createHmac, createSecretKey } = await import('node:crypto');
    const row = { seq: 7, time: '2026-11-29T00:00:00.000Z', vault: 'kv', secret: null, principal: 'p', operation: 'SecretGet', resultType: 'Success', httpStatus: 200, record: '{"a":"ü"}', prevHash: 'ab'.repeat(32) };
    const h = createHash('sha256');
    for (const part of [row.prevHash, '7', row.time, 'kv', '', 'p', 'SecretGet', 'Success', '200', row.record]) h.update(part).update('\u0000');
    const plain = h.digest('hex');
    assert.equal(rowHash(row, null), plain);
    // Keyed: HMAC-SHA-256 over the same bytes.
    const key = createSecretKey(randomBytes(32));
    const mac = createHmac('sha256', key);
    for (const part of [row.prevHash, '7', row.time, 'kv', '', 'p', 'SecretGet', 'Success', '200', row.record]) mac.update(part).update('\u0000');
    assert.equal(rowHash(row, key), mac.digest('hex'));
  });
});

describe('audit chain hash buffer', () => {
  it('hashes fields written into its buffer exactly as the joined string, for any size and any script', async () => {
    const { createHash } = await import('node:crypto');
    const reference = (r: Parameters<typeof rowHash>[0]) =>
      createHash('sha256')
        .update([r.prevHash, String(r.seq), r.time, r.vault ?? '', r.secret ?? '', r.principal ?? '', r.operation, r.resultType, String(r.httpStatus), r.record, ''].join('\u0000'))
        .digest('hex');
    // Well inside the 64 KiB buffer, every size across its edge (ending in a 3-byte character), and far past it.
    const records = ['', '{"a":"é€"}', 'x'.repeat(1000), 'é€'.repeat(100_000)];
    for (let n = 65_400; n <= 65_460; n++) records.push(`${'x'.repeat(n)}€`);
    for (const record of records) {
      const row = { seq: record.length, time: 't', vault: 'kv', secret: 'ü', principal: null, operation: 'SecretGet', resultType: 'Success', httpStatus: 200, record, prevHash: 'ab'.repeat(32) };
      assert.equal(rowHash(row, null), reference(row), `record of ${Buffer.byteLength(record)} bytes`);
    }
    // A short row after a long one: nothing of the earlier contents leaks into the digest.
    const short = { seq: 1, time: 't', vault: null, secret: null, principal: null, operation: 'X', resultType: 'Success', httpStatus: 200, record: '{}', prevHash: '0'.repeat(64) };
    assert.equal(rowHash(short, null), reference(short));
  });
});
