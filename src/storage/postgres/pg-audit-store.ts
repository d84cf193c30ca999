import type pg from 'pg';
import type { AuditFilter, AuditRow, AuditStore } from '../store-types.js';
import { checkLimit, one, rows, toPage, transaction } from './pg-support.js';

// The audit trail table. A batch is appended in one transaction; the page
// cursor is the last row's seq, as in the SQLite store.

const AUDIT = `seq, time, vault, secret, principal, operation, result_type AS "resultType", http_status AS "httpStatus",
  record, prev_hash AS "prevHash", hash`;

export function pgAuditStore(pool: pg.Pool): AuditStore {
  return {
    append: (batch) =>
      transaction(pool, async (c) => {
        for (const r of batch) {
          await c.query(
            `INSERT INTO audit_events (seq, time, vault, secret, principal, operation, result_type, http_status, record, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
            [r.seq, r.time, r.vault, r.secret, r.principal, r.operation, r.resultType, r.httpStatus, r.record, r.prevHash, r.hash],
          );
        }
      }),
    last: () => one<AuditRow>(pool, `SELECT ${AUDIT} FROM audit_events ORDER BY seq DESC LIMIT 1`),
    async list(f: AuditFilter, limit, after) {
      checkLimit(limit);
      const found = await rows<AuditRow>(
        pool,
        `SELECT ${AUDIT} FROM audit_events WHERE seq > $1
           AND ($2::text IS NULL OR vault = $2) AND ($3::text IS NULL OR secret = $3)
           AND ($4::text IS NULL OR principal = $4) AND ($5::text IS NULL OR operation = $5)
           AND ($6::text IS NULL OR result_type = $6)
           AND ($7::text IS NULL OR time >= $7) AND ($8::text IS NULL OR time < $8)
         ORDER BY seq LIMIT $9`,
        [
          after === null ? 0 : Number(after),
          f.vault?.toLowerCase() ?? null,
          f.secret?.toLowerCase() ?? null,
          f.principal?.toLowerCase() ?? null,
          f.operation ?? null,
          f.resultType ?? null,
          f.from ?? null,
          f.to ?? null,
          limit + 1,
        ],
      );
      return toPage(found, limit, (r) => r, (r) => String(r.seq));
    },
    range: (fromSeq, limit) => rows<AuditRow>(pool, `SELECT ${AUDIT} FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, [fromSeq, limit]),
    deleteBefore: (time) =>
      transaction(pool, async (c) => {
        const cut = await one<AuditRow>(c, `SELECT ${AUDIT} FROM audit_events WHERE time < $1 ORDER BY seq DESC LIMIT 1`, [time]);
        if (cut) await c.query('DELETE FROM audit_events WHERE seq <= $1', [cut.seq]);
        return cut;
      }),
  };
}
