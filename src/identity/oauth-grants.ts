import { randomBytes } from 'node:crypto';
import { mintRefreshToken, refreshTokenClaims, refreshTokenHashInput, rowMatches } from './refresh-token-binding.js';
import type { PrincipalRow, RefreshTokenStore } from '../storage/store-types.js';
import { oauthErrors } from '../server/errors.js';
import type { DirectoryService } from './directory-service.js';
import type { TokenService } from './token-service.js';
import { canonicalClientId, clientCredentialsFrom, isBasic, isPublicClient, need, refuseCredentialOfPublicClient } from './oauth-client-credentials.js';
import type { DeviceCodes } from './device-code.js';
import type { AuthCodes } from './auth-codes.js';
import { LOCKED_MESSAGES, SIGN_INS_BUSY, sourceKey } from './sign-in-lockout.js';
import { oversizedParam } from './sign-in-limits.js';
import { echo, echoUri } from '../server/echo.js';
import { createAssertionVerifier } from './client-assertion.js';
import { createFederatedVerifier, type FederatedDeps } from './client-assertion-federated.js';
import { ISSUED_BEFORE_ROTATION, issuedBeforeRenewal } from './refresh-token-renewal.js';
import { refreshTokenExpired, refreshTokenExpiry } from './refresh-token-lifetime.js';

// The token endpoint's grants: client_credentials, password and refresh_token.
// Returns the JSON body Entra ID answers with.

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
/** A used refresh token presented again this soon after its use is refused without revoking its sign-in. */
const REUSE_GRACE_SECONDS = 10;
/** Entra ID's answer to a refresh token of a sign-in made before the user's password was reset (its dates left out). */
const PASSWORD_RESET_SINCE = 'AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.';

export interface GrantDeps {
  tenantId: string;
  directory: DirectoryService;
  tokens: TokenService;
  refreshTokens: RefreshTokenStore;
  canonicalResource(resource: string): string | null;
  deviceCodes: DeviceCodes;
  authCodes: AuthCodes;
  /** How a refresh token is stored (CredentialHasher.tokenHash, keyed), over refreshTokenHashInput. */
  hashRefreshToken(token: string): string;
  /** The same under the pepper's earlier generations (CredentialHasher.earlierTokenHashes), to tell a token issued before a rotation. */
  earlierRefreshTokenHashes?(token: string): string[];
  /** What a client assertion may name as its audience: this deployment's token endpoints (client-assertion.ts). */
  assertionAudiences: readonly string[];
  /** External identity providers' keys, for federated identity credentials (federation-keys.ts). */
  federation: Pick<FederatedDeps, 'keys' | 'onFetchFailed'>;
}

export type TokenResponse = Record<string, string | number>;

/**
 * Which token endpoint a request came to: Entra ID's v2 (`/oauth2/v2.0/token`:
 * `scope` only, numbers as numbers), its v1 (`/oauth2/token`: `resource`,
 * and the v1 body) or AD FS's (`/adfs/oauth2/token`, as MSAL uses it).
 */
export type TokenEndpoint = 'v2' | 'v1' | 'adfs';

/** A grant's answer, with what the v1 body needs besides. */
interface Issued {
  body: TokenResponse;
  resource: string;
  notBefore: number;
  expiresOn: number;
}

/** Entra ID's v1 body: its numbers as strings, with expires_on, not_before and the resource. */
function v1Body({ body, resource, notBefore, expiresOn }: Issued): TokenResponse {
  const out: TokenResponse = { token_type: 'Bearer' };
  if (body.scope !== undefined) out.scope = 'user_impersonation';
  out.expires_in = String(body.expires_in);
  out.ext_expires_in = String(body.ext_expires_in);
  out.expires_on = String(expiresOn);
  out.not_before = String(notBefore);
  out.resource = resource;
  out.access_token = body.access_token!;
  if (body.refresh_token !== undefined) out.refresh_token = body.refresh_token;
  if (body.id_token !== undefined) out.id_token = body.id_token;
  return out;
}

/**
 * Whether a sign-in gets a refresh token: on v2 only when its scope asks for `offline_access` (the Microsoft
 * identity platform's rule, which MSAL, az and coffer's clients follow by always asking); v1 and AD FS always.
 */
const offline = (endpoint: TokenEndpoint, oidc: readonly string[]): boolean => endpoint !== 'v2' || oidc.includes('offline_access');

