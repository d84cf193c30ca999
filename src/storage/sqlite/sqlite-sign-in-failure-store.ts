import type Database from 'better-sqlite3';
import { splitRecent, type FailureCount, type SignInFailureStore } from '../sign-in-failure-types.js';

// Failed sign-ins per key. A change reads and writes in one IMMEDIATE
// transaction: SQLite's one writer makes it atomic across processes too.

const SWEEP_CHUNK = 1_000;

export function sqliteSignInFailureStore(db: Database.Database): SignInFailureStore {
  const read = db.prepare<[string], Omit<FailureCount, 'recent'> & { recent: string }>(
    'SELECT count, first_at AS firstAt, locked_until AS lockedUntil, locks, recent FROM sign_in_failures WHERE key = ?',
  );
  const get = (key: string): FailureCount | null => {
    const r = read.get(key);
    return r ? { ...r, recent: splitRecent(r.recent) } : null;
  };
  const put = db.prepare<[string, number, number, number, number, string]>(
    `INSERT INTO sign_in_failures (key, count, first_at, locked_until, locks, recent) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET count = excluded.count, first_at = excluded.first_at, locked_until = excluded.locked_until,
       locks = excluded.locks, recent = excluded.recent`,
  );
  const remove = db.prepare<[string]>('DELETE FROM sign_in_failures WHERE key = ?');
  // In chunks, each its own short transaction, with a turn of the event loop between them: after a spray
  // of guesses there may be tens of thousands.
  const ended = db.prepare<[number, number, number, string, string, number]>(
    `DELETE FROM sign_in_failures WHERE key IN (
       SELECT key FROM sign_in_failures WHERE locked_until <= ? AND first_at <= ? AND (locks = 0 OR first_at <= ?) AND substr(key, 1, length(?)) = ? LIMIT ?)`,
  );
  const change = db.transaction((key: string, fn: (current: FailureCount | null) => FailureCount | null) => {
    const next = fn(get(key));
    if (next) put.run(key, next.count, next.firstAt, next.lockedUntil, next.locks, next.recent.join(','));
    else remove.run(key);
    return next;
  });
  return {
    get: async (key) => get(key),
    change: async (key, fn) => change.immediate(key, fn),
    delete: async (key) => void remove.run(key),
    async deleteEnded(prefix, now, windowStart, runStart = windowStart) {
      let total = 0;
      for (;;) {
        const n = ended.run(now, windowStart, runStart, prefix, prefix, SWEEP_CHUNK).changes;
        total += n;
        if (n < SWEEP_CHUNK) return total;
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}
