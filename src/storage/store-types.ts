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
import type { FederatedCredentialStore } from './federated-credential-types.js';
import type { AssignmentChecks } from './assignment-checks.js';

// The audit trail's part of the contract lives in audit-store-types.ts, the vaults' in vault-store-types.ts.
export * from './audit-store-types.js';
export * from './vault-store-types.js';
export * from './federated-credential-types.js';

export type PrincipalKind = 'ServicePrincipal' | 'User' | 'Group';

export interface PrincipalRow {
  objectId: string;
  kind: PrincipalKind;
  displayName: string;
  /** Service principals only. */
  appId: string | null;
  /** Users only: user principal name. */
  upn: string | null;
  /** Users only: scrypt hash string (see identity/password-hash.ts). */
  passwordHash: string | null;
  /** Groups only: the mail nickname given at creation (null for groups stored before it was kept: see graph-filter.ts). */
  mailNickname: string | null;
  createdAt: number;
  /**
   * Users: how many times their password was set after creation (setPassword counts it up), which every sign-in
   * carries, so that a reset ends the sign-ins made before it. Stored rows have it; a new row starts at 0.
   */
  passwordGeneration?: number;
}

/** A change of a principal's key credentials; `expected`: the keyIds stored when it was planned (compare-and-set). */
export interface KeyCredentialChange {
  add: KeyCredentialRow[];
  remove: string[];
  expected?: string[];
}

export interface ClientSecretRow {
  keyId: string;
  objectId: string;
  /** Hash of the secret (never the secret itself). */
  secretHash: string;
  /** First three characters, as Entra ID shows them. */
  hint: string;
  displayName: string | null;
  startAt: number;
  endAt: number;
}

/**
 * A certificate credential of a service principal (Graph's keyCredential of
 * type AsymmetricX509Cert): the certificate's public part only. `mac` is the
 * authorization seal over the row (authorization-seal.ts): a row without a
 * matching one authenticates nothing.
 */
export interface KeyCredentialRow {
  keyId: string;
  objectId: string;
  /** The X.509 certificate, DER. */
  certificate: Buffer;
  /** Upper-case hex digests of the DER, as Graph's customKeyIdentifier and MSAL's x5t / x5t#S256 name it. */
  thumbprintSha1: string;
  thumbprintSha256: string;
  displayName: string | null;
  startAt: number;
  endAt: number;
  mac: string | null;
}

export interface SigningKeyRow {
  kid: string;
  publicJwk: string;
  /** PKCS#8 private key sealed by the master keyring. */
  privateSealed: Buffer;
  masterKeyId: string;
  createdAt: number;
  retiredAt: number | null;
}

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

// `audit`, on the writes of principals, their client secrets and group
// memberships, is appended to the audit trail in the write's own transaction
// when the write changes something: the record is stored if and only if the
// change is.

export interface PrincipalStore extends FederatedCredentialStore {
  /** With `firstSecret` (or `firstKeys`), the principal's first client secret (or key credentials) are stored in the same transaction. */
  insert(row: PrincipalRow, audit?: AuditRecord, firstSecret?: ClientSecretRow, firstKeys?: KeyCredentialRow[]): Promise<void>;
  get(objectId: string): Promise<PrincipalRow | null>;
  getByAppId(appId: string): Promise<PrincipalRow | null>;
  getByUpn(upn: string): Promise<PrincipalRow | null>;
  list(kind?: PrincipalKind): Promise<PrincipalRow[]>;
  /** Deletes the principal and its client secrets, key credentials and federated credentials. Returns false if absent. */
  delete(objectId: string, audit?: AuditRecord): Promise<boolean>;
  addClientSecret(row: ClientSecretRow, audit?: AuditRecord): Promise<void>;
  listClientSecrets(objectId: string): Promise<ClientSecretRow[]>;
  removeClientSecret(objectId: string, keyId: string, audit?: AuditRecord): Promise<boolean>;
  listKeyCredentials(objectId: string): Promise<KeyCredentialRow[]>;
  /** Every principal's key credentials (a renewal of the authorization seal). */
  allKeyCredentials(): Promise<KeyCredentialRow[]>;
  /**
   * Removes the principal's key credentials named by `remove` and adds `add`,
   * in one transaction with `audit`, if its stored keyIds are still exactly
   * `expected` (when given: the change was planned from them). Throws
   * StoreParentGoneError when the principal is gone, StoreConflictError
   * 'exists' when a keyId is taken, 'changed' when the stored ones are not
   * `expected`.
   */
  changeKeyCredentials(objectId: string, change: KeyCredentialChange, audit?: AuditRecord): Promise<void>;
  /** Replaces a key credential's seal if it is still `was`: true when replaced. */
  setKeyCredentialMac(keyId: string, mac: string, was: string | null): Promise<boolean>;
  /**
   * Replaces a stored credential hash, the principal's password hash (keyId
   * null) or one of its client secrets', if it is still `from`: true when it
   * was replaced.
   */
  replaceCredentialHash(objectId: string, keyId: string | null, from: string, to: string): Promise<boolean>;
  /**
   * A new password (hash) for a user whose hash is still `from`, the next
   * password generation, and every refresh token of theirs revoked, in one
   * transaction (with `audit`): false when the hash was changed meanwhile,
   * or the user is gone. (replaceCredentialHash, a new hash of the same
   * password, keeps the generation.)
   */
  setPassword(objectId: string, from: string, to: string, audit?: AuditRecord): Promise<boolean>;
}

export interface SigningKeyStore {
  insert(row: SigningKeyRow): Promise<void>;
  list(): Promise<SigningKeyRow[]>;
  /**
   * Retires an active key at `at`, storing its private half resealed (with the
   * retirement bound in); false when the key was not active.
   */
  retire(kid: string, at: number, privateSealed: Buffer, masterKeyId: string): Promise<boolean>;
  rewrap(kid: string, privateSealed: Buffer, masterKeyId: string): Promise<void>;
}

export type { AuthCodeRow, AuthCodeTake, DeviceCodeRow, SignInCodeLimits, SignInCodeStore } from './sign-in-code-types.js';
export type { FailureCount, SignInFailureStore } from './sign-in-failure-types.js';
export { USED_REFRESH_TOKEN_KEPT_SECONDS, type RefreshTokenRow, type RefreshTokenStore } from './refresh-token-types.js';

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
