import { isStorageFull, type AuditFilter, type AuditRecord, type AuditStore } from '../storage/store-types.js';
import { verifyChain, type ChainEnds, type ChainKey, type VerifyResult } from './audit-chain.js';
import type { createFileSink } from './audit-file-sink.js';
import type { AuditHighWater } from './audit-high-water.js';
import type { AuditEntry } from './audit-types.js';

// The audit trail. Entries are queued and written in batches: one durable
// transaction (and one file append) per batch, whatever the number of
// concurrent requests. `write` resolves only when its entry is stored, so a
// response can wait for its record (fail-closed); a failed batch rejects
// every waiter and marks the trail unhealthy until a write succeeds. The store
// numbers and chains the records in the transaction that stores them.

/** Records verified per turn of the event loop (about 2 ms of work each). */
export const VERIFY_PAGE = 250;

interface Waiter {
  record: AuditRecord;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * A lookup column's text. A request can put U+0000 in a path (`%00`), which
 * PostgreSQL's text cannot hold (a refused record would refuse the writes
 * committed with it) and which separates the fields of a record's hash: it
 * becomes U+FFFD here. The event's JSON keeps it, escaped.
 */
const column = (s: string | null | undefined): string | null => (s == null ? null : s.toLowerCase().replaceAll('\u0000', '\uFFFD'));

/** The stored form of an entry: the event's JSON and the columns it is found by. */
export function toRecord(entry: AuditEntry): AuditRecord {
  return {
    time: entry.event.time,
    vault: column(entry.vault),
    secret: column(entry.secret),
    principal: column(entry.principal),
    operation: entry.event.operationName,
    resultType: entry.event.resultType,
    httpStatus: entry.event.properties.httpStatusCode,
    record: JSON.stringify(entry.event),
  };
}

export interface AuditLogDeps {
  store: AuditStore;
  /** The chain's keys as stored now (every generation): read at each verification, since a rotation renews them. */
  keys: () => Promise<ChainKey>;
  fileSink?: ReturnType<typeof createFileSink>;
  /** The highest record this data dir saw (audit-high-water.ts): verification is held to it. */
  highWater?: AuditHighWater;
  /**
   * False while the database is away (database-outage.ts): a write is refused at once. Through a network
   * partition it would otherwise wait the pool's whole wait for a connection that cannot come, and hold
   * the refusal of its request (a 503 either way) that long.
   */
  available?: () => boolean;
}

export function createAuditLog(deps: AuditLogDeps) {
  let queue: Waiter[] = [];
  let flushing: Promise<void> | null = null;
  let lastError: string | null = null;
  // Whether the last failure was the storage's (a full disk): /healthz says so.
  let storageFull = false;

  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const records = batch.map((w) => w.record);
        if (deps.fileSink) await deps.fileSink.write(records.map((r) => r.record));
        await deps.store.append(records);
        lastError = null;
        storageFull = false;
        batch.forEach((w) => w.resolve());
      } catch (err) {
        lastError = (err as Error).message;
        storageFull = isStorageFull(err);
        batch.forEach((w) => w.reject(err as Error));
      }
    }
  }

  function schedule() {
    if (flushing) return;
    // Everything queued while a batch is being written goes in the next one.
    flushing = new Promise<void>((r) => setImmediate(r))
      .then(flush)
      .finally(() => {
        flushing = null;
        if (queue.length > 0) schedule();
      });
  }

  let verifying: Promise<VerifyResult> | null = null;
  let retaining: Promise<number> | null = null;
  /**
   * Reading and hashing a page of records is synchronous on SQLite: the
   * server would stand still for the whole trail (about a second per
   * 100,000 records). Small pages, each in its own turn of the event loop,
   * keep requests flowing while any Reader verifies.
   */
  async function verifyInTurns(): Promise<VerifyResult> {
    const read = async (from: number, limit: number) => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return deps.store.range(from, limit);
    };
    let keys: ChainKey;
    let ends: ChainEnds;
    try {
      // The keys first: a checkpoint read after them is under their generation, unless a renewal came in between (then read them again).
      keys = await deps.keys();
      ends = await deps.store.ends();
      if ((ends.head?.generation ?? 0) > keys.generation) keys = await deps.keys();
    } catch (err) {
      // Nothing verifies without the keys: the first record after the anchor is the first not verified.
      const firstBadSeq = (await deps.store.ends()).anchor.seq + 1;
      return { ok: false, checked: 0, firstBadSeq, reason: `the audit key cannot be read: ${(err as Error).message}` };
    }
    const result = await verifyChain(ends, keys, read, VERIFY_PAGE, deps.keys);
    return deps.highWater ? deps.highWater.hold(result) : result;
  }

  return {
    write(entry: AuditEntry): Promise<void> {
      if (deps.available?.() === false) return Promise.reject(new Error('the database is unavailable'));
      return new Promise<void>((resolve, reject) => {
        queue.push({ record: toRecord(entry), resolve, reject });
        schedule();
      });
    },
    /**
     * Whether records can be stored together with the writes they describe
     * (SecretStore's `audit` arguments): not when a file copy is kept, which
     * is written first, through `write`.
     */
    recordsTravelWithWrites: (): boolean => !deps.fileSink,
    /** The stored form of an entry that travels with its write. */
    recordWithWrite: (entry: AuditEntry): AuditRecord => toRecord(entry),
    /** A record stored with its write: the trail takes records again (health, as after a batch). */
    storedWithWrite(): void {
      lastError = null;
      storageFull = false;
    },
    /** Resolves once every queued record is written (or has failed): at shutdown, before the store closes. */
    async drain(): Promise<void> {
      while (flushing) await flushing;
    },
    health: () => ({ healthy: lastError === null, lastError, storageFull }),
    list: (filter: AuditFilter, limit: number, after: string | null) => deps.store.list(filter, limit, after),
    /**
     * Checks the whole chain; concurrent calls share the run in progress (see
     * verifyInTurns). Never while retention cuts the trail: a cut between two
     * pages would look like records gone missing.
     */
    verify(): Promise<VerifyResult> {
      verifying ??= (async () => {
        while (retaining) await retaining.catch(() => undefined);
        return verifyInTurns();
      })().finally(() => {
        verifying = null;
      });
      return verifying;
    },
    /** Retention: drops records older than the cut and moves the chain anchor past them (after any verification in progress). */
    async retain(olderThan: Date): Promise<number> {
      while (verifying || retaining) await (verifying ?? retaining)!.catch(() => undefined);
      const run = deps.store.deleteBefore(olderThan.toISOString());
      retaining = run;
      try {
        return await run;
      } finally {
        retaining = null;
      }
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
