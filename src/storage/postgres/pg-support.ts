import pg from 'pg';
import { StoreConflictError, StoreParentGoneError } from '../store-types.js';

// Small helpers shared by the PostgreSQL sub-stores. Name keys, JSON text and
// page cursors are shared with the SQLite store so both behave the same.

export { checkLimit, fromJson, nameKey, toJson, toPage } from '../store-support.js';

/** A pool or a client inside a transaction: anything that runs a query. */
export type Queryable = pg.Pool | pg.PoolClient;

const INT8_OID = 20;

/**
 * bigint columns (Unix seconds, audit seq) come back as JS numbers. pg returns
 * them as strings by default because they may exceed 2^53; coffer's never do,
 * and a value that did would be refused rather than silently rounded.
 */
export const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid !== INT8_OID) return pg.types.getTypeParser(oid, format ?? 'text');
    return (text: string) => {
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${text} is out of JavaScript's safe integer range`);
      return n;
    };
  },
} as pg.CustomTypesConfig;

/**
 * A statement PostgreSQL prepares once per connection and then runs by name,
 * without parsing and planning it again: for the hot reads. The text must
 * never change under one name.
 */
export interface PreparedSql {
  name: string;
  text: string;
}

export async function rows<R>(db: Queryable, sql: string | PreparedSql, params: unknown[] = []): Promise<R[]> {
  return (await (typeof sql === 'string' ? db.query(sql, params) : db.query({ ...sql, values: params }))).rows as R[];
}

export async function one<R>(db: Queryable, sql: string | PreparedSql, params: unknown[] = []): Promise<R | null> {
  return (await rows<R>(db, sql, params))[0] ?? null;
}

/** Rows affected by a write. */
export async function changes(db: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  return (await db.query(sql, params)).rowCount ?? 0;
}

/** Runs `fn` in one READ COMMITTED transaction on a pooled connection; rolls back on any error. */
export async function transaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const result = await fn(c);
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * The store's error for a uniqueness violation (a conflict) or a foreign-key
 * violation (the parent went away in a race), or null for any other error.
 */
export function asConflict(what: string, err: unknown): StoreConflictError | StoreParentGoneError | null {
  const code = (err as { code?: unknown }).code;
  if (code === FOREIGN_KEY_VIOLATION) return new StoreParentGoneError(`${what}: its parent no longer exists`);
  return code === UNIQUE_VIOLATION ? new StoreConflictError('exists', `${what} already exists`) : null;
}

/** Runs a write, turning a uniqueness or foreign-key violation into the store's error for it. */
export async function unique<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw asConflict(what, err) ?? err;
  }
}

/** Where a URL points, without its credentials, for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'the PostgreSQL database';
  }
}
