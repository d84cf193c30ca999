import type pg from 'pg';
import { splitRecent, type FailureCount, type SignInFailureStore } from '../sign-in-failure-types.js';
import { changes, one, transaction } from './pg-support.js';

// Failed sign-ins per key, shared by a cluster's members. A change makes sure
// the row exists and locks it (one upsert), then writes it back, in one
// transaction, so concurrent failures on several servers all count.

const COUNT = 'count, first_at AS "firstAt", locked_until AS "lockedUntil", locks, recent';
type Row = Omit<FailureCount, 'recent'> & { recent: string };
const toCount = (r: Row | null): FailureCount | null => (r ? { ...r, recent: splitRecent(r.recent) } : null);

export function pgSignInFailureStore(pool: pg.Pool): SignInFailureStore {
  return {
    get: async (key) => toCount(await one<Row>(pool, `SELECT ${COUNT} FROM sign_in_failures WHERE key = $1`, [key])),
    change: (key, fn) =>
      transaction(pool, async (c) => {
        // The row, locked, in one statement: a placeholder (first_at 0, which no stored row has) if there was
        // none. (A separate SELECT ... FOR UPDATE could miss a row deleted between the two.) A stored row may
        // have count 0 and no lock: a name's familiar networks (identity/sign-in-familiar.ts).
        const row = toCount(await one<Row>(
          c,
          `INSERT INTO sign_in_failures (key, count, first_at, locked_until) VALUES ($1, 0, 0, 0)
           ON CONFLICT (key) DO UPDATE SET key = excluded.key RETURNING ${COUNT}`,
          [key],
        ));
        const current = row && row.firstAt > 0 ? row : null;
        const next = fn(current);
        if (next) {
          await c.query('UPDATE sign_in_failures SET count = $2, first_at = $3, locked_until = $4, locks = $5, recent = $6 WHERE key = $1', [
            key,
            next.count,
            next.firstAt,
            next.lockedUntil,
            next.locks,
            next.recent.join(','),
          ]);
        } else {
          await c.query('DELETE FROM sign_in_failures WHERE key = $1', [key]);
        }
        return next;
      }),
    delete: async (key) => void (await changes(pool, 'DELETE FROM sign_in_failures WHERE key = $1', [key])),
    deleteEnded: (prefix, now, windowStart, runStart = windowStart) =>
      changes(
        pool,
        'DELETE FROM sign_in_failures WHERE locked_until <= $1 AND first_at <= $2 AND (locks = 0 OR first_at <= $4) AND substr(key, 1, length($3)) = $3',
        [now, windowStart, prefix, runStart],
      ),
  };
}
