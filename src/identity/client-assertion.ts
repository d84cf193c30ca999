import { compactVerify, decodeJwt, decodeProtectedHeader, errors as errorsOfJose, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { oauthErrors } from '../server/errors.js';
import type { KeyCredentialRow, PrincipalRow } from '../storage/store-types.js';
import { publicKeyOf } from './certificate-parsing.js';
import { echo } from '../server/echo.js';
import type { FederatedVerifier } from './client-assertion-federated.js';

// A confidential client's proof by certificate (RFC 7523 client
// authentication, as Entra ID takes it): a JWT the client signed with the
// private key of a certificate registered on its application (a key
// credential), naming the certificate by its thumbprint (`x5t`, or
// `x5t#S256`), issued by and about the client (`iss` = `sub` = its client id)
// for this token endpoint (`aud`), and not expired. Answers use Entra ID's
// codes. Assertions are not single-use: MSAL signs one and sends it with
// every token request until it nears its expiry, as Entra ID allows.
// Nothing of the assertion or the certificate is logged or echoed but the
// thumbprint the client named and the credential's validity.

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The clock difference allowed, as for coffer's own tokens. */
const SKEW_SECONDS = 60;

/**
 * How far ahead an assertion may expire. A signed assertion is a bearer credential until then: RFC 7523
 * lets a server refuse an `exp` unreasonably far in the future. Clients sign them for minutes (MSAL: 10);
 * Entra ID takes external identity providers' tokens for at most 1 day and 1 hour, the bound used here.
 */
const MAX_AHEAD_SECONDS = 25 * 3600;

/** Signature algorithms per certificate key type: never `none` or an HMAC (a certificate has no shared secret). */
const ALGORITHMS: Record<string, readonly string[]> = { rsa: ['RS256', 'PS256'], ec: ['ES256', 'ES384'] };
const ALL_ALGORITHMS = [...new Set(Object.values(ALGORITHMS).flat())];

const DOCS = 'Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .';

export interface AssertionDeps {
  tenantId: string;
  /** The token endpoint URLs (and issuer) an assertion may name as its audience. */
  audiences: readonly string[];
  getByAppId(appId: string): Promise<PrincipalRow | null>;
  /** The principal's key credentials whose seal matches (a planted row is not among them). */
  keyCredentials(objectId: string): Promise<KeyCredentialRow[]>;
  /** An assertion whose issuer is a URL: an external identity provider's token. */
  federated: FederatedVerifier;
}

/** Entra's time form; a time JavaScript cannot date (an `exp` of 1e20) as its number. */
const iso = (t: number) => {
  const d = new Date(t * 1000);
  return Number.isFinite(d.getTime()) ? d.toISOString().replace(/\.\d{3}Z$/, '.0000000Z') : String(t);
};
const b64urlOfHex = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
const hexOfB64url = (v: string) => Buffer.from(v, 'base64url').toString('hex').toUpperCase();

const malformed = () => oauthErrors.invalidClient(50027, 'AADSTS50027: JWT token is invalid or malformed.');

function decode(assertion: string): { header: ProtectedHeaderParameters; claims: JWTPayload } {
  // A JWS in compact form: three parts, the last the signature (never an unsigned or encrypted token).
  if (assertion.length > 16_384 || assertion.split('.').length !== 3) throw malformed();
  try {
    return { header: decodeProtectedHeader(assertion), claims: decodeJwt(assertion) };
  } catch {
    throw malformed();
  }
}

/** A thumbprint header as sent: MSAL Python pads its base64url (`=`), MSAL Node does not. */
const unpadded = (v: unknown): string | null => (typeof v === 'string' ? v.replace(/=+$/, '') : null);

/** The stored credential the header names; without a thumbprint, every credential of the client is a candidate. */
function candidates(header: ProtectedHeaderParameters, stored: KeyCredentialRow[]): { named: string | null; keys: KeyCredentialRow[] } {
  const s256 = unpadded(header['x5t#S256']);
  if (s256 !== null) return { named: hexOfB64url(s256), keys: stored.filter((k) => b64urlOfHex(k.thumbprintSha256) === s256) };
  const s1 = unpadded(header.x5t);
  if (s1 !== null) return { named: hexOfB64url(s1), keys: stored.filter((k) => b64urlOfHex(k.thumbprintSha1) === s1) };
  return { named: null, keys: stored };
}

const sameId = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

export function createAssertionVerifier(deps: AssertionDeps) {
  const keyReason = (appId: string, named: string | null, reason: string, found?: KeyCredentialRow) =>
    oauthErrors.invalidClient(
      700027,
      `AADSTS700027: Client assertion contains an invalid signature. [Reason - ${reason}` +
        (named ? `, Thumbprint of key used by client: '${echo(named)}'` : '') +
        (found ? `, Found key 'Start=${iso(found.startAt)}, End=${iso(found.endAt)}'` : '') +
        `, Please see the keys configured for app Id '${appId}' in Graph (GET /v1.0/applications/{id}: keyCredentials)]. ${DOCS}`,
    );

  /**
   * The service principal a client assertion proves, or Entra ID's error for it. `clientId`: the request's
   * client_id, if it sent one; `now`: Unix seconds.
   */
  return async function verifyAssertion(assertion: string, assertionType: string | undefined, clientId: string | undefined, now: number): Promise<PrincipalRow> {
    if (assertionType !== JWT_BEARER) {
      throw oauthErrors.invalidRequest(null, `AADSTS7000216: 'client_assertion_type' must be '${JWT_BEARER}' with a 'client_assertion'.`);
    }
    const { header, claims } = decode(assertion);
    const alg = typeof header.alg === 'string' ? header.alg : 'none';
    if (!ALL_ALGORITHMS.includes(alg)) {
      throw oauthErrors.invalidClient(5002738, `AADSTS5002738: Invalid JWT token. '${alg.slice(0, 16)}' is not a supported signature algorithm. Supported signing algorithms are: '${ALL_ALGORITHMS.join(', ')}'`);
    }
    const iss = typeof claims.iss === 'string' ? claims.iss : '';
    // An assertion an external identity provider issued: a federated identity credential's (client-assertion-federated.ts).
    if (iss.includes('://')) return deps.federated(assertion, header, claims, clientId, now);
    if (!sameId(claims.sub, iss) || (clientId !== undefined && !sameId(clientId, iss))) {
      throw oauthErrors.invalidClient(
        700021,
        "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter: its 'iss' and 'sub' must both be the application's client id, and so must 'client_id' where it is sent. " +
          DOCS,
      );
    }
    const principal = iss === '' ? null : await deps.getByAppId(iss);
    if (!principal || principal.kind !== 'ServicePrincipal') {
      throw oauthErrors.unauthorizedClient(
        700016,
        `AADSTS700016: Application with identifier '${iss.slice(0, 64)}' was not found in the directory '${deps.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const appId = principal.appId ?? iss;
    const { named, keys } = candidates(header, await deps.keyCredentials(principal.objectId));
    if (keys.length === 0) throw keyReason(appId, named, 'The key was not found.');
    // The signature first: only then do the claims' values count as the client's.
    let verified: KeyCredentialRow | null = null;
    for (const k of keys) {
      const key = publicKeyOf(k.certificate);
      const allowed = key ? (ALGORITHMS[key.asymmetricKeyType ?? ''] ?? []) : [];
      if (!key || !allowed.includes(alg)) continue;
      try {
        await compactVerify(assertion, key, { algorithms: [...allowed] });
        verified = k;
        break;
      } catch (err) {
        // A header jose will not process (an unknown `crit`) is malformed whatever the key; anything else: not this key.
        if (err instanceof errorsOfJose.JOSENotSupported) throw malformed();
      }
    }
    if (!verified) throw keyReason(appId, named, 'The provided signature value did not match the expected signature value.', keys.length === 1 ? keys[0] : undefined);
    if (now < verified.startAt - SKEW_SECONDS || now > verified.endAt + SKEW_SECONDS) throw keyReason(appId, named, 'The key used is expired.', verified);
    const audiences = (typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : []).filter((a): a is string => typeof a === 'string');
    if (!audiences.some((a) => deps.audiences.includes(a.replace(/\/+$/, '')))) {
      throw oauthErrors.invalidClient(700023, `AADSTS700023: Client assertion audience claim does not match Realm issuer. ${DOCS}`);
    }
    const exp = typeof claims.exp === 'number' ? claims.exp : null;
    const nbf = typeof claims.nbf === 'number' ? claims.nbf : null;
    if (exp === null || now > exp + SKEW_SECONDS || (nbf !== null && now < nbf - SKEW_SECONDS) || exp > now + MAX_AHEAD_SECONDS) {
      throw oauthErrors.invalidClient(
        700024,
        `AADSTS700024: Client assertion is not within its valid time range. Current time: ${iso(now)}, assertion valid from ${iso(nbf ?? 0)}, expiry time of assertion ${exp === null ? 'none' : iso(exp)}. ${DOCS}`,
      );
    }
    return principal;
  };
}

export type AssertionVerifier = ReturnType<typeof createAssertionVerifier>;
