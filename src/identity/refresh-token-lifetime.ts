import { oauthErrors } from '../server/errors.js';
import { PORTAL_CLIENT_ID } from './identity-types.js';

// How long a refresh token lives, as Entra ID decides it: 90 days, renewed
// with each refresh, except for a single-page application's (coffer's
// portal, whose code flow redirects to its own page), whose tokens live 24
// hours from the sign-in, a lifetime refreshing does not extend. Such a
// token sits in browser storage, where a script injected into the page or
// the next user of a shared browser can take it: it must not outlive the day.

const LIFETIME_SECONDS = 90 * 24 * 3600;
const SPA_LIFETIME_SECONDS = 24 * 3600;

const isSinglePageApp = (clientId: string): boolean => clientId.toLowerCase() === PORTAL_CLIENT_ID;

/** When a refresh token issued now to `clientId` expires; `signInExpiry`: the expiry of the token it replaces, if any. */
export function refreshTokenExpiry(clientId: string, now: number, signInExpiry?: number): number {
  if (!isSinglePageApp(clientId)) return now + LIFETIME_SECONDS;
  return signInExpiry ?? now + SPA_LIFETIME_SECONDS;
}

/** Entra ID's answer to an expired refresh token: AADSTS700084 for a single-page application's (its fixed day), else AADSTS700082. */
export function refreshTokenExpired(clientId: string, expiresAt: number) {
  if (!isSinglePageApp(clientId)) return oauthErrors.invalidGrant(700082, 'AADSTS700082: The refresh token has expired due to inactivity.');
  const issued = new Date((expiresAt - SPA_LIFETIME_SECONDS) * 1000).toISOString().replace(/\.\d{3}Z$/, '.0000000Z');
  return oauthErrors.invalidGrant(
    700084,
    `AADSTS700084: The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page. The token was issued on ${issued}.`,
  );
}
