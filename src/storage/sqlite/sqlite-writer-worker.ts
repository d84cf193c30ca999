import { ANCHOR_SETTING, AUDIT_KEY_SETTING, chainRecord, chainStart, HEAD_SETTING, isSealed, latestGeneration, NO_ANCHOR, pointFrom, pointMac, renewalLink, renewalMac, renewalSettings, rowHash, sealedPoint } from '../../audit/audit-chain.js';

// The writer thread's program (see sqlite-writer.ts). It is plain JavaScript
// evaluated from this string, so it runs the same from sources and from the
// build; the SQL comes from the stores through workerData, and the audit
// chain's functions are their own source (audit-chain.ts keeps them
// self-contained).
//
// Messages received while a commit is running are applied together in the
// next transaction, one savepoint each (a refused write is undone alone):
// concurrent secret writes and audit batches share one commit and one fsync.
// Audit records are numbered and chained here, in the transaction that
// stores them, going on from the sealed head checkpoint (audit-chain.ts),
// which is sealed again in the same transaction; a new version may carry its own record, stored with it or not
// at all. Until the audit keys arrive ({ auditKeys }), records are refused.
// A renewal of the audit key is a write like the others (renewAuditKey): it
// runs in the batch transaction, in order with the appends around it.
//
// SQLite starts the WAL over only when no reader is inside it. The server's
// secret reads hold a read transaction for a turn of its event loop
// (sqlite-read-snapshot.ts), so under steady load the restart can miss for a
// while and the WAL grows; past walLimit a TRUNCATE checkpoint waits for the
// readers to let go (a turn at most) and empties it.

/** The code of a writer error whose version was undone because its audit record could not be stored. */
export const AUDIT_RECORD_REFUSED = 'COFFER_AUDIT_RECORD_REFUSED';

export const WRITER_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const { createHmac, hash, timingSafeEqual } = require('node:crypto');
const Database = require(workerData.driver);
const { sql } = workerData;
const ANCHOR_SETTING = ${JSON.stringify(ANCHOR_SETTING)};
const HEAD_SETTING = ${JSON.stringify(HEAD_SETTING)};
const AUDIT_KEY_SETTING = ${JSON.stringify(AUDIT_KEY_SETTING)};
const NO_ANCHOR = ${JSON.stringify(NO_ANCHOR)};
const pointFrom = ${pointFrom.toString()};
const pointMac = ${pointMac.toString()};
const isSealed = ${isSealed.toString()};
const sealedPoint = ${sealedPoint.toString()};
const rowHash = ${rowHash.toString()};
const chainRecord = ${chainRecord.toString()};
const chainStart = ${chainStart.toString()};
const latestGeneration = ${latestGeneration.toString()};
const renewalMac = ${renewalMac.toString()};
const renewalLink = ${renewalLink.toString()};
const renewalSettings = ${renewalSettings.toString()};
const db = new Database(workerData.file);
const walFile = workerData.file + '-wal';
const BUSY_TIMEOUT_MS = 10000;
const AUDIT_RECORD_REFUSED = ${JSON.stringify(AUDIT_RECORD_REFUSED)};
const CHECKPOINT_WAIT_MS = 200;
db.pragma('busy_timeout = ' + BUSY_TIMEOUT_MS);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');

const insertAudit = db.prepare(sql.auditInsert);
const auditHead = db.prepare(sql.auditHead);
const setting = db.prepare(sql.setting).pluck();
const setSetting = db.prepare(sql.setSetting);
const secretState = db.prepare(sql.secretState);
const createSecret = db.prepare(sql.createSecret);
const pointLatest = db.prepare(sql.pointLatest);
const addVersionRow = db.prepare(sql.addVersionRow);

// The audit key by generation.
let auditKeys = null;
// The chain's last row within the current transaction, whether it came from the sealed checkpoint, and the key generation in use.
let head = null;
let headSealed = false;
let headGeneration = -1;
function readHead() {
  const start = chainStart(auditKeys, setting.get(HEAD_SETTING), () => auditHead.get(), () => setting.get(ANCHOR_SETTING));
  headSealed = start.sealed;
  headGeneration = start.generation;
  return start.head;
}
// Each row is inserted as soon as it is chained, so it dies young. The head
// moves only once every row is in: a failed insert leaves it where its
// savepoint leaves the table.
function appendAudit(records) {
  const key = auditKeys && auditKeys[headGeneration];
  if (!key) throw new Error('the audit chain has no key yet: records are not stored unkeyed');
  let link = head;
  for (const r of records) {
    link = chainRecord(link, r, key);
    insertAudit.run(link);
  }
  head = { seq: link.seq, hash: link.hash };
}

