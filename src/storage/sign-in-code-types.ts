// The store's part of the device-code and authorization-code grants
// (identity/device-code.ts, identity/auth-codes.ts).

/**
 * A pending device sign-in (RFC 8628). Only the device code's hash is kept:
 * the code itself is the polling client's bearer secret.
 */
export interface DeviceCodeRow {
  deviceCodeHash: string;
  /** What the person types at /devicelogin; matched case-insensitively. */
  userCode: string;
  clientId: string;
  scope: string;
  /** The starting client's sourceKey, and that source's networkKey: what the caps count by. */
  source: string;
  network: string;
  expiresAt: number;
  /** Object id of the user who approved it; null until one does. */
  approvedBy: string | null;
}

/** A pending authorization code (code flow with PKCE). Only the code's hash is kept. */
export interface AuthCodeRow {
  codeHash: string;
  objectId: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  /** The PKCE S256 code challenge. */
  challenge: string;
  nonce: string | null;
  /** sourceKey of the browser that signed in: what the cap counts by. */
  source: string;
  expiresAt: number;
  /** The user's password generation the sign-in was made with (PrincipalRow.passwordGeneration). */
  passwordGeneration: number;
}

/** Sign-ins any live code may be pending for at once: all of them, per source, per network. */
export interface SignInCodeLimits {
  total: number;
  perSource: number;
  perNetwork?: number;
}

/**
 * Device codes and authorization codes between their start and their
 * redemption, shared by every server of the database. A code is pending
 * while now <= expiresAt. The caps count pending codes in the store: exactly
 * on SQLite (count and insert in one transaction); on PostgreSQL concurrent
 * starts (on one server or several) may overshoot them by a few. Redemption is
 * strictly single use on both.
 */
export interface SignInCodeStore {
  /**
   * Stores a device sign-in unless `limits` are reached (counting pending
   * sign-ins in all, of row.source and of row.network): false, and nothing
   * stored, when one is. Drops expired device sign-ins first. Throws
   * StoreConflictError('exists') if the device code hash or the user code is
   * taken.
   */
  startDevice(row: DeviceCodeRow, limits: SignInCodeLimits, now: number): Promise<boolean>;
  /**
   * Marks the pending sign-in with this user code (case-insensitive) approved by `objectId`; false if none is
   * pending. One already approved is not pending: a later approval (by whoever else saw the code) changes nothing.
   */
  approveDevice(userCode: string, objectId: string, now: number): Promise<boolean>;
  /** The client that started the pending sign-in with this user code (case-insensitive); null if none is pending. */
  pendingDevice(userCode: string, now: number): Promise<{ clientId: string } | null>;
  /**
   * Removes and returns the sign-in if `clientId` started it and it has
   * ended (approved, or expired at `now`), in one statement: two concurrent
   * polls never both get it. Otherwise null, and it is left as it is.
   */
  takeDevice(deviceCodeHash: string, clientId: string, now: number): Promise<DeviceCodeRow | null>;
  /** The sign-in if `clientId` started it, whatever its state. */
  getDevice(deviceCodeHash: string, clientId: string): Promise<DeviceCodeRow | null>;
  /**
   * Stores a code unless `limits` are reached (pending codes in all and of
   * row.source; perNetwork is ignored); false, and nothing stored, when one
   * is. Drops expired codes first. Throws StoreConflictError('exists') if
   * the hash is taken.
   */
  issueAuthCode(row: AuthCodeRow, limits: SignInCodeLimits, now: number): Promise<boolean>;
  /**
   * Redeems a code, in one statement: the first take of a pending code gets
   * the row ('taken'), every later one 'redeemed' (until the code's expiry,
   * when it goes); 'unknown' for a code that is absent or expired.
   */
  takeAuthCode(codeHash: string, now: number): Promise<AuthCodeTake>;
  /** Removes device sign-ins and codes (redeemed ones included) that expired before `now`; returns how many. */
  deleteExpired(now: number): Promise<number>;
}

export type AuthCodeTake = { result: 'taken'; row: AuthCodeRow } | { result: 'redeemed' } | { result: 'unknown' };
