import { StoreConflictError, type Page } from '../store-types.js';

// Small helpers shared by the SQLite sub-stores.

/** Azure compares names case-insensitively; rows are keyed by this form. */
export const nameKey = (name: string): string => name.toLowerCase();

export const toJson = (value: unknown): string => JSON.stringify(value);
export const fromJson = <T>(text: string): T => JSON.parse(text) as T;

export const toFlag = (value: boolean): number => (value ? 1 : 0);

const UNIQUE_VIOLATIONS = new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);

/** The store's conflict error for a uniqueness violation, or null for any other error. */
export function asConflict(what: string, err: unknown): StoreConflictError | null {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && UNIQUE_VIOLATIONS.has(code) ? new StoreConflictError('exists', `${what} already exists`) : null;
}

/** Runs a write, turning a uniqueness violation into the store's conflict error. */
export function unique<T>(what: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw asConflict(what, err) ?? err;
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
