import { StoreConflictError, StoreParentGoneError } from '../store-types.js';

// Small helpers shared by the SQLite sub-stores.

export { checkLimit, fromJson, nameKey, toJson, toPage } from '../store-support.js';

export const toFlag = (value: boolean): number => (value ? 1 : 0);

const UNIQUE_VIOLATIONS = new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);

/**
 * The store's error for a uniqueness violation (a conflict) or a foreign-key
 * violation (the parent went away in a race), or null for any other error.
 */
export function asConflict(what: string, err: unknown): StoreConflictError | StoreParentGoneError | null {
  const code = (err as { code?: unknown }).code;
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new StoreParentGoneError(`${what}: its parent no longer exists`);
  return typeof code === 'string' && UNIQUE_VIOLATIONS.has(code) ? new StoreConflictError('exists', `${what} already exists`) : null;
}

/** Runs a write, turning a uniqueness or foreign-key violation into the store's error for it. */
export function unique<T>(what: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw asConflict(what, err) ?? err;
  }
}