const apply = {
  audit(records) {
    appendAudit(records);
    return null;
  },
  // A new version of a secret: the next seq, under the secret's canonical name, with its audit record if it brings one.
  secretVersion(p) {
    const s = secretState.get(p.vaultId, p.nameKey);
    if (s && s.deleted_at !== null) return { conflict: 'deleted' };
    const seq = (s ? s.latest_seq : 0) + 1;
    const name = s ? s.name : p.name;
    if (!s) createSecret.run(p.vaultId, p.nameKey, name, seq);
    // Named parameters not in the statement (audit) are ignored.
    const row = addVersionRow.run({ ...p, name, seq, ciphertext: Buffer.from(p.ciphertext.buffer, p.ciphertext.byteOffset, p.ciphertext.byteLength) });
    pointLatest.run(seq, row.lastInsertRowid, p.vaultId, p.nameKey);
    if (p.audit) {
      try { appendAudit([p.audit]); } catch (err) {
        // A full disk or an I/O error is the storage's, not the record's: it keeps its code (a 503 for storage).
        if (err && /^SQLITE_(FULL|IOERR)/.test(String(err.code))) throw err;
        const refused = new Error(String((err && err.message) || err));
        refused.code = AUDIT_RECORD_REFUSED;
        throw refused;
      }
    }
    return { name, seq };
  },
  // The audit key's next generation, from the next record on (renewalSettings); the keys it brings are used only if it is stored.
  renewAuditKey(p) {
    const keyRow = setting.get(AUDIT_KEY_SETTING);
    // A head found unsealed may have been read without keys (a store that was never given them, as offline): read with the renewal's.
    const start = headSealed
      ? { head, sealed: true, generation: headGeneration, unknownGeneration: null }
      : chainStart(p.keys, setting.get(HEAD_SETTING), () => auditHead.get(), () => setting.get(ANCHOR_SETTING));
    const settings = keyRow ? renewalSettings(p.keys, p.renewal, keyRow, start, setting.get(ANCHOR_SETTING)) : null;
    if (!settings) return { renewed: false };
    for (const name of Object.keys(settings)) setSetting.run(name, settings[name]);
    auditKeys = p.keys;
    // The head checkpoint, if it was sealed, is sealed under the new generation now (renewalSettings).
    head = start.head;
    headSealed = start.sealed;
    headGeneration = p.renewal.generation;
    return { renewed: true };
  },
};
const failure = (err) => ({ ok: false, message: String((err && err.message) || err), code: err && err.code });
// Nested in the batch transaction, each call runs in its own savepoint.
const one = db.transaction((m) => apply[m.op](m.arg));
// SQLite may answer a failed statement (SQLITE_FULL, an I/O error) by undoing
// the whole transaction, not just its savepoint: then nothing of the batch is
// stored, and a later write would run (and commit) outside it, chained from a
// head that was undone. The batch stops there (UndoneBatch), and flush fails
// the write that caused it and runs the others again.
class UndoneBatch extends Error {
  constructor(index, cause) { super('the batch was undone'); this.index = index; this.cause = cause; }
}
const batch = db.transaction((items) => {
  head = readHead();
  const start = head.seq;
  const results = items.map((m, i) => {
    try { return { ok: true, value: one(m) }; } catch (err) {
      if (!db.inTransaction) throw new UndoneBatch(i, err);
      return failure(err);
    }
  });
  if (head.seq !== start && headSealed) setSetting.run(HEAD_SETTING, sealedPoint(auditKeys[headGeneration], 'head', head, headGeneration));
  return results;
});

let sinceWalCheck = 0;
function boundWal() {
  if (++sinceWalCheck < workerData.walCheckEvery) return;
  sinceWalCheck = 0;
  let size;
  try { size = statSync(walFile).size; } catch { return; }
  if (size <= workerData.walLimit) return;
  // Waits for readers a short while only: writes queue behind it. If one stays, the next check tries again.
  db.pragma('busy_timeout = ' + CHECKPOINT_WAIT_MS);
  try { db.pragma('wal_checkpoint(TRUNCATE)'); } finally { db.pragma('busy_timeout = ' + BUSY_TIMEOUT_MS); }
}

let queue = [];
let closing = false;
// Commits the items, retrying the others without the one whose failure undid the batch (each retry is one item shorter).
function commit(items) {
  const replies = [];
  let todo = items;
  while (todo.length > 0) {
    let results;
    try { results = batch.immediate(todo); }
    catch (err) {
      if (err instanceof UndoneBatch) {
        replies.push({ id: todo[err.index].id, ...failure(err.cause) });
        todo = todo.filter((_, i) => i !== err.index);
        continue;
      }
      // The commit itself failed (a full disk at COMMIT): SQLite undid it, nothing is stored.
      const f = failure(err);
      results = todo.map(() => f);
    }
    for (let i = 0; i < todo.length; i++) replies.push({ id: todo[i].id, ...results[i] });
    break;
  }
  return replies;
}
function flush() {
  const items = queue;
  queue = [];
  if (items.length === 0) return;
  parentPort.postMessage(commit(items));
  try { boundWal(); } catch { /* a failed checkpoint leaves the WAL as it was; the next check tries again */ }
}
// A message is either { close: true } or an array of writes.
parentPort.on('message', (m) => {
  if (m.close) { closing = true; flush(); db.close(); parentPort.close(); return; }
  if (m.auditKeys) { auditKeys = m.auditKeys; return; }
  if (m.pageCap) { db.pragma('max_page_count = ' + Number(m.pageCap)); return; }
  if (closing) return;
  const first = queue.length === 0;
  for (const item of m) queue.push(item);
  if (first) setImmediate(flush);
});
`;
