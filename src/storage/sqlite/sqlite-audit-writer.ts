import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { AuditRow } from '../store-types.js';

// Audit batches are committed by a worker thread with its own connection to
// the database file: the fsync of each durable batch then happens off the
// event loop, so requests keep being served while the trail is made durable.
// The worker is plain JavaScript evaluated from this string, so it runs the
// same from sources and from the build.

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 10000');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
const insert = db.prepare(\`INSERT INTO audit_events (seq, time, vault, secret, principal, operation, result_type, http_status, record, prev_hash, hash)
  VALUES (@seq, @time, @vault, @secret, @principal, @operation, @resultType, @httpStatus, @record, @prevHash, @hash)\`);
const append = db.transaction((rows) => { for (const r of rows) insert.run(r); });
parentPort.on('message', (msg) => {
  if (msg.close) { db.close(); parentPort.close(); return; }
  try { append.immediate(msg.rows); parentPort.postMessage({ id: msg.id, ok: true }); }
  catch (err) { parentPort.postMessage({ id: msg.id, ok: false, message: String(err && err.message || err), code: err && err.code }); }
});
`;

export interface AuditWriter {
  append(rows: AuditRow[]): Promise<void>;
  close(): Promise<void>;
}

export function createAuditWriter(file: string): AuditWriter {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } });
  // Held open only while work is outstanding, so an idle store never keeps the process alive.
  worker.unref();
  const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let nextId = 1;
  worker.on('message', (msg: { id: number; ok: boolean; message?: string; code?: string }) => {
    const w = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (waiting.size === 0) worker.unref();
    if (!w) return;
    if (msg.ok) w.resolve();
    else w.reject(Object.assign(new Error(msg.message), { code: msg.code }));
  });
  worker.on('error', (err) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  });
  return {
    append(rows) {
      return new Promise<void>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, rows });
      });
    },
    async close() {
      worker.ref();
      worker.postMessage({ close: true });
      await new Promise<void>((r) => worker.once('exit', () => r()));
    },
  };
}
