import type { AuditFilter, AuditRow, AuditStore, SettingsStore } from '../storage/store-types.js';
import { GENESIS, rowHash, verifyChain, type ChainAnchor } from './audit-chain.js';
import type { createFileSink } from './audit-file-sink.js';
import type { AuditEntry } from './audit-types.js';

// The audit trail. Entries are queued and written in batches: one durable
// transaction (and one file append) per batch, whatever the number of
// concurrent requests. `write` resolves only when its entry is stored, so a
// response can wait for its record (fail-closed); a failed batch rejects
// every waiter and marks the trail unhealthy until a write succeeds.

interface Waiter {
  entry: AuditEntry;
  resolve: () => void;
  reject: (err: Error) => void;
}

const ANCHOR_KEY = 'auditAnchor';

export function createAuditLog(deps: { store: AuditStore; settings: SettingsStore; fileSink?: ReturnType<typeof createFileSink> }) {
  let queue: Waiter[] = [];
  let flushing: Promise<void> | null = null;
  let head: { seq: number; hash: string } | null = null;
  let lastError: string | null = null;

  async function anchor(): Promise<ChainAnchor> {
    const raw = await deps.settings.get(ANCHOR_KEY);
    return raw ? (JSON.parse(raw) as ChainAnchor) : { seq: 0, hash: GENESIS };
  }

  async function currentHead() {
    if (!head) {
      const last = await deps.store.last();
      head = last ? { seq: last.seq, hash: last.hash } : await anchor();
    }
    return head;
  }

  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        const start = await currentHead();
        let prev = start.hash;
        const rows: AuditRow[] = batch.map((w, i) => {
          const base = {
            seq: start.seq + i + 1,
            time: w.entry.event.time,
            vault: w.entry.vault?.toLowerCase() ?? null,
            secret: w.entry.secret?.toLowerCase() ?? null,
            principal: w.entry.principal?.toLowerCase() ?? null,
            operation: w.entry.event.operationName,
            resultType: w.entry.event.resultType,
            httpStatus: w.entry.event.properties.httpStatusCode,
            record: JSON.stringify(w.entry.event),
            prevHash: prev,
          };
          prev = rowHash(base);
          return { ...base, hash: prev };
        });
        if (deps.fileSink) await deps.fileSink.write(rows.map((r) => r.record));
        await deps.store.append(rows);
        head = { seq: rows.at(-1)!.seq, hash: prev };
        lastError = null;
        batch.forEach((w) => w.resolve());
      } catch (err) {
        lastError = (err as Error).message;
        head = null; // re-read the head from the store on the next batch
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

  return {
    write(entry: AuditEntry): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ entry, resolve, reject });
        schedule();
      });
    },
    health: () => ({ healthy: lastError === null, lastError }),
    list: (filter: AuditFilter, limit: number, after: string | null) => deps.store.list(filter, limit, after),
    async verify() {
      return verifyChain(await anchor(), (from, limit) => deps.store.range(from, limit));
    },
    /** Retention: drops records older than the cut and moves the chain anchor past them. */
    async retain(olderThan: Date): Promise<number> {
      const cut = await deps.store.deleteBefore(olderThan.toISOString());
      if (!cut) return 0;
      const before = await anchor();
      await deps.settings.set(ANCHOR_KEY, JSON.stringify({ seq: cut.seq, hash: cut.hash } satisfies ChainAnchor));
      return cut.seq - before.seq;
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
