import { oauthErrors } from '../server/errors.js';
import { PUBLIC_CLIENTS } from './identity-types.js';

// Who a token request says its client is (oauth-grants.ts): the client id and secret from the body or a Basic
// header, first-party public clients, and the spelling a client id is stored and looked up under.

/** A form parameter the request must carry (Entra ID's AADSTS900144 without it). */
export function need(params: Record<string, string>, name: string): string {
  const v = params[name];
  if (!v) throw oauthErrors.invalidRequest(900144, `AADSTS900144: The request body must contain the following parameter: '${name}'.`);
  return v;
}

/**
 * The Basic header's client, unless the body names another client or secret: the token would go to the
 * header's client while whatever reads the body (a proxy's rule, a log) sees the other. RFC 6749 2.3 lets
 * a client use one authentication method per request; the same values in both are taken.
 */
function agreeingWithBody(params: Record<string, string>, clientId: string, clientSecret: string) {
  if (params.client_id !== undefined && params.client_id.toLowerCase() !== clientId.toLowerCase()) {
    throw oauthErrors.invalidRequest(null, "The request names one client in its Basic authorization header and another in its 'client_id' parameter.");
  }
  if (params.client_secret !== undefined && params.client_secret !== clientSecret) {
    throw oauthErrors.invalidRequest(null, "The request carries a client secret in its Basic authorization header and another in its 'client_secret' parameter: send one.");
  }
  return { clientId, clientSecret };
}

/** An HTTP Basic authorization header (its scheme in any case: RFC 7235 2.1). */
export const isBasic = (authorization: string | undefined): authorization is string => /^basic /i.test(authorization ?? '');

export function clientCredentialsFrom(params: Record<string, string>, authorization: string | undefined) {
  if (isBasic(authorization)) {
    const basic = basicCredentials(authorization.slice(6));
    if (basic === 'malformed') {
      throw oauthErrors.invalidClient(7000216, "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type. The Basic authorization header is malformed.");
    }
    if (basic) return agreeingWithBody(params, basic.clientId, basic.clientSecret);
  }
  return { clientId: need(params, 'client_id'), clientSecret: params.client_secret };
}

/** A Basic header's client id and secret (each percent-encoded, RFC 6749 2.3.1); null without a `:`. */
function basicCredentials(encoded: string): { clientId: string; clientSecret: string } | 'malformed' | null {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const sep = decoded.indexOf(':');
  if (sep <= 0) return null;
  try {
    const clientId = decodeURIComponent(decoded.slice(0, sep));
    const clientSecret = decodeURIComponent(decoded.slice(sep + 1));
    // U+0000 is refused everywhere else a request can carry it (PostgreSQL's text cannot even compare it).
    return clientId.includes('\u0000') || clientSecret.includes('\u0000') ? 'malformed' : { clientId, clientSecret };
  } catch {
    return 'malformed'; // not percent-decodable
  }
}

/**
 * First-party public clients (the Azure CLI, Azure PowerShell, coffer's CLI
 * and portal) sign users in without a secret. A registered application is a
 * confidential client: it must prove itself with its secret, or any user
 * could get tokens in its name (and match access policies bound to it).
 */
export const isPublicClient = (clientId: string): boolean => Object.hasOwn(PUBLIC_CLIENTS, clientId.toLowerCase());

/**
 * A client id as a user's sign-in is stored and looked up under (its refresh tokens, device and authorization
 * codes): client ids are GUIDs, which Entra ID compares in any case.
 */
export const canonicalClientId = (clientId: string): string => clientId.toLowerCase();

/**
 * A first-party public client has no credential: one sent (a secret, an assertion) is a misconfigured
 * client's, refused as Entra ID refuses it. The device code and authorization code grants are public
 * clients' only (their codes are issued to no other), the others check `clientId` first.
 */
export function refuseCredentialOfPublicClient(params: Record<string, string>): void {
  if (params.client_secret || params.client_assertion !== undefined) {
    throw oauthErrors.invalidClient(700025, "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.");
  }
}
