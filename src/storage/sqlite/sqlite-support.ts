import { StoreConflictError } from '../store-types.js';

// Small helpers shared by the SQLite sub-stores.

export { checkLimit, fromJson, nameKey, toJson, toPage } from '../store-support.js';

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
