import type Database from 'better-sqlite3';
import { ANCHOR_SETTING, HEAD_SETTING, NO_ANCHOR, pointFrom, sealedPoint, type ChainKey } from '../../audit/audit-chain.js';
import type { AuditFilter, AuditRow, AuditStore } from '../store-types.js';
import { checkLimit, toPage } from './sqlite-support.js';
import type { SqliteWriter } from './sqlite-writer.js';

// The audit trail table. Rows are appended in batches by the writer thread
// (sqlite-writer.ts), which numbers and chains them in the transaction that
// stores them, so that the fsync of a durable commit does not stall the event
// loop; reads and retention stay on this connection.

/** Run by the writer thread: the chain's head (last row, else the anchor setting), one insert per row, the head checkpoint. */
export const AUDIT_WRITE_SQL = {
  auditInsert: `INSERT INTO audit_events (seq, time, vault, secret, principal, operation, result_type, http_status, record, prev_hash, hash)
    VALUES (@seq, @time, @vault, @secret, @principal, @operation, @resultType, @httpStatus, @record, @prevHash, @hash)`,
  auditHead: 'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
  setting: 'SELECT value FROM settings WHERE key = ?',
  setSetting: 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
};

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
  const getSetting = db.prepare<[string], { value: string }>(AUDIT_WRITE_SQL.setting);
  const setSetting = db.prepare<[string, string]>(AUDIT_WRITE_SQL.setSetting);
  const last = db.prepare<[], { seq: number; hash: string }>(AUDIT_WRITE_SQL.auditHead);
  const anchor = () => pointFrom(getSetting.get(ANCHOR_SETTING)?.value) ?? NO_ANCHOR;
  let chainKey: ChainKey | null = null;
  const trim = db.transaction((time: string, key: ChainKey): number => {
    const cut = lastBefore.get(time);
    if (!cut) return 0;
    setSetting.run(ANCHOR_SETTING, sealedPoint(key.key, 'anchor', cut));
    return deleteUpTo.run(cut.seq).changes;
  });
  const keyed = (): ChainKey => {
    if (!chainKey) throw new Error('the audit chain has no key yet');
    return chainKey;
  };
  return {
    append: (records) => writer.appendAudit(records),
    useKey(key) {
      chainKey = key;
      writer.useAuditKey(key.key);
    },
    ends: async () => ({ anchor: anchor(), head: pointFrom(getSetting.get(HEAD_SETTING)?.value) }),
    tip: async () => {
      const row = last.get() ?? anchor();
      return { seq: row.seq, hash: row.hash };
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
    deleteBefore: async (time) => trim.immediate(time, keyed()),
  };
}
