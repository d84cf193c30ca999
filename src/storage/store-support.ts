import type { Page } from './store-types.js';
import { StoreConflictError } from './store-errors.js';

// Helpers every store implementation shares, so that SQLite and PostgreSQL
// key names, encode JSON and cut pages the same way.

/** Azure compares names case-insensitively; rows are keyed by this form. */
export const nameKey = (name: string): string => name.toLowerCase();

export const toJson = (value: unknown): string => JSON.stringify(value);
export const fromJson = <T>(text: string): T => JSON.parse(text) as T;

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

/** The seal column of every table of authorization data (authorization/authorization-seal.ts), added by one migration in each store. */
export const SEAL_COLUMNS_SQL = ['role_assignments', 'role_definitions', 'group_members', 'vaults'].map((t) => `ALTER TABLE ${t} ADD COLUMN mac TEXT;`).join('\n');

/**
 * A user's password generation (PrincipalRow.passwordGeneration) and the generation each sign-in was made
 * with (refresh tokens, authorization codes), added by one migration in each store. Rows from before are
 * generation 0, as every user is.
 */
export const PASSWORD_GENERATION_SQL = ['principals', 'refresh_tokens', 'auth_codes']
  .map((t) => `ALTER TABLE ${t} ADD COLUMN password_generation INTEGER NOT NULL DEFAULT 0;`)
  .join('\n');

/** A user's refresh tokens for one client, newest expiry first (the per-user cap, RefreshTokenStore.insert): one migration in each store. */
export const REFRESH_TOKEN_OWNER_SQL = 'CREATE INDEX refresh_tokens_by_owner ON refresh_tokens (object_id, client_id, expires_at);';

/** A sign-in failure count's run of locks (SignInFailureStore), added by one migration in each store. */
export const LOCK_RUN_SQL = 'ALTER TABLE sign_in_failures ADD COLUMN locks INTEGER NOT NULL DEFAULT 0;';

/** Whether two lists of key credential ids hold the same ids (in any order or case). */
export function sameKeyIds(a: readonly string[], b: readonly string[]): boolean {
  const norm = (l: readonly string[]) => [...new Set(l.map((k) => k.toLowerCase()))].sort().join(',');
  return a.length === b.length && norm(a) === norm(b);
}

/** A key credential change planned from ids another write has changed since. */
export const keysChanged = (objectId: string) => new StoreConflictError('changed', `key credentials of ${objectId}: changed by another write since they were read`);
