import { createHash, randomBytes } from 'node:crypto';
import { oauthErrors } from '../server/errors.js';
import type { AuthCodeRow, AuthCodeTake, SignInCodeStore } from '../storage/store-types.js';

// Authorization codes (OAuth 2.0 code flow with PKCE, S256 only): single use,
// five minutes, bound to client, redirect URI and code challenge. Kept in the
// store (store.signInCodes), as hashes, so that a code issued by one server
// of a database can be redeemed at another, and only once across them. A
// code names the user who signed in, and a redeemed row must be that user's:
// a database writer who gives their own code's row to someone else gets
// nothing (a row for a code naming that user needs a keyed hash).

const LIFETIME_SECONDS = 5 * 60;
const MAX_PENDING = 10_000;
/** Codes one source (sourceKey: an IPv4 address or an IPv6 /64) may hold unredeemed, so that none takes every slot. */
export const MAX_CODES_PER_SOURCE = 50;

export type PendingCode = Omit<AuthCodeRow, 'codeHash' | 'expiresAt'>;

const FORMAT = 'ac1';
/** The user a code names (null: not one of ours). */
function namedUser(code: string): string | null {
  const parts = code.split('.');
  return parts.length === 3 && parts[0] === FORMAT && /^[A-Za-z0-9-]{1,64}$/.test(parts[1]!) ? parts[1]! : null;
}

/** PKCE's S256: the challenge a verifier must match (RFC 7636), unkeyed by definition. */
const s256 = (s: string) => createHash('sha256').update(s).digest('base64url');

/** `hash`: how a code is stored (CredentialHasher.tokenHash, keyed). */
export function createAuthCodes(store: SignInCodeStore, hash: (code: string) => string, now = () => Math.floor(Date.now() / 1000)) {
  const limits = { total: MAX_PENDING, perSource: MAX_CODES_PER_SOURCE };
  return {
    async issue(p: PendingCode): Promise<string> {
      const code = `${FORMAT}.${p.objectId}.${randomBytes(32).toString('base64url')}`;
      const t = now();
      // A 256-bit random code's hash is never taken: a conflict is an error like any other.
      if (!(await store.issueAuthCode({ ...p, codeHash: hash(code), expiresAt: t + LIFETIME_SECONDS }, limits, t))) {
        throw oauthErrors.invalidRequest(null, 'Too many sign-ins are in progress; try again later.');
      }
      return code;
    },
    /** Redeems a code once, whatever the outcome of the checks after it is taken. */
    async redeem(code: string, clientId: string, redirectUri: string, verifier: string | undefined): Promise<PendingCode> {
      const named = namedUser(code);
      const taken: AuthCodeTake = named === null ? { result: 'unknown' } : await store.takeAuthCode(hash(code), now());
      if (taken.result === 'redeemed') throw oauthErrors.invalidGrant(54005, 'AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
      if (taken.result === 'unknown') throw oauthErrors.invalidGrant(70008, 'AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
      const { codeHash: _hash, expiresAt: _expiresAt, ...p } = taken.row;
      if (p.objectId.toLowerCase() !== named!.toLowerCase()) throw oauthErrors.invalidGrant(70008, 'AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
      if (p.clientId !== clientId) throw oauthErrors.invalidGrant(70000, 'AADSTS70000: The provided authorization code was issued to a different client.');
      if (p.redirectUri !== redirectUri) throw oauthErrors.invalidGrant(50011, `AADSTS50011: The redirect URI '${redirectUri.slice(0, 200)}' does not match the redirect URI of the authorization request.`);
      if (!verifier || s256(verifier) !== p.challenge) {
        throw oauthErrors.invalidGrant(50148, 'AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.');
      }
      return p;
    },
  };
}

export type AuthCodes = ReturnType<typeof createAuthCodes>;
