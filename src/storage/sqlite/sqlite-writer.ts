import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { ChainKeys, KeyRenewal } from '../../audit/audit-chain.js';
import type { AuditRecord, SecretVersionRow } from '../store-types.js';
import { WRITER_WORKER_SOURCE } from './sqlite-writer-worker.js';

// The hot durable writes (audit batches and new secret versions) are committed
// by one worker thread with its own connection to the database file. The
// commit's fsync then happens off the event loop, so requests keep being
// served while writes are made durable, and the two kinds of write never
// contend for SQLite's write lock with each other. A write's promise settles
// after its transaction has committed (synchronous=FULL): acknowledged means
// durable. A new version that brings its audit record commits with it, so a
// durable SET costs one commit instead of two (its version, then its record).
// Other, rarer writes stay on the main connection.

/** SQL for the writer's statements, owned by the store modules. */
export interface WriterSql {
  auditInsert: string;
  auditHead: string;
  setting: string;
  setSetting: string;
  secretState: string;
  createSecret: string;
  pointLatest: string;
  addVersionRow: string;
}

/**
 * Named parameters of `addVersionRow`, less the seq the writer decides; `name`
 * is the name as given (the secret's canonical name wins if it exists).
 */
export type NewVersionParams = Omit<SecretVersionRow, 'seq' | 'tags' | 'enabled'> & { nameKey: string; tags: string | null; enabled: number; audit?: AuditRecord };

export type NewVersionResult = { name: string; seq: number } | { conflict: 'deleted' };

/** An error from the writer thread, with SQLite's code when there is one. */
export class WriterError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface SqliteWriter {
  appendAudit(records: AuditRecord[]): Promise<void>;
  /** The audit chain's MAC keys by generation, for every record after the writes already requested. */
  useAuditKeys(keys: ChainKeys): void;
  /** Stores the audit key's next generation in order with the writes around it (sqlite-writer-worker.ts); `keys` include it. */
  renewAuditKey(keys: ChainKeys, renewal: KeyRenewal): Promise<boolean>;
  insertVersion(params: NewVersionParams): Promise<NewVersionResult>;
  /** Test-only (sqlite-test-page-cap.ts): the writer connection's max_page_count, for the writes requested after it. */
  setPageCap(pages: number): void;
  close(): Promise<void>;
}

/**
 * The thread keeps only its statements and the current batch; without limits
 * its isolate would take V8's defaults for a large machine (16 MB semi-spaces)
 * and hold tens of MB of garbage. It allocates little (the batches it is
 * sent), so the smallest young generation costs no measurable throughput and
 * saves 3-5 MB of RSS against 4 MB. The old generation leaves room for a large
 * backlog of queued writes while the disk is slow.
 */
const WRITER_HEAP = { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 128 };

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; code?: string };

/** The WAL size past which the writer empties it even if readers keep overlapping (see sqlite-writer-worker.ts). */
export const WAL_LIMIT_BYTES = 64 * 1024 * 1024;
/** How often (in commits) the writer looks at the WAL's size. */
export const WAL_CHECK_EVERY_COMMITS = 64;

export function createWriter(file: string, sql: WriterSql, walLimit = WAL_LIMIT_BYTES): SqliteWriter {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  // No inherited node flags: the program is plain CommonJS (a parent's --input-type=module would break it).
  const worker = new Worker(WRITER_WORKER_SOURCE, { eval: true, execArgv: [], workerData: { file, driver, sql, walLimit, walCheckEvery: WAL_CHECK_EVERY_COMMITS }, resourceLimits: WRITER_HEAP });
  // Held open only while work is outstanding, so an idle store never keeps the process alive.
  worker.unref();
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  worker.on('message', (replies: Reply[]) => {
    for (const r of replies) {
      const w = waiting.get(r.id);
      waiting.delete(r.id);
      if (!w) continue;
      if (r.ok) w.resolve(r.value);
      else w.reject(new WriterError(r.message, r.code));
    }
    if (waiting.size === 0) worker.unref();
  });
  // A dead writer fails every outstanding and later write instead of leaving it hanging.
  let dead: Error | null = null;
  const fail = (err: Error) => {
    dead ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('the SQLite writer thread has stopped')));

  // Writes requested during one turn of the event loop travel in one message:
  // each message wakes the thread, and that wake-up (about 13 µs here) costs
  // more than the data it carries.
  let outbox: Array<{ id: number; op: string; arg: unknown }> = [];
  const post = () => {
    const items = outbox;
    outbox = [];
    if (dead) return;
    worker.postMessage(items);
  };

  function send<R>(op: 'audit' | 'secretVersion' | 'renewAuditKey', arg: unknown): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (dead) return reject(dead);
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.ref();
      if (outbox.length === 0) setImmediate(post);
      outbox.push({ id, op, arg });
    });
  }

  return {
    appendAudit: (records) => send<null>('audit', records).then(() => undefined),
    useAuditKeys(keys) {
      if (outbox.length > 0) post();
      worker.postMessage({ auditKeys: keys });
    },
    setPageCap(pages) {
      if (outbox.length > 0) post();
      if (!dead) worker.postMessage({ pageCap: pages });
    },
    renewAuditKey: (keys, renewal) => send<{ renewed: boolean }>('renewAuditKey', { keys, renewal }).then((r) => r.renewed),
    // A small Buffer is a view of a shared 8 KiB pool, which postMessage would copy whole: send an exact copy.
    insertVersion: (params) => send<NewVersionResult>('secretVersion', { ...params, ciphertext: new Uint8Array(params.ciphertext) }),
    async close() {
      if (dead) return;
      worker.ref();
      const exited = new Promise<void>((r) => worker.once('exit', () => r()));
      if (outbox.length > 0) post(); // writes already requested go first
      worker.postMessage({ close: true });
      await exited;
    },
  };
}
