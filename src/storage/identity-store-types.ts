import type { AuditRecord } from './audit-store-types.js';
import type { FederatedCredentialStore } from './federated-credential-types.js';

// The directory's part of the storage contract (store-types.ts re-exports it): principals with their client
// secrets and certificate credentials, and the token signing keys.

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
