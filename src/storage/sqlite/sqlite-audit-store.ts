import type Database from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import { ANCHOR_SETTING, chainRecord, chainStart, HEAD_SETTING, NO_ANCHOR, pointFrom, sealedPoint, type ChainStart } from '../../audit/audit-chain.js';
import { withRenewal, type ChainKeyHolder } from '../chain-key-holder.js';
import { AuditWriteError, type AuditFilter, type AuditRecord, type AuditRow, type AuditStore } from '../store-types.js';
import { checkLimit } from './sqlite-support.js';
import { AUDIT_FIRST_SQL, auditFromStartSql, auditPageSql, auditToEndSql, auditWindowEndSql, readAuditPage, type AuditPageQueries } from '../audit-list-query.js';
import type { SqliteWriter } from './sqlite-writer.js';

// The audit trail table. Rows are appended in batches by the writer thread
// (sqlite-writer.ts), which numbers and chains them in the transaction that
// stores them, so that the fsync of a durable commit does not stall the event
// loop; reads and retention stay on this connection. The rarer writes that
// run on this connection (a secret's delete, update, purge ...) append their
// own record in their own transaction (AuditedWrites): SQLite serializes the
// two connections' write transactions, and each reads the chain's head inside
// its own.

/** Run by the writer thread: the chain's head (last row, else the anchor setting), one insert per row, the head checkpoint. */
export const AUDIT_WRITE_SQL = {
  auditInsert: `INSERT INTO audit_events (seq, time, vault, secret, principal, operation, result_type, http_status, record, prev_hash, hash)
    VALUES (@seq, @time, @vault, @secret, @principal, @operation, @resultType, @httpStatus, @record, @prevHash, @hash)`,
  auditHead: 'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1',
  setting: 'SELECT value FROM settings WHERE key = ?',
  setSetting: 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
};

/** A row as SQLite returns it: AuditRow with the snake_case column names. */
type Record_ = Omit<AuditRow, 'resultType' | 'httpStatus' | 'prevHash'> & { result_type: string; http_status: number; prev_hash: string };

const toRow = ({ result_type, http_status, prev_hash, ...same }: Record_): AuditRow => ({ ...same, resultType: result_type, httpStatus: http_status, prevHash: prev_hash });

/** Writes on the main connection that store their audit record with them. */
export interface AuditedWrites {
  /**
   * Runs `write` in one IMMEDIATE transaction and, unless it returns false
   * or null (nothing changed), appends `audit` in it: the record is stored
   * if and only if the change is. Without `audit`, just runs `write`.
   */
  run<T>(audit: AuditRecord | undefined, write: () => T): T;
}

/** Where the chain goes on inside the caller's transaction on this connection, and the key to go on with. */
function chainOnConnection(db: Database.Database, keys: ChainKeyHolder): () => ChainStart & { key: KeyObject } {
  const last = db.prepare<[], { seq: number; hash: string }>(AUDIT_WRITE_SQL.auditHead);
  const setting = db.prepare<[string], string>(AUDIT_WRITE_SQL.setting).pluck();
  return () => {
    const start = chainStart(keys.keys, setting.get(HEAD_SETTING), () => last.get(), () => setting.get(ANCHOR_SETTING));
    const key = keys.keys?.[start.generation];
    if (!key) throw new Error('the audit chain has no key yet: records are not stored unkeyed');
    return { ...start, key };
  };
}

export function sqliteAuditedWrites(db: Database.Database, keys: ChainKeyHolder): AuditedWrites {
  const insert = db.prepare(AUDIT_WRITE_SQL.auditInsert);
  const setSetting = db.prepare<[string, string]>(AUDIT_WRITE_SQL.setSetting);
  const chainHere = chainOnConnection(db, keys);
  const withRecord = db.transaction((audit: AuditRecord, write: () => unknown): unknown => {
    const result = write();
    if (result === false || result === null) return result;
    try {
      const { head, sealed, generation, key } = chainHere();
      // chainRecord works in place: chain a copy, not the caller's record.
      const row = chainRecord(head, { ...audit }, key);
      insert.run(row);
      if (sealed) setSetting.run(HEAD_SETTING, sealedPoint(key, 'head', row, generation));
    } catch (err) {
      throw new AuditWriteError(err);
    }
    return result;
  });
  return {
    run: <T>(audit: AuditRecord | undefined, write: () => T): T => (audit ? (withRecord.immediate(audit, write) as T) : write()),
  };
}

