// The storage contract. SQLite (embedded default) and PostgreSQL both implement
// it, and test/support/store-conformance.ts checks any implementation against it.
// Every method is async so that a networked store fits the same shape.
// Times are integer Unix seconds unless a field says otherwise.
// Names are matched through `nameKey` (lower case), as Azure compares
// identifiers case-insensitively; `name` keeps the caller's original spelling.

import type { ChangeFeed } from './change-feed.js';
import type { AuthorizationDigestHost } from './authorization-digest-types.js';
import type { StoreSession } from './store-session.js';
import type { SignInCodeStore } from './sign-in-code-types.js';
import type { SignInFailureStore } from './sign-in-failure-types.js';
import type { RefreshTokenStore } from './refresh-token-types.js';
import type { AuditRecord, AuditStore } from './audit-store-types.js';
import type { ResourceGroupStore, VaultStore } from './vault-store-types.js';
import type { PrincipalStore, SigningKeyStore } from './identity-store-types.js';
import type { AssignmentChecks } from './assignment-checks.js';

// The audit trail's part of the contract lives in audit-store-types.ts, the vaults' in vault-store-types.ts, the
// directory's in identity-store-types.ts.
export * from './audit-store-types.js';
export * from './vault-store-types.js';
export * from './federated-credential-types.js';
export * from './identity-store-types.js';

export interface SecretVersionRow {
  vaultId: string;
  name: string;
  version: string;
  /** Monotonic per secret: the highest is the latest version. */
  seq: number;
  ciphertext: Buffer;
  contentType: string | null;
  tags: Record<string, string> | null;
  enabled: boolean;
  nbf: number | null;
  exp: number | null;
  created: number;
  updated: number;
}

export type SecretVersionMeta = Omit<SecretVersionRow, 'ciphertext'>;

export interface DeletedSecretInfo {
  deletedAt: number;
  scheduledPurgeAt: number;
}

/** A secret's latest version plus its deletion state. */
export interface SecretSummary extends SecretVersionMeta {
  deleted: DeletedSecretInfo | null;
}

export interface Page<T> {
  items: T[];
  /** Opaque continuation; null on the last page. */
  next: string | null;
}

export interface SecretVersionPatch {
  contentType?: string | null;
  tags?: Record<string, string> | null;
  enabled?: boolean;
  nbf?: number | null;
  exp?: number | null;
  updated: number;
}

export interface SettingsStore {
  get(key: string): Promise<string | null>;
  /**
   * Sets the value only if the key is absent, and then `alongside` too in the
   * same transaction (set or replaced); returns the value now stored.
   */
  setIfAbsent(key: string, value: string, alongside?: Record<string, string>): Promise<string>;
  set(key: string, value: string): Promise<void>;
  /** Sets the value only if it is `expected` now (compare-and-set); false when it was not. */
  replace(key: string, expected: string, value: string): Promise<boolean>;
}

export type { AuthCodeRow, AuthCodeTake, DeviceCodeRow, SignInCodeLimits, SignInCodeStore } from './sign-in-code-types.js';
export type { FailureCount, SignInFailureStore } from './sign-in-failure-types.js';
export { REFRESH_TOKENS_PER_USER_AND_CLIENT, USED_REFRESH_TOKEN_KEPT_SECONDS, type RefreshTokenRow, type RefreshTokenStore } from './refresh-token-types.js';