/** Tenants that name no tenant: an app (client_credentials) must name its own. */
const TENANTLESS = new Set(['common', 'organizations']);

const now = () => Math.floor(Date.now() / 1000);

/** The single resource a request asks for (v2 `scope` or v1 `resource`) and the OIDC scopes. */
function resolveResource(params: Record<string, string>, tenantId: string, canonical: (r: string) => string | null) {
  let resource = params.resource;
  const oidc: string[] = [];
  if (!resource) {
    const scopes = need(params, 'scope').split(/\s+/).filter(Boolean);
    const resourceScopes = scopes.filter((s) => !OIDC_SCOPES.has(s));
    scopes.filter((s) => OIDC_SCOPES.has(s)).forEach((s) => oidc.push(s));
    if (resourceScopes.length !== 1) {
      throw oauthErrors.invalidScope(70011, `AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope '${echoUri(params.scope ?? '')}' must name exactly one resource.`);
    }
    const scope = resourceScopes[0]!;
    const cut = scope.lastIndexOf('/');
    if (cut <= 'https://'.length) {
      throw oauthErrors.invalidScope(70011, `AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope ${echoUri(scope)} is not valid.`);
    }
    resource = scope.slice(0, cut);
  }
  const known = canonical(resource);
  if (known === null) {
    throw oauthErrors.invalidResource(500011, `AADSTS500011: The resource principal named ${echoUri(resource)} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
  }
  return { resource: known, oidc };
}

export function createGrantHandler(deps: GrantDeps) {
  const { tenantId, directory, tokens } = deps;
  const verifyAssertion = createAssertionVerifier({
    tenantId,
    audiences: deps.assertionAudiences,
    getByAppId: (appId) => directory.getByAppId(appId),
    keyCredentials: (objectId) => directory.listKeyCredentials(objectId),
    federated: createFederatedVerifier({
      tenantId,
      ownIssuers: deps.assertionAudiences,
      getByAppId: (appId) => directory.getByAppId(appId),
      federatedCredentials: (objectId) => directory.federated.listFederatedCredentials(objectId),
      ...deps.federation,
    }),
  });

  /**
   * An access token for a user, and a refresh token when the sign-in asks for one. `familyId`: the sign-in a refresh continues (a new
   * sign-in starts a family); reusing one of its refresh tokens revokes them all (refreshToken).
   * `passwordGeneration`: the user's when they signed in (by default the row's: a sign-in now). `offline`:
   * whether the sign-in asked for a refresh token (v2's `offline_access`; a refresh continues one that did).
   */
  async function userTokens(
    user: Pick<PrincipalRow, 'objectId' | 'upn' | 'displayName' | 'passwordGeneration'>,
    clientId: string,
    resource: string,
    oidc: string[],
    session: { familyId?: string; nonce?: string; refreshExpiresAt?: number; passwordGeneration?: number; offline?: boolean } = {},
  ): Promise<Issued> {
    const { nonce, familyId = randomBytes(16).toString('hex'), passwordGeneration = user.passwordGeneration ?? 0, offline = true } = session;
    const access = await tokens.issue({ objectId: user.objectId, appId: clientId, audience: resource, kind: 'user', upn: user.upn, name: user.displayName, scope: 'user_impersonation' });
    const body: TokenResponse = {
      token_type: 'Bearer',
      scope: `${resource}/user_impersonation`,
      expires_in: access.expiresIn,
      ext_expires_in: access.expiresIn,
      access_token: access.token,
    };
    if (offline) {
      const refresh = mintRefreshToken({ objectId: user.objectId, familyId });
      const tokenHash = deps.hashRefreshToken(refreshTokenHashInput(clientId, refresh));
      await deps.refreshTokens.insert({ tokenHash, objectId: user.objectId, clientId, scope: resource, expiresAt: refreshTokenExpiry(clientId, now(), session.refreshExpiresAt), familyId, passwordGeneration });
      body.refresh_token = refresh;
    }
    if (oidc.includes('openid')) {
      body.id_token = await tokens.issueIdToken({ objectId: user.objectId, clientId, upn: user.upn, name: user.displayName, nonce });
      body.client_info = Buffer.from(JSON.stringify({ uid: user.objectId, utid: tenantId })).toString('base64url');
    }
    return { body, resource, notBefore: access.notBefore, expiresOn: access.expiresOn };
  }

  /**
   * The user a sign-in (a refresh token's, a code's) continues, if it still may: the user exists, and their
   * password was not reset since they signed in (Entra ID revokes a user's refresh tokens at a reset; a sign-in
   * whose token was still being stored as the password was reset carries the generation before). `revoke`:
   * what else the sign-in leaves to end (a refresh token's family).
   */
  async function signedInUser(objectId: string, generation: number, revoke?: () => Promise<unknown>): Promise<PrincipalRow> {
    const user = await directory.get(objectId);
    if (!user) throw oauthErrors.invalidGrant(50034, 'AADSTS50034: The user account does not exist in this directory.');
    if ((user.passwordGeneration ?? 0) === generation) return user;
    await revoke?.();
    throw oauthErrors.invalidGrant(50173, PASSWORD_RESET_SINCE);
  }

  /**
   * A confidential client's secret or certificate (client assertion) checked, with Entra ID's answers when it
   * is missing, unknown, wrong or expired. `clientId`: the one the request names (none: the assertion's).
   */
  async function authenticateApp(clientId: string | undefined, clientSecret: string | undefined, params: Record<string, string>): Promise<PrincipalRow> {
    if (params.client_assertion !== undefined) {
      if (clientSecret) throw oauthErrors.invalidRequest(null, "AADSTS7000216: Send either 'client_secret' or 'client_assertion', not both.");
      return verifyAssertion(params.client_assertion, params.client_assertion_type, clientId, now());
    }
    if (!clientSecret || clientId === undefined) {
      throw oauthErrors.invalidClient(7000218, `AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.`);
    }
    const result = await directory.authenticateClient(clientId, clientSecret, now());
    if (!result.ok) {
      if (result.reason === 'unknown-client') {
        throw oauthErrors.unauthorizedClient(700016, `AADSTS700016: Application with identifier '${echo(clientId)}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
      }
      if (result.reason === 'expired-secret') {
        throw oauthErrors.invalidClient(7000222, `AADSTS7000222: The provided client secret keys for app '${echo(clientId)}' are expired. Visit the Azure portal to create new keys for your app.`);
      }
      throw oauthErrors.invalidClient(7000215, `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${echo(clientId)}'.`);
    }
    return result.principal;
  }

  /**
   * A user-facing grant: a public client as it is, any other client only with its secret.
   * `unknownIsUnauthenticated`: an unknown client is 401 invalid_client (RFC 6749 5.2) instead of Entra's 400 unauthorized_client.
   */
  async function requireClient(params: Record<string, string>, authorization: string | undefined, unknownIsUnauthenticated = false): Promise<string> {
    const { clientId, clientSecret } = clientCredentialsFrom(params, authorization);
    if (isPublicClient(clientId)) {
      refuseCredentialOfPublicClient({ ...params, client_secret: clientSecret ?? '' });
      return canonicalClientId(clientId);
    }
    if (!(await directory.getByAppId(clientId))) {
      const text = `AADSTS700016: Application with identifier '${echo(clientId)}' was not found in the directory '${tenantId}'.`;
      throw unknownIsUnauthenticated ? oauthErrors.invalidClient(700016, text) : oauthErrors.unauthorizedClient(700016, text);
    }
    await authenticateApp(clientId, clientSecret, params);
    return canonicalClientId(clientId);
  }

  async function clientCredentials(params: Record<string, string>, authorization: string | undefined, endpoint: TokenEndpoint): Promise<Issued> {
    // With a client assertion, client_id may be left out (RFC 7523 3): the assertion names the client.
    const byAssertion = params.client_assertion !== undefined && !params.client_id && !isBasic(authorization);
    const { clientId: named, clientSecret } = byAssertion ? { clientId: undefined, clientSecret: undefined } : clientCredentialsFrom(params, authorization);
    // An app's token is for a whole resource: v2 asks for it as the resource's `/.default` scope.
    if (endpoint === 'v2' && params.scope && !/^\S+\/\.default$/.test(params.scope.trim())) {
      throw oauthErrors.invalidScope(1002012, `AADSTS1002012: The provided value for scope ${echoUri(params.scope)} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const { resource } = resolveResource(params, tenantId, deps.canonicalResource);
    const p = await authenticateApp(named, clientSecret, params);
    // The client id the request names (in lower case, as user sign-ins store it), or the application's (an assertion's `iss` names it).
    const clientId = canonicalClientId(named ?? p.appId!);
    const access = await tokens.issue({ objectId: p.objectId, appId: clientId, audience: resource, kind: 'app', name: p.displayName });
    const body = { token_type: 'Bearer', expires_in: access.expiresIn, ext_expires_in: access.expiresIn, access_token: access.token };
    return { body, resource, notBefore: access.notBefore, expiresOn: access.expiresOn };
  }

  async function password(params: Record<string, string>, authorization: string | undefined, source: string, endpoint: TokenEndpoint): Promise<Issued> {
    const username = need(params, 'username');
    const pw = need(params, 'password');
    const { resource, oidc } = resolveResource(params, tenantId, deps.canonicalResource);
    const clientId = await requireClient(params, authorization);
    const signIn = await directory.authenticateUser(username, pw, source);
    if (!signIn.ok) {
      if (signIn.reason === 'busy') throw oauthErrors.temporarilyUnavailable(SIGN_INS_BUSY);
      throw signIn.reason === 'invalid' ? oauthErrors.invalidGrant(50126, 'AADSTS50126: Error validating credentials due to invalid username or password.') : oauthErrors.invalidGrant(50053, LOCKED_MESSAGES[signIn.reason]);
    }
    return userTokens(signIn.user, clientId, resource, oidc, { offline: offline(endpoint, oidc) });
  }

  async function refreshToken(params: Record<string, string>, authorization?: string): Promise<Issued> {
    const presented = need(params, 'refresh_token');
    const clientId = await requireClient(params, authorization);
    // Checked before the token is taken: a request for an unknown resource must not cost the user the session.
    const asked = params.scope || params.resource ? resolveResource(params, tenantId, deps.canonicalResource) : null;
    // Only its own client's: another client's presentation leaves it in place for its owner, in one statement.
    // A token of another format (one issued before tokens named their sign-in) is unknown.
    const claims = refreshTokenClaims(presented);
    const hash = deps.hashRefreshToken(refreshTokenHashInput(clientId, presented));
    const row = claims && (await deps.refreshTokens.take(hash, clientId, now()));
    if (!row || !rowMatches(row, claims!)) {
      // Used before (or unknown): a used token presented again means two holders, one of them a thief, and
      // neither can be told apart, so the sign-in's tokens are all revoked (RFC 9700 4.14.2). Not within
      // seconds of its use: that is one user's two processes refreshing at once (the second is refused).
      await deps.refreshTokens.revokeFamily(hash, clientId, now() - REUSE_GRACE_SECONDS);
      const earlier = !row && claims && deps.earlierRefreshTokenHashes ? deps.earlierRefreshTokenHashes(refreshTokenHashInput(clientId, presented)) : [];
      if (earlier.length > 0 && (await issuedBeforeRenewal(deps.refreshTokens, earlier, clientId, claims!))) throw oauthErrors.invalidGrant(50173, ISSUED_BEFORE_ROTATION);
      throw oauthErrors.invalidGrant(9002313, 'AADSTS9002313: Invalid request. Request is malformed or invalid.');
    }
    if (row.expiresAt < now()) throw refreshTokenExpired(clientId, row.expiresAt);
    const user = await signedInUser(row.objectId, row.passwordGeneration, () => deps.refreshTokens.revokeFamily(hash, clientId));
    const { resource, oidc } = asked ?? { resource: row.scope, oidc: [] };
    // The sign-in's generation, not the user's now: a reset that lands while this runs ends the new token too.
    return userTokens(user, clientId, resource, oidc, { familyId: row.familyId, refreshExpiresAt: row.expiresAt, passwordGeneration: row.passwordGeneration });
  }

  /**
   * RFC 7009 revocation of a refresh token (coffer's; Entra ID revokes
   * sessions through Graph instead): the portal's sign-out. It revokes the
   * token's whole sign-in (its family), used tokens included; an unknown
   * token or another client's changes nothing, and the answer is the same,
   * so it tells the caller nothing. The endpoint has no
   * Entra counterpart, so its client errors are RFC 7009's (RFC 6749 5.2).
   */
  async function revoke(params: Record<string, string>, authorization?: string): Promise<void> {
    const presented = need(params, 'token');
    const clientId = await requireClient(params, authorization, true);
    // The sign-in's other tokens with it: signing out ends the session, whichever of its tokens the client held.
    await deps.refreshTokens.revokeFamily(deps.hashRefreshToken(refreshTokenHashInput(clientId, presented)), clientId);
  }

  async function deviceCode(params: Record<string, string>, endpoint: TokenEndpoint): Promise<Issued> {
    const clientId = canonicalClientId(need(params, 'client_id'));
    refuseCredentialOfPublicClient(params);
    const { objectId, scope, passwordGeneration } = await deps.deviceCodes.redeem(need(params, 'device_code'), clientId);
    const user = await signedInUser(objectId, passwordGeneration);
    const { resource, oidc } = resolveResource({ scope }, tenantId, deps.canonicalResource);
    return userTokens(user, clientId, resource, oidc, { passwordGeneration, offline: offline(endpoint, oidc) });
  }

  async function authorizationCode(params: Record<string, string>, endpoint: TokenEndpoint): Promise<Issued> {
    const clientId = canonicalClientId(need(params, 'client_id'));
    refuseCredentialOfPublicClient(params);
    const p = await deps.authCodes.redeem(need(params, 'code'), clientId, need(params, 'redirect_uri'), params.code_verifier);
    const user = await signedInUser(p.objectId, p.passwordGeneration);
    const { resource, oidc } = resolveResource({ scope: params.scope || p.scope }, tenantId, deps.canonicalResource);
    return userTokens(user, clientId, resource, oidc, { nonce: p.nonce ?? undefined, passwordGeneration: p.passwordGeneration, offline: offline(endpoint, oidc) });
  }

  /** Starts a device sign-in (the /devicecode endpoint). */
  async function startDeviceCode(params: Record<string, string>, source: string) {
    const clientId = canonicalClientId(need(params, 'client_id'));
    const oversized = oversizedParam(params);
    if (oversized) throw oauthErrors.invalidRequest(90011, oversized);
    resolveResource(params, tenantId, deps.canonicalResource);
    if (!isPublicClient(clientId)) {
      throw oauthErrors.unauthorizedClient(700016, `AADSTS700016: Application with identifier '${echo(clientId)}' was not found in the directory '${tenantId}'.`);
    }
    // Counted by sourceKey: a host given a whole IPv6 /64 is one source, not 2^64.
    return deps.deviceCodes.start(clientId, need(params, 'scope'), sourceKey(source));
  }

  function grant(params: Record<string, string>, authorization: string | undefined, source: string, endpoint: TokenEndpoint): Promise<Issued> {
    const grantType = need(params, 'grant_type');
    switch (grantType) {
      case 'client_credentials':
        return clientCredentials(params, authorization, endpoint);
      case 'password':
        return password(params, authorization, source, endpoint);
      case 'refresh_token':
        return refreshToken(params, authorization);
      case 'authorization_code':
        return authorizationCode(params, endpoint);
      case 'urn:ietf:params:oauth:grant-type:device_code':
      case 'device_code':
        return deviceCode(params, endpoint);
      default:
        throw oauthErrors.unsupportedGrantType(`AADSTS70003: The app requested an unsupported grant type '${echo(grantType)}'.`);
    }
  }

  /**
   * `authorization` is the request's Authorization header, `source` the client's address (for IP lockout),
   * `tenant` the tenant its path names (none on AD FS's).
   */
  const handleGrant = async function handleGrant(params: Record<string, string>, authorization: string | undefined, source: string, endpoint: TokenEndpoint = 'v2', tenant?: string): Promise<TokenResponse> {
    if (endpoint === 'v2' && params.resource !== undefined) throw oauthErrors.invalidRequest(901002, "AADSTS901002: The 'resource' request parameter is not supported.");
    if (params.grant_type === 'client_credentials' && tenant !== undefined && TENANTLESS.has(tenant.toLowerCase())) {
      throw oauthErrors.invalidRequest(50059, 'AADSTS50059: No tenant-identifying information found in either the request or implied by any provided credentials.');
    }
    const issued = await grant(params, authorization, source, endpoint);
    return endpoint === 'v1' ? v1Body(issued) : issued.body;
  };
  return { handleGrant, revoke, startDeviceCode, isPublicClient, resolveScope: (scope: string) => resolveResource({ scope }, tenantId, deps.canonicalResource) };
}
