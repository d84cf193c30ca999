import type Database from 'better-sqlite3';
import { StoreConflictError, type Page } from '../store-types.js';

// Small helpers shared by the SQLite sub-stores.

/** Azure compares names case-insensitively; rows are keyed by this form. */
export const nameKey = (name: string): string => name.toLowerCase();

export const toJson = (value: unknown): string => JSON.stringify(value);
export const fromJson = <T>(text: string): T => JSON.parse(text) as T;

export const toFlag = (value: boolean): number => (value ? 1 : 0);

const UNIQUE_VIOLATIONS = new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);

/** Runs a write, turning a uniqueness violation into the store's conflict error. */
export function unique<T>(what: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && UNIQUE_VIOLATIONS.has(code)) throw new StoreConflictError('exists', `${what} already exists`);
    throw err;
  }
}

export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`page limit must be a positive integer, got ${limit}`);
}

/**
 * Turns rows fetched with LIMIT limit+1 into a page: the extra row only says
 * that another page follows, and the cursor is the last returned row's key.
 */
export function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T, cursor: (row: R) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(map), next: rows.length > limit && last !== undefined ? cursor(last) : null };
}

interface Queued<A, R> {
  arg: A;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
  outcome?: { ok: true; value: R } | { ok: false; error: unknown };
}

/**
 * Group commit: writes queued in the same turn of the event loop run in one
 * durable transaction, so concurrent writers share one fsync. `write` must be
 * a better-sqlite3 transaction function: nested, it runs in a savepoint, so
 * one failing write is undone alone and the others still commit.
 */
export function groupCommit<A, R>(db: Database.Database, write: (arg: A) => R): (arg: A) => Promise<R> {
  let queue: Array<Queued<A, R>> = [];
  const runBatch = db.transaction((batch: Array<Queued<A, R>>) => {
    for (const item of batch) {
      try {
        item.outcome = { ok: true, value: write(item.arg) };
      } catch (error) {
        item.outcome = { ok: false, error };
      }
    }
  });
  const flush = () => {
    const batch = queue;
    queue = [];
    try {
      runBatch.immediate(batch);
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    for (const item of batch) {
      const o = item.outcome!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    }
  };
  return (arg) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ arg, resolve, reject });
      if (queue.length === 1) setImmediate(flush);
    });
}