export interface SecretStore {
  /**
   * Adds a version and makes it the latest. Creates the secret on first use.
   * Throws StoreConflictError('deleted') if the secret is soft-deleted.
   * `audit`, when given, is appended to the audit trail in the same
   * transaction: stored if and only if the version is.
   */
  insertVersion(row: Omit<SecretVersionRow, 'seq'>, audit?: AuditRecord): Promise<SecretVersionRow>;
  /** A version, or the latest when version is null; null if absent or deleted. */
  getVersion(vaultId: string, name: string, version: string | null): Promise<SecretVersionRow | null>;
  /** The secret's latest version and deletion state, deleted or not. */
  getSummary(vaultId: string, name: string): Promise<SecretSummary | null>;
  /** Live secrets ordered by name key. */
  list(vaultId: string, limit: number, after: string | null): Promise<Page<SecretSummary>>;
  /** Versions of a live secret ordered by version id. */
  listVersions(vaultId: string, name: string, limit: number, after: string | null): Promise<Page<SecretVersionMeta>>;
  listDeleted(vaultId: string, limit: number, after: string | null): Promise<Page<SecretSummary>>;
  // `audit`, on the writes below, is appended to the audit trail in the write's
  // own transaction when the write changes something (as on insertVersion):
  // the record is stored if and only if the change is.
  /** Returns the updated version, or null if absent/deleted. */
  updateVersion(vaultId: string, name: string, version: string, patch: SecretVersionPatch, audit?: AuditRecord): Promise<SecretVersionMeta | null>;
  /** Soft delete: returns false if absent or already deleted. */
  markDeleted(vaultId: string, name: string, info: DeletedSecretInfo, audit?: AuditRecord): Promise<boolean>;
  recover(vaultId: string, name: string, audit?: AuditRecord): Promise<boolean>;
  /**
   * Removes the secret and its versions; with `onlyDeleted`, only if it is
   * soft-deleted at that moment. Returns false if nothing was removed.
   */
  purge(vaultId: string, name: string, onlyDeleted?: boolean, audit?: AuditRecord): Promise<boolean>;
  /** Purges soft-deleted secrets whose scheduled purge time has passed. */
  purgeExpired(now: number): Promise<number>;
  /** The versions of a live secret with ciphertext, oldest first: every one, or at most `limit`. */
  allVersions(vaultId: string, name: string, limit?: number): Promise<SecretVersionRow[]>;
  /**
   * Inserts a whole secret (restore). Throws StoreConflictError('exists') if a
   * live secret has the name, StoreConflictError('deleted') if a soft-deleted one has.
   */
  restore(vaultId: string, name: string, versions: Array<Omit<SecretVersionRow, 'seq'>>, audit?: AuditRecord): Promise<void>;
  /** Every ciphertext of a vault, for integrity checks and tests. */
  countVersions(vaultId: string): Promise<number>;
}

