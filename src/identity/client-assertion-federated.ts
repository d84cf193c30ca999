import { compactVerify, errors as errorsOfJose, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { oauthErrors } from '../server/errors.js';
import type { FederatedCredentialRow, PrincipalRow } from '../storage/store-types.js';
import { FederationFetchError, type FederationKeys } from './federation-keys.js';

// Workload identity federation: a client assertion an external identity
// provider issued (GitHub Actions' OIDC token, a Kubernetes service account
// token), presented with the application's client id. The application's
// federated credentials with exactly that issuer are found first: an issuer
// no administrator registered on the application is never contacted. Then
// the token's signature (RS256 or ES256, by the issuer's published keys),
// its times, and its subject and audience against those credentials. Answers
// use Entra ID's codes; what a refusal echoes is the token's own claims.

const SKEW_SECONDS = 60;
/** Entra ID takes external identity providers' tokens for at most a day and an hour. */
const MAX_AHEAD_SECONDS = 25 * 3600;
const ALGORITHMS = ['RS256', 'ES256'] as const;
const WIF_DOCS = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

export interface FederatedDeps {
  tenantId: string;
  /** This deployment's own issuer and token endpoints: a token of coffer's own is no external one. */
  ownIssuers: readonly string[];
  getByAppId(appId: string): Promise<PrincipalRow | null>;
  /** The application's federated credentials whose seal matches. */
  federatedCredentials(objectId: string): Promise<FederatedCredentialRow[]>;
  keys: Pick<FederationKeys, 'candidates'>;
  /** Told why an issuer's keys could not be fetched (the log: never a token). */
  onFetchFailed?(issuer: string, reason: string): void;
}

const iso = (t: number) => {
  const d = new Date(t * 1000);
  return Number.isFinite(d.getTime()) ? d.toISOString().replace(/\.\d{3}Z$/, '.0000000Z') : String(t);
};
const clip = (v: string) => v.slice(0, 256);
const noRecord = (code: number, what: string, value: string) =>
  oauthErrors.invalidClient(code, `AADSTS${code}: No matching federated identity record found for presented assertion ${what} '${clip(value)}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${WIF_DOCS}`);

export function createFederatedVerifier(deps: FederatedDeps) {
  return async function verifyFederated(assertion: string, header: ProtectedHeaderParameters, claims: JWTPayload, clientId: string | undefined, now: number): Promise<PrincipalRow> {
    const iss = claims.iss!;
    if (deps.ownIssuers.includes(iss.replace(/\/+$/, ''))) {
      throw oauthErrors.invalidClient(700222, 'AADSTS700222: AAD-issued tokens may not be used for federated identity flows.');
    }
    // The assertion is about the workload, not the application: only client_id names the application.
    if (clientId === undefined) throw oauthErrors.invalidRequest(900144, "AADSTS900144: The request body must contain the following parameter: 'client_id'.");
    const principal = await deps.getByAppId(clientId);
    if (!principal || principal.kind !== 'ServicePrincipal') {
      throw oauthErrors.unauthorizedClient(
        700016,
        `AADSTS700016: Application with identifier '${clientId.slice(0, 64)}' was not found in the directory '${deps.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const all = await deps.federatedCredentials(principal.objectId);
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const aud = (typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : []).filter((a): a is string => typeof a === 'string');
    if (all.length === 0) {
      throw oauthErrors.invalidClient(
        70021,
        `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '${clip(iss)}'. Assertion Subject: '${clip(sub)}'. Assertion Audience: '${clip(aud.join(','))}'. ${WIF_DOCS}`,
      );
    }
    // Issuers compare exactly, as Entra ID compares them (case and trailing slash count).
    const ofIssuer = all.filter((c) => c.issuer === iss);
    if (ofIssuer.length === 0) throw noRecord(700211, 'issuer', iss);

    const alg = header.alg as string;
    if (!(ALGORITHMS as readonly string[]).includes(alg)) {
      throw oauthErrors.invalidClient(5002738, `AADSTS5002738: Invalid JWT token. '${alg.slice(0, 16)}' is not a supported signature algorithm. Supported signing algorithms are: '${ALGORITHMS.join(', ')}'`);
    }
    let keys;
    try {
      keys = await deps.keys.candidates(iss, typeof header.kid === 'string' ? header.kid : undefined, alg as (typeof ALGORITHMS)[number]);
    } catch (err) {
      if (!(err instanceof FederationFetchError)) throw err;
      deps.onFetchFailed?.(iss, err.message);
      throw oauthErrors.invalidRequest(50166, 'AADSTS50166: Request to External OIDC endpoint failed.');
    }
    let verified = false;
    for (const key of keys) {
      try {
        await compactVerify(assertion, key, { algorithms: [alg] });
        verified = true;
        break;
      } catch (err) {
        if (err instanceof errorsOfJose.JOSENotSupported) throw oauthErrors.invalidClient(50027, 'AADSTS50027: JWT token is invalid or malformed.');
      }
    }
    if (!verified) {
      const reason = keys.length === 0 ? 'The key was not found.' : 'The provided signature value did not match the expected signature value.';
      throw oauthErrors.invalidClient(50013, `AADSTS50013: Assertion failed signature validation. [Reason - ${reason}, Key ID used by the issuer: '${String(header.kid ?? '').slice(0, 64)}']`);
    }
    const exp = typeof claims.exp === 'number' ? claims.exp : null;
    const nbf = typeof claims.nbf === 'number' ? claims.nbf : null;
    const iat = typeof claims.iat === 'number' ? claims.iat : null;
    if (exp === null || now > exp + SKEW_SECONDS || (nbf !== null && now < nbf - SKEW_SECONDS) || (iat !== null && now < iat - SKEW_SECONDS) || exp > now + MAX_AHEAD_SECONDS) {
      throw oauthErrors.invalidClient(
        700024,
        `AADSTS700024: Client assertion is not within its valid time range. Current time: ${iso(now)}, assertion valid from ${iso(nbf ?? iat ?? 0)}, expiry time of assertion ${exp === null ? 'none' : iso(exp)}. Review the documentation at ${WIF_DOCS} .`,
      );
    }
    // Subjects compare exactly too.
    const ofSubject = ofIssuer.filter((c) => c.subject === sub);
    if (ofSubject.length === 0) throw noRecord(700213, 'subject', sub);
    if (!ofSubject.some((c) => c.audiences.some((a) => aud.includes(a)))) throw noRecord(700212, 'audience', aud.join(','));
    return principal;
  };
}

export type FederatedVerifier = ReturnType<typeof createFederatedVerifier>;
