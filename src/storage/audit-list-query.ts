import type { AuditFilter } from './audit-store-types.js';
import type { Page } from './store-types.js';

// One page of an audit query, as both stores run it. A filter names only the
// columns it uses, so the database walks the (vault, seq) or
// (principal, seq) index when the filter has one of them, and the trail in
// seq order otherwise. Either way a page looks at no more than
// AUDIT_SCAN_WINDOW entries of what it walks: a filter that matches rarely
// (an operation, a failure) cannot make one request read millions of rows.
// Such a page may come back short, or empty, with a cursor to go on from. A
// walk starts at the trail's first record or the first of its `from=` time,
// and ends at the last record before its `to=` time.

/** Entries (of the index or the trail) one page looks at, at most. */
export const AUDIT_SCAN_WINDOW = 50_000;
/**
 * A first page from a time starts at the lowest seq among the first this
 * many records of that time (by the time index). Records are stored within
 * moments of their time, so this is the first record of that time unless
 * the trail's order strays from its times by more records than this.
 */
const AUDIT_FROM_PROBE = 100_000;

export interface AuditCondition {
  column: 'vault' | 'secret' | 'principal' | 'operation' | 'result_type' | 'time';
  op: '=' | '>=' | '<';
  value: string;
}

/** The filter's conditions, lookup columns lowercased as they are stored. */
function auditConditions(f: AuditFilter): AuditCondition[] {
  const out: AuditCondition[] = [];
  const add = (column: AuditCondition['column'], op: AuditCondition['op'], value: string | undefined) => {
    if (value !== undefined) out.push({ column, op, value });
  };
  add('vault', '=', f.vault?.toLowerCase());
  add('principal', '=', f.principal?.toLowerCase());
  add('secret', '=', f.secret?.toLowerCase());
  add('operation', '=', f.operation);
  add('result_type', '=', f.resultType);
  add('time', '>=', f.from);
  add('time', '<', f.to);
  return out;
}

/** The indexed column a page walks, if the filter has one (vault first: it is the narrower). */
const drivingCondition = (conditions: readonly AuditCondition[]): AuditCondition | undefined =>
  conditions.find((c) => c.column === 'vault' || c.column === 'principal');

type Placeholder = (n: number) => string;

/**
 * SQL for the seq that ends a page's window when it walks an index: the
 * AUDIT_SCAN_WINDOW-th entry after the cursor (no row: fewer are left).
 * Parameters: the driving value, the cursor.
 */
export const auditWindowEndSql = (driving: AuditCondition, p: Placeholder): string =>
  `SELECT seq FROM audit_events WHERE ${driving.column} = ${p(1)} AND seq > ${p(2)} ORDER BY seq LIMIT 1 OFFSET ${AUDIT_SCAN_WINDOW - 1}`;

/** SQL for where a first page from a time starts (see AUDIT_FROM_PROBE). Parameter: the time. */
export const auditFromStartSql = (p: Placeholder): string =>
  `SELECT MIN(seq) AS seq FROM (SELECT seq FROM audit_events WHERE time >= ${p(1)} ORDER BY time LIMIT ${AUDIT_FROM_PROBE}) AS probe`;

/** SQL for the last record before a time (the same probe, from the other end). Parameter: the time. */
export const auditToEndSql = (p: Placeholder): string =>
  `SELECT MAX(seq) AS seq FROM (SELECT seq FROM audit_events WHERE time < ${p(1)} ORDER BY time DESC LIMIT ${AUDIT_FROM_PROBE}) AS probe`;

/** SQL for the trail's first record (retention removes from the start). */
export const AUDIT_FIRST_SQL = 'SELECT seq FROM audit_events ORDER BY seq LIMIT 1';

/**
 * The page's SQL after `SELECT <columns> FROM audit_events`. Parameters: the
 * cursor, the window's end, each condition's value in order, the row limit.
 */
export function auditPageSql(conditions: readonly AuditCondition[], p: Placeholder): string {
  const where = ['seq > ' + p(1), 'seq <= ' + p(2), ...conditions.map((c, i) => `${c.column} ${c.op} ${p(i + 3)}`)];
  return ` WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${p(conditions.length + 3)}`;
}

/**
 * The page from up to limit + 1 rows found in (cursor, windowEnd]: a full
 * page goes on after its last row, a short one after its window, unless the
 * window reached the end of what it walks (windowEnd null).
 */
function auditPage<R extends { seq: number }, T>(rows: R[], limit: number, windowEnd: number | null, stopAt: number | undefined, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  // The cursor carries where a `to=` walk stops, found once on the first page: `seq` or `seq.stop`.
  const cursor = (seq: number) => (stopAt === undefined ? String(seq) : `${seq}.${stopAt}`);
  if (rows.length > limit) return { items: items.map(map), next: cursor(items.at(-1)!.seq) };
  return { items: items.map(map), next: windowEnd === null ? null : cursor(windowEnd) };
}

/** Beyond any seq: the window of a page that reached the end of what it walks. */
const NO_WINDOW_END = Number.MAX_SAFE_INTEGER;

/** What a store runs for readAuditPage (the SQL above, in its own dialect). */
export interface AuditPageQueries<R> {
  fromStart(time: string): Promise<number | null>;
  toEnd(time: string): Promise<number | null>;
  firstSeq(): Promise<number | null>;
  windowEnd(driving: AuditCondition, cursor: number): Promise<number | null>;
  lastSeq(): Promise<number>;
  rows(conditions: readonly AuditCondition[], cursor: number, windowEnd: number, limit: number): Promise<R[]>;
}

/** One page of `list` (AuditStore): rows matching the filter after the cursor, oldest first. */
export async function readAuditPage<R extends { seq: number }, T>(
  q: AuditPageQueries<R>,
  f: AuditFilter,
  limit: number,
  after: string | null,
  map: (row: R) => T,
): Promise<Page<T>> {
  const conditions = auditConditions(f);
  const driving = drivingCondition(conditions);
  const empty = { items: [], next: null };
  // Where the trail starts (retention cuts it from the front), and, on a first page, where its time starts.
  const first = await q.firstSeq();
  if (first === null) return empty;
  const [afterSeq, carriedStop] = after === null ? [] : after.split('.');
  let cursor = Math.max(afterSeq === undefined ? 0 : Number(afterSeq), first - 1);
  if (after === null && f.from !== undefined) {
    const fromSeq = await q.fromStart(f.from);
    if (fromSeq === null) return empty;
    cursor = Math.max(cursor, fromSeq - 1);
  }
  // Nothing after the last record before `to=` can match: the walk stops there.
  const stopAt = f.to === undefined ? undefined : carriedStop !== undefined ? Number(carriedStop) : await q.toEnd(f.to);
  if (stopAt === null) return empty;
  let end: number | null;
  if (driving) {
    end = await q.windowEnd(driving, cursor);
  } else {
    end = cursor + AUDIT_SCAN_WINDOW;
    if (end >= (await q.lastSeq())) end = null;
  }
  if (end !== null && stopAt !== undefined && end >= stopAt) end = null;
  const rows = await q.rows(conditions, cursor, end ?? stopAt ?? NO_WINDOW_END, limit + 1);
  return auditPage(rows, limit, end, stopAt, map);
}