export function sqliteAuditStore(db: Database.Database, writer: SqliteWriter, keys: ChainKeyHolder): AuditStore {
  const range = db.prepare<[number, number], Record_>('SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq LIMIT ?');
  // One statement per filter shape (at most 2^7) and per driving column, prepared when first asked for.
  const statements = new Map<string, Database.Statement<unknown[], unknown>>();
  const prepared = <R>(sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare<unknown[], unknown>(sql)));
    return statement as Database.Statement<unknown[], R>;
  };
  const pageQueries: AuditPageQueries<Record_> = {
    fromStart: async (time) => prepared<{ seq: number | null }>(auditFromStartSql(() => '?')).get(time)?.seq ?? null,
    toEnd: async (time) => prepared<{ seq: number | null }>(auditToEndSql(() => '?')).get(time)?.seq ?? null,
    firstSeq: async () => prepared<{ seq: number }>(AUDIT_FIRST_SQL).get()?.seq ?? null,
    windowEnd: async (driving, cursor) => prepared<{ seq: number }>(auditWindowEndSql(driving, () => '?')).get(driving.value, cursor)?.seq ?? null,
    lastSeq: async () => last.get()?.seq ?? 0,
    rows: async (conditions, cursor, windowEnd, limit) =>
      prepared<Record_>('SELECT * FROM audit_events' + auditPageSql(conditions, () => '?')).all(cursor, windowEnd, ...conditions.map((c) => c.value), limit),
  };
  const lastBefore = db.prepare<[string], Record_>('SELECT * FROM audit_events WHERE time < ? ORDER BY seq DESC LIMIT 1');
  const deleteUpTo = db.prepare<[number]>('DELETE FROM audit_events WHERE seq <= ?');
  const getSetting = db.prepare<[string], { value: string }>(AUDIT_WRITE_SQL.setting);
  const setSetting = db.prepare<[string, string]>(AUDIT_WRITE_SQL.setSetting);
  const last = db.prepare<[], { seq: number; hash: string }>(AUDIT_WRITE_SQL.auditHead);
  const anchor = () => pointFrom(getSetting.get(ANCHOR_SETTING)?.value) ?? NO_ANCHOR;
  // The anchor is sealed under the generation the chain goes on with.
  const chainHere = chainOnConnection(db, keys);
  let renewing: Promise<unknown> = Promise.resolve();
  const trim = db.transaction((time: string): number => {
    const { key, generation } = chainHere();
    const cut = lastBefore.get(time);
    if (!cut) return 0;
    setSetting.run(ANCHOR_SETTING, sealedPoint(key, 'anchor', cut, generation));
    return deleteUpTo.run(cut.seq).changes;
  });
  return {
    append: (records) => writer.appendAudit(records),
    useKey(key) {
      keys.use(key);
      writer.useAuditKeys(keys.keys!);
    },
    // One at a time: each restores what it found if its generation was taken.
    renewKey: (current, renewal) => {
      const run = renewing.then(async () => {
        const before = keys.keys;
        // This connection's audited writes may meet the new generation as soon as the writer commits it: they hold it first.
        keys.set(withRenewal(before, current, renewal));
        let renewed: boolean;
        try {
          renewed = await writer.renewAuditKey(keys.keys!, renewal);
        } catch (err) {
          // The thread may have taken the keys before its commit failed.
          keys.set(before);
          if (before) writer.useAuditKeys(before);
          throw err;
        }
        if (!renewed) keys.set(before);
        return renewed;
      });
      renewing = run.catch(() => undefined);
      return run;
    },
    ends: async () => ({ anchor: anchor(), head: pointFrom(getSetting.get(HEAD_SETTING)?.value) }),
    tip: async () => {
      const row = last.get() ?? anchor();
      return { seq: row.seq, hash: row.hash };
    },
    list: async (f: AuditFilter, limit, after) => {
      checkLimit(limit);
      return readAuditPage(pageQueries, f, limit, after, toRow);
    },
    range: async (fromSeq, limit) => range.all(fromSeq, limit).map(toRow),
    deleteBefore: async (time) => trim.immediate(time),
  };
}
