// The writer thread's program (see sqlite-writer.ts). It is plain JavaScript
// evaluated from this string, so it runs the same from sources and from the
// build; the SQL comes from the stores through workerData.
//
// Messages received while a commit is running are applied together in the
// next transaction, one savepoint each (a refused write is undone alone):
// concurrent secret writes and audit batches share one commit and one fsync.

export const WRITER_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const { sql } = workerData;
const db = new Database(workerData.file);
db.pragma('busy_timeout = 10000');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');

const insertAudit = db.prepare(sql.auditInsert);
const secretState = db.prepare(sql.secretState);
const createSecret = db.prepare(sql.createSecret);
const pointLatest = db.prepare(sql.pointLatest);
const addVersionRow = db.prepare(sql.addVersionRow);

const apply = {
  audit(rows) {
    for (const r of rows) insertAudit.run(r);
    return null;
  },
  // A new version of a secret: the next seq, under the secret's canonical name.
  secretVersion(p) {
    const s = secretState.get(p.vaultId, p.nameKey);
    if (s && s.deleted_at !== null) return { conflict: 'deleted' };
    const seq = (s ? s.latest_seq : 0) + 1;
    const name = s ? s.name : p.name;
    if (s) pointLatest.run(seq, p.vaultId, p.nameKey);
    else createSecret.run(p.vaultId, p.nameKey, name, seq);
    addVersionRow.run({ ...p, name, seq, ciphertext: Buffer.from(p.ciphertext.buffer, p.ciphertext.byteOffset, p.ciphertext.byteLength) });
    return { name, seq };
  },
};
const failure = (err) => ({ ok: false, message: String((err && err.message) || err), code: err && err.code });
// Nested in the batch transaction, each call runs in its own savepoint.
const one = db.transaction((m) => apply[m.op](m.arg));
const batch = db.transaction((items) => items.map((m) => {
  try { return { ok: true, value: one(m) }; } catch (err) { return failure(err); }
}));

let queue = [];
let closing = false;
function flush() {
  const items = queue;
  queue = [];
  if (items.length === 0) return;
  let results;
  try { results = batch.immediate(items); }
  catch (err) { const f = failure(err); results = items.map(() => f); }
  parentPort.postMessage(results.map((r, i) => ({ id: items[i].id, ...r })));
}
// A message is either { close: true } or an array of writes.
parentPort.on('message', (m) => {
  if (m.close) { closing = true; flush(); db.close(); parentPort.close(); return; }
  if (closing) return;
  const first = queue.length === 0;
  for (const item of m) queue.push(item);
  if (first) setImmediate(flush);
});
`;
