import { config } from '../config';
import { challengeFor, randomToken } from './pkce';

// The signed-in session: authorization code flow with PKCE against coffer's
// identity service, then one access token per resource (management plane,
// vault data plane) bought with the rotating refresh token. Access tokens
// live in memory only; the refresh token in sessionStorage, so a reload keeps
// the session and closing the tab ends it.

export type Resource = 'management' | 'vault';
export interface User {
  objectId: string;
  name: string;
  userName: string;
}
export type SessionState =
  | { status: 'starting' }
  | { status: 'signed-out'; notice: string | null }
  | { status: 'signed-in'; user: User };

const SESSION_KEY = 'coffer.portal.session';
const PENDING_KEY = 'coffer.portal.pending';
export const CALLBACK_PATH = '/portal/auth-callback';
/** Renew a token this long before it expires, so a request never carries a stale one. */
const EARLY_RENEWAL_MS = 120_000;

let state: SessionState = { status: 'starting' };
const listeners = new Set<() => void>();
const tokens = new Map<Resource, { token: string; expiresAt: number }>();
// Refresh tokens rotate on every use, so token requests run one at a time.
let queue: Promise<unknown> = Promise.resolve();

function set(next: SessionState) {
  state = next;
  listeners.forEach((l) => l());
}

export const session = {
  get: () => state,
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

const tokenEndpoint = () => `${config().authority}/${config().tenantId}/oauth2/v2.0/token`;
const revocationEndpoint = () => `${config().authority}/${config().tenantId}/oauth2/v2.0/revoke`;
const redirectUri = () => `${window.location.origin}${CALLBACK_PATH}`;
const scopeOf = (r: Resource) => `${r === 'management' ? config().managementResource : config().vaultResource}/.default`;

// The id token comes straight from the token endpoint over TLS, so its claims
// are read without checking the signature (OpenID Connect Core 3.1.3.7).
function claimsOf(idToken: string | undefined): Record<string, string | undefined> {
  const part = (idToken ?? '').split('.')[1] ?? '';
  try {
    const bytes = Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, string | undefined>;
  } catch {
    return {};
  }
}

interface Stored {
  refreshToken: string;
  user: User;
}
const stored = (): Stored | null => {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Stored | null;
  } catch {
    return null;
  }
};

class TokenRequestError extends Error {
  constructor(
    message: string,
    readonly oauthError: string,
  ) {
    super(message);
  }
}

async function tokenRequest(params: Record<string, string>) {
  const res = await fetch(tokenEndpoint(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: config().clientId, ...params }) });
  const body = (await res.json().catch(() => ({}))) as Record<string, string | number | undefined>;
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new TokenRequestError(String(body.error_description ?? `Sign-in failed (HTTP ${res.status}).`), String(body.error ?? 'unknown'));
  }
  return body as { access_token: string; refresh_token: string; expires_in: number; id_token?: string };
}

function remember(resource: Resource, body: { access_token: string; expires_in: number }) {
  tokens.set(resource, { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 });
}

/** Ends the session locally; `notice` is shown on the sign-in page. */
export function endSession(notice: string | null) {
  sessionStorage.removeItem(SESSION_KEY);
  tokens.clear();
  set({ status: 'signed-out', notice });
}

