import type { KeyCredentialRow, RoleAssignmentRow, RoleDefinitionRow, VaultRow } from './store-types.js';

// What a store needs to keep the authorization digest (authorization/authorization-digest.ts) in the
// transaction of every write that changes a sealed table: the rows, read in that transaction, and a guard that
// checks the stored record against them before the write and seals them after it.

/** Every stored row of authorization data, as the seal covers it. */
export interface AuthorizationRows {
  assignments: RoleAssignmentRow[];
  definitions: RoleDefinitionRow[];
  memberships: Array<{ groupId: string; memberId: string; mac: string | null }>;
  keyCredentials: Array<Pick<KeyCredentialRow, 'keyId' | 'objectId' | 'certificate' | 'startAt' | 'endAt' | 'mac'>>;
  vaults: Array<Pick<VaultRow, 'id' | 'name' | 'subscriptionId' | 'resourceGroup' | 'properties' | 'mac'>>;
}

export interface DigestGuard {
  /** Throws unless `record` (the stored settings value; null: none) seals exactly `rows`; returns its counter. */
  check(record: string | null, rows: AuthorizationRows): number;
  /** The record sealing `rows` as the `n`-th write. */
  seal(rows: AuthorizationRows, n: number): string;
  /** Called once the write that stored record `n` has committed. */
  sealed(n: number): void;
  /** Whether the rows of `kind` in `rows` (the others may be left empty) are those `record` sealed; reports them if not. */
  holds(record: string | null, rows: AuthorizationRows, kind: 'vaults' | 'key credentials'): boolean;
  /** Reports rows found not to be those sealed (logged). */
  refused(err: Error & { kinds: readonly string[] }): void;
}

/** A store that keeps the digest: the server gives it the guard once it has checked the digest at start (null: none). */
export interface AuthorizationDigestHost {
  use(guard: DigestGuard | null): void;
  readonly guard: DigestGuard | null;
  /** Whether the stored vault rows are those sealed (true without a guard); read synchronously, as a vault is looked up. */
  vaultsHold(): boolean;
}
