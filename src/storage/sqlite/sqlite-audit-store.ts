import type Database from 'better-sqlite3';
import type { AuditFilter, AuditRow, AuditStore } from '../store-types.js';
import { checkLimit, toPage } from './sqlite-support.js';
import type { SqliteWriter } from './sqlite-writer.js';

// The audit trail table. Rows are appended in batches by the writer thread
// (sqlite-writer.ts) so that the fsync of a durable commit does not stall the
// event loop; reads stay on this connection.

/** Run by the writer thread, once per row. */
export const AUDIT_INSERT_SQL = `INSERT INTO audit_events (seq, time, vault, secret, principal, operation, result_type, http_status, record, prev_hash, hash)
  VALUES (@seq, @time, @vault, @secret, @principal, @operation, @resultType, @httpStatus, @record, @prevHash, @hash)`;

interface Record_ {
  seq: number;
  time: string;
  vault: string | null;
  secret: string | null;
  principal: string | null;
  operation: string;
  result_type: string;
  http_status: number;
  record: string;
  prev_hash: string;
  hash: string;
}

const toRow = (r: Record_): AuditRow => ({
  seq: r.seq,
  time: r.time,
  vault: r.vault,
  secret: r.secret,
  principal: r.principal,
  operation: r.operation,
  resultType: r.result_type,
  httpStatus: r.http_status,
  record: r.record,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export function sqliteAuditStore(db: Database.Database, writer: SqliteWriter): AuditStore {
  const last = db.prepare<[], Record_>('SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1');
  const range = db.prepare<[number, number], Record_>('SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?');
  const list = db.prepare<[Record<string, unknown>], Record_>(
    `SELECT * FROM audit_events WHERE seq > @after
       AND (@vault IS NULL OR vault = @vault) AND (@secret IS NULL OR secret = @secret)
       AND (@principal IS NULL OR principal = @principal) AND (@operation IS NULL OR operation = @operation)
       AND (@resultType IS NULL OR result_type = @resultType)
       AND (@from IS NULL OR time >= @from) AND (@to IS NULL OR time < @to)
     ORDER BY seq LIMIT @limit`,
  );
  const lastBefore = db.prepare<[string], Record_>('SELECT * FROM audit_events WHERE time < ? ORDER BY seq DESC LIMIT 1');
  const deleteUpTo = db.prepare<[number]>('DELETE FROM audit_events WHERE seq <= ?');
  const trim = db.transaction((time: string) => {
    const cut = lastBefore.get(time);
    if (cut) deleteUpTo.run(cut.seq);
    return cut ? toRow(cut) : null;
  });
  return {
    append: (rows) => writer.appendAudit(rows),
    last: async () => {
      const r = last.get();
      return r ? toRow(r) : null;
    },
    list: async (f: AuditFilter, limit, after) => {
      checkLimit(limit);
      const rows = list.all({
        after: after === null ? 0 : Number(after),
        vault: f.vault?.toLowerCase() ?? null,
        secret: f.secret?.toLowerCase() ?? null,
        principal: f.principal?.toLowerCase() ?? null,
        operation: f.operation ?? null,
        resultType: f.resultType ?? null,
        from: f.from ?? null,
        to: f.to ?? null,
        limit: limit + 1,
      });
      return toPage(rows, limit, toRow, (r) => String(r.seq));
    },
    range: async (fromSeq, limit) => range.all(fromSeq, limit).map(toRow),
    deleteBefore: async (time) => trim.immediate(time),
  };
}
