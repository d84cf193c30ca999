import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import {
  ANCHOR_SETTING, AUDIT_KEY_SETTING, chainRecord, chainStart, HEAD_SETTING, NO_ANCHOR, pointFrom, renewalSettings, sealedPoint,
  type ChainKeys, type ChainPoint, type ChainStart, type SealedPoint,
} from '../../audit/audit-chain.js';
import { withRenewal, type ChainKeyHolder } from '../chain-key-holder.js';
import { AuditWriteError, type AuditFilter, type AuditRecord, type AuditRow, type AuditStore } from '../store-types.js';
import { changes, checkLimit, one, rows, transaction, type PreparedSql, type Queryable } from './pg-support.js';
import { AUDIT_FIRST_SQL, auditFromStartSql, auditPageSql, auditToEndSql, auditWindowEndSql, readAuditPage, type AuditPageQueries } from '../audit-list-query.js';
import type { PgWriter } from './pg-writer.js';

// The audit trail table. A batch is appended in one transaction, numbered and
// chained there under a transaction-level lock, so concurrent transactions
// (audit batches, new versions with their records) extend the chain one
// after the other in commit order; the head checkpoint is sealed in the same
// transaction. The page cursor is the last row's seq, as
// in the SQLite store.

const AUDIT = `seq, time, vault, secret, principal, operation, result_type AS "resultType", http_status AS "httpStatus",
  record, prev_hash AS "prevHash", hash`;

/** Serializes appends to the chain: held from a transaction's first append to its end. */
const AUDIT_CHAIN_LOCK = 0x636f_6666_6175;

// Prepared once per connection (see PreparedSql): they run for every batch.
const LOCK_CHAIN: PreparedSql = { name: 'coffer-audit-lock', text: 'SELECT pg_advisory_xact_lock($1)' };
const CHAIN_HEAD: PreparedSql = { name: 'coffer-audit-head', text: 'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1' };
// One statement text for any number of rows: the columns travel as arrays.
const INSERT_RECORDS: PreparedSql = {
  name: 'coffer-audit-insert',
  text: `INSERT INTO audit_events (seq, time, vault, secret, principal, operation, result_type, http_status, record, prev_hash, hash)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::integer[], $9::text[], $10::text[], $11::text[])`,
};

const SET_SETTING: PreparedSql = {
  name: 'coffer-setting-upsert',
  text: 'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
};

const rawSettingIn = async (db: Queryable, key: string): Promise<string | null> => (await one<{ value: string }>(db, 'SELECT value FROM settings WHERE key = $1', [key]))?.value ?? null;
const settingIn = async (db: Queryable, key: string): Promise<SealedPoint | null> => pointFrom(await rawSettingIn(db, key));
const anchorIn = async (db: Queryable): Promise<ChainPoint> => {
  const a = (await settingIn(db, ANCHOR_SETTING)) ?? NO_ANCHOR;
  return { seq: a.seq, hash: a.hash };
};

/**
 * Takes the chain's lock for the rest of the caller's transaction (again is a
 * no-op). Every transaction that will append takes it before it writes
 * anything else: one that locked rows first (a vault purge deleting a vault)
 * and then waited for the chain would deadlock with one holding the chain
 * and waiting for those rows (the writer's next version in that vault).
 */
export async function lockChain(c: Queryable): Promise<void> {
  await one(c, LOCK_CHAIN, [AUDIT_CHAIN_LOCK]);
}

/**
 * Where the chain goes on, inside the caller's transaction (which holds the
 * chain's lock), and the key to go on with: the head checkpoint's
 * generation. A checkpoint sealed under a generation this member does not
 * hold yet (another member renewed the key) makes it read the keys again.
 */
async function chainIn(c: Queryable, keys: ChainKeyHolder): Promise<ChainStart & { key: KeyObject }> {
  const checkpoint = await rawSettingIn(c, HEAD_SETTING);
  let start = chainStart(keys.keys, checkpoint, () => null, () => null);
  // Read on this transaction's connection: one from the pool could wait for connections that wait for this lock.
  if (start.unknownGeneration !== null && keys.reload(await rawSettingIn(c, AUDIT_KEY_SETTING))) start = chainStart(keys.keys, checkpoint, () => null, () => null);
  // Without a valid checkpoint the database was edited: go on from the last row and leave the checkpoint as it is, so that verify keeps showing it.
  if (!start.sealed) start = { ...start, head: (await one<ChainPoint>(c, CHAIN_HEAD)) ?? (await anchorIn(c)) };
  const key = keys.keys?.[start.generation];
  if (!key) throw new Error('the audit chain has no key yet: records are not stored unkeyed');
  return { ...start, key };
}

/**
 * Appends records after the chain's head within the caller's transaction
 * `c`, and seals the new head. `locked`: the transaction took lockChain
 * already (saves a round trip inside the chain's one critical section).
 */
export async function appendAuditIn(c: pg.PoolClient, records: readonly AuditRecord[], keys: ChainKeyHolder, locked = false): Promise<void> {
  if (records.length === 0) return;
  if (!keys.keys) throw new Error('the audit chain has no key yet: records are not stored unkeyed');
  if (!locked) await lockChain(c);
  const { head, sealed, generation, key } = await chainIn(c, keys);
  let link: ChainPoint = head;
  // chainRecord works in place (for the SQLite writer thread's sake): chain copies, not the caller's records.
  const chained = records.map((r) => (link = chainRecord(link, { ...r }, key)));
  const column = <K extends keyof (typeof chained)[number]>(k: K) => chained.map((r) => r[k]);
  await one(c, INSERT_RECORDS, [
    column('seq'), column('time'), column('vault'), column('secret'), column('principal'), column('operation'),
    column('resultType'), column('httpStatus'), column('record'), column('prevHash'), column('hash'),
  ]);
  if (sealed) await one(c, SET_SETTING, [HEAD_SETTING, sealedPoint(key, 'head', link, generation)]);
}

