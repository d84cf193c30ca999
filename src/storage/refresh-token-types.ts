// Refresh tokens as the store keeps them: single use, in families (one per
// sign-in) so that a reuse can revoke the sign-in (identity/oauth-grants.ts).

export interface RefreshTokenRow {
  tokenHash: string;
  objectId: string;
  clientId: string;
  scope: string;
  expiresAt: number;
  /** The sign-in the token descends from: every token refreshed from one sign-in shares it. */
  familyId: string;
  /** The user's password generation the sign-in was made with (PrincipalRow.passwordGeneration). */
  passwordGeneration: number;
}

/** How long a used refresh token is kept (at most), so that its reuse is recognised. */
export const USED_REFRESH_TOKEN_KEPT_SECONDS = 14 * 24 * 3600;

/**
 * Unused refresh tokens a user keeps for one client (one per sign-in, a refresh replacing its own): a new one
 * past these drops those that expire first. Without a bound, a script signing in every minute kept 130,000
 * rows for 90 days.
 */
export const REFRESH_TOKENS_PER_USER_AND_CLIENT = 200;

export interface RefreshTokenStore {
  /** Stores the token, then drops the user's unused tokens for its client past the newest REFRESH_TOKENS_PER_USER_AND_CLIENT (by expiry). */
  insert(row: RefreshTokenRow): Promise<void>;
  /**
   * Marks the token used at `at` and returns it, if it was issued to
   * `clientId` and is unused (refresh tokens are single use); another
   * client's token is left as it is. A used token is kept, its expiry at most
   * USED_REFRESH_TOKEN_KEPT_SECONDS after `at`, so that a reuse is seen.
   */
  take(tokenHash: string, clientId: string, at: number): Promise<RefreshTokenRow | null>;
  /**
   * The token's row if it was issued to `clientId` and is unused, changing
   * nothing: only to tell why a token redeems nothing (a key rotation since).
   */
  findUnused(tokenHash: string, clientId: string): Promise<RefreshTokenRow | null>;
  /**
   * Deletes every token of the family `tokenHash` (issued to `clientId`)
   * belongs to; false if there is none. With `usedBy`, only if that token was
   * used at or before then; without, used or not.
   */
  revokeFamily(tokenHash: string, clientId: string, usedBy?: number): Promise<boolean>;
  deleteExpired(now: number): Promise<number>;
}