export async function signIn(returnTo = window.location.pathname + window.location.search) {
  const verifier = randomToken();
  const pending = { state: randomToken(16), verifier, nonce: randomToken(16), returnTo };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(`${config().authority}/${config().tenantId}/oauth2/v2.0/authorize`);
  const params = {
    client_id: config().clientId,
    response_type: 'code',
    redirect_uri: redirectUri(),
    scope: `${scopeOf('management')} openid profile offline_access`,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await challengeFor(verifier),
    code_challenge_method: 'S256',
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  window.location.assign(url.toString());
}

/** Ends the session here and makes its refresh token worthless on the server. */
export function signOut() {
  const saved = stored();
  endSession('You have signed out.');
  if (saved) void revokeRefreshToken(saved.refreshToken);
}

/**
 * Revokes the session's refresh token at the identity service (RFC 7009), so
 * that no copy of it (one taken from this tab included) works any more.
 * keepalive lets the request finish if the tab is closed right after.
 */
async function revokeRefreshToken(refreshToken: string): Promise<void> {
  const body = new URLSearchParams({ client_id: config().clientId, token: refreshToken, token_type_hint: 'refresh_token' });
  await fetch(revocationEndpoint(), { method: 'POST', keepalive: true, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).catch(() => undefined);
}

async function completeSignIn(): Promise<string> {
  const query = new URLSearchParams(window.location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as { state: string; verifier: string; nonce: string; returnTo: string } | null;
  sessionStorage.removeItem(PENDING_KEY);
  const mismatch = new Error('The sign-in response did not match a sign-in started here. Sign in again.');
  // The state first: anyone can link to this page, and only an answer to our own sign-in may speak on the page.
  if (!pending) throw new StrayCallback(mismatch.message);
  if (query.get('state') !== pending.state) throw mismatch;
  if (query.get('error')) throw new Error(query.get('error_description') ?? query.get('error')!);
  if (!query.get('code')) throw mismatch;
  const body = await tokenRequest({ grant_type: 'authorization_code', code: query.get('code')!, redirect_uri: redirectUri(), code_verifier: pending.verifier });
  const claims = claimsOf(body.id_token);
  if (claims.nonce !== pending.nonce) throw new Error('The sign-in response was not for this sign-in (nonce mismatch). Sign in again.');
  remember('management', body);
  const userName = claims.preferred_username ?? claims.upn ?? '';
  const user: User = { objectId: claims.oid ?? '', name: claims.name ?? userName, userName };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ refreshToken: body.refresh_token, user } satisfies Stored));
  set({ status: 'signed-in', user });
  return pending.returnTo.startsWith('/portal') && !pending.returnTo.startsWith(CALLBACK_PATH) ? pending.returnTo : '/portal/';
}

/** A visit to the sign-in callback when no sign-in was started here: a link anyone can send. */
class StrayCallback extends Error {}

/** Restores the session at page load, or finishes a sign-in redirect. Returns where to go. */
export async function startSession(): Promise<string | null> {
  if (window.location.pathname === CALLBACK_PATH) {
    const saved = stored();
    try {
      return await completeSignIn();
    } catch (err) {
      // Such a link leaves a session as it is: it must not sign the tab out.
      if (saved && err instanceof StrayCallback) {
        set({ status: 'signed-in', user: saved.user });
        return '/portal/';
      }
      // A sign-in that failed ends the session it replaces, on the server too (as Sign out does).
      endSession((err as Error).message);
      if (saved) void revokeRefreshToken(saved.refreshToken);
      return '/portal/';
    }
  }
  const saved = stored();
  if (saved) set({ status: 'signed-in', user: saved.user });
  else set({ status: 'signed-out', notice: null });
  return null;
}

/** An access token for the resource, renewed with the refresh token when needed. */
export function accessToken(resource: Resource, options: { forceRenewal?: boolean } = {}): Promise<string> {
  const cached = tokens.get(resource);
  if (!options.forceRenewal && cached && cached.expiresAt - EARLY_RENEWAL_MS > Date.now()) return Promise.resolve(cached.token);
  const next = queue.then(async () => {
    const again = tokens.get(resource);
    if (!options.forceRenewal && again && again.expiresAt - EARLY_RENEWAL_MS > Date.now()) return again.token;
    const saved = stored();
    if (!saved) {
      endSession('Your session has expired. Sign in again.');
      throw new Error('Your session has expired.');
    }
    try {
      const body = await tokenRequest({ grant_type: 'refresh_token', refresh_token: saved.refreshToken, scope: `${scopeOf(resource)} offline_access` });
      // A sign-out while the request was out must not bring the session back.
      if (stored()?.refreshToken !== saved.refreshToken) throw new Error('The session ended while a token was being renewed.');
      sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...saved, refreshToken: body.refresh_token }));
      remember(resource, body);
      return body.access_token;
    } catch (err) {
      // Unless the session already ended (a sign-out revokes the token this request carried).
      if (err instanceof TokenRequestError && err.oauthError === 'invalid_grant' && stored()?.refreshToken === saved.refreshToken) endSession('Your session has expired. Sign in again.');
      throw err;
    }
  });
  queue = next.catch(() => undefined);
  return next;
}
