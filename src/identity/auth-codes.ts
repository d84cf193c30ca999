import { createHash, randomBytes } from 'node:crypto';
import { oauthErrors } from '../server/errors.js';

// Authorization codes (OAuth 2.0 code flow with PKCE, S256 only): single use,
// five minutes, bound to client, redirect URI and code challenge. In memory:
// a restart cancels sign-ins in flight, nothing else.

const LIFETIME_MS = 5 * 60 * 1000;
const MAX_PENDING = 10_000;
/** Codes one source (sourceKey: an IPv4 address or an IPv6 /64) may hold unredeemed, so that none takes every slot. */
export const MAX_CODES_PER_SOURCE = 50;

interface PendingCode {
  objectId: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  challenge: string;
  nonce: string | null;
  expiresAt: number;
  source: string;
}

const hash = (s: string) => createHash('sha256').update(s).digest('base64url');

export function createAuthCodes() {
  const codes = new Map<string, PendingCode>();
  const redeemed = new Set<string>();
  const perSource = new Map<string, number>();

  /** Every way out of `codes` goes through here, so that the count per source stays in step. */
  function remove(key: string, c: PendingCode) {
    codes.delete(key);
    const left = (perSource.get(c.source) ?? 1) - 1;
    if (left > 0) perSource.set(c.source, left);
    else perSource.delete(c.source);
  }

  function prune() {
    const now = Date.now();
    for (const [k, c] of codes) if (c.expiresAt < now) remove(k, c);
    if (redeemed.size > MAX_PENDING) redeemed.clear();
  }

  return {
    issue(p: Omit<PendingCode, 'expiresAt'>): string {
      prune();
      if (codes.size >= MAX_PENDING || (perSource.get(p.source) ?? 0) >= MAX_CODES_PER_SOURCE) {
        throw oauthErrors.invalidRequest(null, 'Too many sign-ins are in progress; try again later.');
      }
      const code = randomBytes(32).toString('base64url');
      codes.set(hash(code), { ...p, expiresAt: Date.now() + LIFETIME_MS });
      perSource.set(p.source, (perSource.get(p.source) ?? 0) + 1);
      return code;
    },
    redeem(code: string, clientId: string, redirectUri: string, verifier: string | undefined): PendingCode {
      const key = hash(code);
      if (redeemed.has(key)) throw oauthErrors.invalidGrant(54005, 'AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
      const p = codes.get(key);
      if (p) remove(key, p);
      if (!p || p.expiresAt < Date.now()) throw oauthErrors.invalidGrant(70008, 'AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
      redeemed.add(key);
      if (p.clientId !== clientId) throw oauthErrors.invalidGrant(70000, 'AADSTS70000: The provided authorization code was issued to a different client.');
      if (p.redirectUri !== redirectUri) throw oauthErrors.invalidGrant(50011, `AADSTS50011: The redirect URI '${redirectUri.slice(0, 200)}' does not match the redirect URI of the authorization request.`);
      if (!verifier || hash(verifier) !== p.challenge) {
        throw oauthErrors.invalidGrant(50148, 'AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.');
      }
      return p;
    },
    /** Pending codes and sources counted (for tests: nothing kept past its use). */
    size: () => ({ codes: codes.size, sources: perSource.size }),
  };
}

export type AuthCodes = ReturnType<typeof createAuthCodes>;