export interface RolePermissionRow {
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

/** A custom role definition (built-in roles live in code). */
export interface RoleDefinitionRow {
  id: string;
  roleName: string;
  description: string;
  permissions: RolePermissionRow[];
  assignableScopes: string[];
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  /** The authorization seal's MAC (authorization/authorization-seal.ts); null for a row stored without one. Stores keep it as given. */
  mac?: string | null;
}

export interface RoleAssignmentRow {
  /** The assignment's GUID (its ARM `name`). */
  id: string;
  /** ARM scope as given (compared case-insensitively). */
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: 'User' | 'Group' | 'ServicePrincipal';
  description: string | null;
  /** coffer's time-bound grants: no longer granting after this time. */
  endTime: number | null;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  /** The authorization seal's MAC (authorization/authorization-seal.ts); null for a row stored without one. Stores keep it as given. */
  mac?: string | null;
}

/** What an update of a role assignment changes (az role assignment update); `mac` is its seal after. */
export type AssignmentChange = Pick<RoleAssignmentRow, 'description' | 'endTime' | 'updatedAt' | 'mac'>;

/** A group membership as stored, with its seal (see RoleAssignmentRow.mac). */
export interface MembershipRow {
  groupId: string;
  memberId: string;
  mac: string | null;
}

export interface GroupStore {
  /** Returns false if the membership already existed. `mac`: the membership's seal. */
  addMember(groupId: string, memberId: string, audit?: AuditRecord, mac?: string): Promise<boolean>;
  removeMember(groupId: string, memberId: string, audit?: AuditRecord): Promise<boolean>;
  listMembers(groupId: string): Promise<string[]>;
  /** The group's memberships with their seals. */
  membershipsOf(groupId: string): Promise<MembershipRow[]>;
  /** Every membership: the authorization index is built from it. */
  allMemberships(): Promise<MembershipRow[]>;
  /** Seals the membership if its seal is `expected` now (null: stored without one); false otherwise. */
  setMac(groupId: string, memberId: string, mac: string, expected?: string | null): Promise<boolean>;
}

// `audit`, on the writes of role definitions and assignments, is appended to
// the audit trail in the write's own transaction when the write changes
// something: the record is stored if and only if the change is.

export interface RoleDefinitionStore {
  /** Throws StoreConflictError('exists') if another role has the same name. */
  upsert(row: RoleDefinitionRow, audit?: AuditRecord): Promise<void>;
  get(id: string): Promise<RoleDefinitionRow | null>;
  list(): Promise<RoleDefinitionRow[]>;
  /** False if there is no such role; throws StoreConflictError('changed') while an assignment of it is stored. */
  delete(id: string, audit?: AuditRecord): Promise<boolean>;
  /** Seals the role if its seal is `expected` now (null: stored without one); false otherwise. */
  setMac(id: string, mac: string, expected?: string | null): Promise<boolean>;
}

export interface RoleAssignmentStore {
  /**
   * Throws StoreConflictError('exists') if the id is taken, or if another row holds the same grant (principal,
   * scope, role) and `checks.twinCounts` counts it (then naming it in `existing`); StoreParentGoneError if
   * `checks.customRole` and the role is not stored.
   */
  insert(row: RoleAssignmentRow, audit?: AuditRecord, checks?: AssignmentChecks): Promise<void>;
  get(id: string): Promise<RoleAssignmentRow | null>;
  list(): Promise<RoleAssignmentRow[]>;
  delete(id: string, audit?: AuditRecord): Promise<boolean>;
  /**
   * Changes what an assignment may change (description, end time, with its
   * new seal) if the stored row is still `stored`'s: same id and seal. The
   * row after, or null when it is gone or was changed meanwhile.
   */
  update(stored: RoleAssignmentRow, change: AssignmentChange, audit?: AuditRecord): Promise<RoleAssignmentRow | null>;
  /** Removes assignments whose end time has passed; returns them. */
  deleteExpired(now: number): Promise<RoleAssignmentRow[]>;
  /** Removes every assignment of a principal (when it is deleted). */
  deleteForPrincipal(principalId: string): Promise<number>;
  /** Seals the assignment if its seal is `expected` now (null: stored without one); false otherwise. */
  setMac(id: string, mac: string, expected?: string | null): Promise<boolean>;
}

/**
 * What a start's pre-flight reads (server/start-preflight.ts): the database as
 * the start would migrate it, in a transaction rolled back afterwards.
 */
export type StartView = Pick<Store, 'settings' | 'principals' | 'signingKeys' | 'vaults' | 'roleAssignments' | 'roleDefinitions' | 'groups'>;

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  audit: AuditStore;
  groups: GroupStore;
  roleDefinitions: RoleDefinitionStore;
  roleAssignments: RoleAssignmentStore;
  settings: SettingsStore;
  principals: PrincipalStore;
  signingKeys: SigningKeyStore;
  refreshTokens: RefreshTokenStore;
  signInCodes: SignInCodeStore;
  signInFailures: SignInFailureStore;
  resourceGroups: ResourceGroupStore;
  vaults: VaultStore;
  secrets: SecretStore;
  /**
   * Settles if the store can no longer be used safely by this server alone
   * (PostgreSQL: the connection holding the one-server lock broke, so another
   * server may take over). Absent where that cannot happen (SQLite).
   */
  lost?: Promise<Error>;
  /** PostgreSQL: the connection holding the lock, whose breaks the server may survive (store-session.ts). */
  session?: StoreSession;
  /** What the members of a cluster change (PostgreSQL with `cluster`); absent for a server that holds its store alone. */
  changes?: ChangeFeed;
  /**
   * Waits until no other server of the database is setting up, and keeps
   * them waiting until the returned function is called: a deployment's
   * first start (its ids, administrator and keys) happens once. Absent
   * where one server has the store (SQLite).
   */
  setupLock?(): Promise<() => Promise<void>>;
  /**
   * Keeps the authorization digest in the transaction of every write to a table of sealed rows
   * (authorization/authorization-digest.ts). Absent where it is not built yet (PostgreSQL).
   */
  authorizationDigest?: AuthorizationDigestHost;
  close(): Promise<void>;
}

export { isDatabaseUnavailable, isStorageFull, StoreConflictError, StoreParentGoneError } from './store-errors.js';
