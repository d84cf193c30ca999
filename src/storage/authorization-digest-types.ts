import type { FederatedCredentialRow } from './federated-credential-types.js';
import type { KeyCredentialRow, RoleAssignmentRow, RoleDefinitionRow, VaultRow } from './store-types.js';

// What a store needs to keep the authorization digest (authorization/authorization-digest.ts) in the
// transaction of every write that changes a sealed table: a guard that opens the stored record, folds the
// journal of rows added and removed into it, and seals it again, without reading every row.

/** Every stored row of authorization data, as the seal covers it. */
export interface AuthorizationRows {
  assignments: RoleAssignmentRow[];
  definitions: RoleDefinitionRow[];
  memberships: Array<{ groupId: string; memberId: string; mac: string | null }>;
  keyCredentials: Array<Pick<KeyCredentialRow, 'keyId' | 'objectId' | 'certificate' | 'startAt' | 'endAt' | 'mac'>>;
  vaults: Array<Pick<VaultRow, 'id' | 'name' | 'subscriptionId' | 'resourceGroup' | 'properties' | 'deletedAt' | 'scheduledPurgeAt' | 'mac'>>;
  federatedCredentials: Array<Pick<FederatedCredentialRow, 'id' | 'objectId' | 'issuer' | 'subject' | 'audiences' | 'mac'>>;
}

/** A row added to or removed from a table of sealed rows, as the journal's triggers recorded it (sqlite-authorization-journal.ts). */
export interface JournalEntry {
  /** The digest's kind ('role assignments', 'vaults', ...). */
  kind: string;
  added: boolean;
  /** JSON: what the seal covers of the row, and its stored seal (`mac`); a certificate as hex. */
  fields: string;
}

/** The kinds of rows read while the server runs (the others are loaded at start only). */
export const HELD_KINDS = ['vaults', 'key credentials', 'federated credentials'] as const;
export type HeldKind = (typeof HELD_KINDS)[number];

/** The digests as a write folds them (opaque to the store). */
export type Digests = Record<string, string>;

export interface DigestGuard {
  /**
   * The record's counter and digests once its MAC is checked; throws (and reports) otherwise, without one (null), or
   * when it is older than the last write sealed. A record read outside the write lock is held instead to `since`
   * (mark(), taken before the read began): a write sealed while it was read is newer than it, not a sign of a
   * database put back.
   */
  open(record: string | null, since?: number): { n: number; digests: Digests };
  /** The last write sealed (or seen) so far: a read that begins after this call sees that write or a later one. */
  mark(): number;
  /**
   * `digests` with the journal's entries folded in (only rows whose seal matches count), and the seals of the
   * counted rows of the held kinds, added or removed, in the journal's order.
   */
  fold(digests: Digests, entries: JournalEntry[]): { digests: Digests; held: Array<{ kind: HeldKind; added: boolean; mac: string }> };
  /** Throws (and reports) unless the two are equal: the journal held rows changed outside coffer since its last write. */
  unchanged(before: Digests, after: Digests): void;
  /** The record of `digests` as the `n`-th write. */
  record(digests: Digests, n: number): string;
  /** The seals of the rows of `kind` that count (a start, a renewal: every row read once). */
  counted(kind: HeldKind, rows: AuthorizationRows): string[];
  /** The digest of the rows of `kind` (a cluster member reloading a held set holds them to the record first). */
  digestOf(kind: HeldKind, rows: AuthorizationRows): string;
  /** Called once the write that stored record `n` has committed. */
  sealed(n: number): void;
  /** Reports and throws: the digest's journal (its table or triggers) was changed outside coffer. */
  tampered(detail: string): never;
  /** Reports a row of `kind` used though the record did not seal it (logged); returns false. */
  refuse(kind: HeldKind): false;
}

/** A store that keeps the digest: the server gives it the guard once it has checked the digest at start (null: none). */
export interface AuthorizationDigestHost {
  /** With a guard, reads the rows of the held kinds once (the seals they count); null sets it aside (a renewal). */
  use(guard: DigestGuard | null): void | Promise<void>;
  readonly guard: DigestGuard | null;
  /** The journal's triggers found dropped or changed outside coffer, and put back, and any other trigger, dropped, as the store opened. */
  readonly restoredTriggers: readonly string[];
  /** Whether the journal holds no row added or removed since the last write folded it (or a start emptied it). */
  journalEmpty(): boolean | Promise<boolean>;
  /** Empties the journal: the rows were just held to the record, or sealed into it, in full. */
  reset(): void | Promise<void>;
  /**
   * Runs `check` while no guarded write runs (a start holding every row to the record, on a database other
   * servers write: a cluster); without it, a store has no other writer to wait for.
   */
  exclusive?<T>(check: () => Promise<T>): Promise<T>;
  /** Whether this vault row is one the record sealed (true without a guard); O(1), as a vault is looked up. */
  vaultHolds(row: { mac?: string | null }): boolean;
  /** Whether this certificate credential is one the record sealed (true without a guard); O(1), at each sign-in. */
  keyCredentialHolds(row: { mac?: string | null }): boolean;
  /** Whether this federated credential is one the record sealed (true without a guard); O(1), at each sign-in with an external token. */
  federatedCredentialHolds(row: { mac?: string | null }): boolean;
}