/** A record that travels with its change and cannot be stored undoes the change (AuditWriteError). */
export const recordRefused = (err: unknown): never => {
  throw new AuditWriteError(err);
};

/**
 * Runs `write` and, unless it returns false or null (nothing changed),
 * appends `audit` in the same transaction: the record is stored if and only
 * if the change is. Without `audit`, `write` runs on the pool, or in a
 * transaction of its own if it needs one (`inTransaction`).
 */
export type PgAuditedWrite = <T>(audit: AuditRecord | undefined, write: (db: Queryable) => Promise<T>, inTransaction?: boolean) => Promise<T>;

export function pgAuditedWrites(pool: pg.Pool, writer: PgWriter): PgAuditedWrite {
  return (audit, write, inTransaction = false) => {
    if (!audit && !inTransaction) return write(pool);
    return transaction(pool, async (c) => {
      if (audit) await lockChain(c);
      const result = await write(c);
      if (audit && result !== false && result !== null) await appendAuditIn(c, [audit], writer.auditKeys, true).catch(recordRefused);
      return result;
    });
  };
}

const dollar = (n: number) => `$${n}`;
const seqOf = (row: { seq: string | number | null } | null): number | null => (row?.seq == null ? null : Number(row.seq));

/** The audit page's queries (audit-list-query.ts) in PostgreSQL's dialect. */
const pageQueries = (pool: pg.Pool): AuditPageQueries<AuditRow> => ({
  fromStart: async (time) => seqOf(await one<{ seq: string | null }>(pool, auditFromStartSql(dollar), [time])),
  toEnd: async (time) => seqOf(await one<{ seq: string | null }>(pool, auditToEndSql(dollar), [time])),
  firstSeq: async () => seqOf(await one<{ seq: string }>(pool, AUDIT_FIRST_SQL)),
  windowEnd: async (driving, cursor) => seqOf(await one<{ seq: string }>(pool, auditWindowEndSql(driving, dollar), [driving.value, cursor])),
  lastSeq: async () => seqOf(await one<ChainPoint>(pool, CHAIN_HEAD)) ?? 0,
  rows: (conditions, cursor, windowEnd, limit) =>
    rows<AuditRow>(pool, `SELECT ${AUDIT} FROM audit_events` + auditPageSql(conditions, dollar), [cursor, windowEnd, ...conditions.map((c) => c.value), limit]),
});

export function pgAuditStore(pool: pg.Pool, writer: PgWriter): AuditStore {
  const keys = writer.auditKeys;
  return {
    // Group-committed with new secret versions (pg-writer.ts).
    append: (records) => writer.appendAudit(records),
    useKey(key, reload) {
      keys.use(key, reload);
    },
    async renewKey(current, renewal) {
      let before: ChainKeys | null = null;
      return transaction(pool, async (c) => {
        await lockChain(c);
        // Locked too: a rewrap (a compare-and-set on the row) cannot slip in between this read and the write.
        const keyRow = (await one<{ value: string }>(c, `SELECT value FROM settings WHERE key = $1 FOR UPDATE`, [AUDIT_KEY_SETTING]))?.value;
        before = keys.keys;
        keys.set(withRenewal(before, current, renewal));
        const start = await chainIn(c, keys);
        const settings = keyRow ? renewalSettings(keys.keys!, renewal, keyRow, start, await rawSettingIn(c, ANCHOR_SETTING)) : null;
        // Held before the commit: appends on this member that follow it find the generation.
        if (settings) for (const [name, value] of Object.entries(settings)) await one(c, SET_SETTING, [name, value]);
        else keys.set(before);
        return settings !== null;
      }).catch((err: unknown) => {
        if (keys.keys?.[renewal.generation] === renewal.key) keys.set(before);
        throw err;
      });
    },
    ends: async () => ({ anchor: (await settingIn(pool, ANCHOR_SETTING)) ?? NO_ANCHOR, head: await settingIn(pool, HEAD_SETTING) }),
    tip: async () => (await one<ChainPoint>(pool, CHAIN_HEAD)) ?? (await anchorIn(pool)),
    async list(f: AuditFilter, limit, after) {
      checkLimit(limit);
      return readAuditPage(pageQueries(pool), f, limit, after, (r: AuditRow) => r);
    },
    range: (fromSeq, limit) => rows<AuditRow>(pool, `SELECT ${AUDIT} FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, [fromSeq, limit]),
    // Under the chain's lock: an append never reads a head that this transaction is deleting.
    // The anchor is sealed under the generation the chain goes on with.
    deleteBefore: (time) => {
      if (!keys.keys) return Promise.reject(new Error('the audit chain has no key yet'));
      return transaction(pool, async (c) => {
        await one(c, LOCK_CHAIN, [AUDIT_CHAIN_LOCK]);
        const { key, generation } = await chainIn(c, keys);
        const cut = await one<ChainPoint>(c, 'SELECT seq, hash FROM audit_events WHERE time < $1 ORDER BY seq DESC LIMIT 1', [time]);
        if (!cut) return 0;
        await one(c, SET_SETTING, [ANCHOR_SETTING, sealedPoint(key, 'anchor', cut, generation)]);
        return changes(c, 'DELETE FROM audit_events WHERE seq <= $1', [cut.seq]);
      });
    },
  };
}
