import { generateKeyPairSync, createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, decodeProtectedHeader, errors as joseErrors, type JWK, type JWTPayload } from 'jose';
import type { SigningKeyRow, SigningKeyStore } from '../storage/store-types.js';
import type { Keyring } from '../crypto/keyring.js';
import { signingKeyAad } from '../crypto/envelope.js';
import type { Caller } from './identity-types.js';

// Issues RS256 access tokens and verifies them. Signing keys live in the
// store, sealed by the master keyring; the JWKS publishes every key that may
// still have live tokens, so a new key can be introduced before the old retires.

export interface IssueInput {
  objectId: string;
  appId: string;
  audience: string;
  kind: 'app' | 'user';
  upn?: string | null;
  name?: string | null;
  scope?: string;
}

export type VerifyFailure = 'malformed' | 'signature' | 'expired' | 'not-yet-valid' | 'audience' | 'issuer';

export class TokenVerifyError extends Error {
  /** `found`: the audience a verified token was issued for, when that is what is wrong with it. */
  constructor(readonly reason: VerifyFailure, message: string, readonly found?: string) {
    super(message);
    this.name = 'TokenVerifyError';
  }
}

export interface TokenService {
  readonly issuer: string;
  readonly issuers: string[];
  readonly lifetimeSeconds: number;
  /** `notBefore` and `expiresOn`: the token's nbf and exp (unix seconds). */
  issue(input: IssueInput): Promise<{ token: string; expiresIn: number; notBefore: number; expiresOn: number }>;
  issueIdToken(input: { objectId: string; clientId: string; upn: string | null; name: string | null; nonce?: string }): Promise<string>;
  /** Verifies signature, issuer, audience and times; cached per token. */
  verify(token: string, audiences: readonly string[]): Promise<Caller>;
  jwks(): { keys: JWK[] };
  /** Reads the signing keys again: another cluster member added one (it signs with its own). */
  reloadKeys(): Promise<void>;
  /** The master keyring after a rotation (reloadKeys opens new keys with it). */
  useKeyring(keyring: Keyring): void;
}

interface LoadedKey {
  kid: string;
  privateKey: KeyObject | null;
  publicKey: KeyObject;
  jwk: JWK;
}

const SKEW_SECONDS = 60;
const CACHE_LIMIT = 10_000;

export async function createTokenService(deps: {
  store: SigningKeyStore;
  keyring: Keyring;
  issuer: string;
  /** Further issuers accepted on verification (the ADFS-style authority). */
  extraIssuers?: string[];
  tenantId: string;
  lifetimeSeconds: number;
  /** A stored key whose private half does not open under the master keyring: never trusted. */
  onUntrustedKey?: (kid: string) => void;
}): Promise<TokenService> {
  let keyring = deps.keyring;
  const keys = await loadOrCreateKeys(deps.store, keyring, deps.onUntrustedKey);
  const active = keys.find((k) => k.privateKey !== null);
  if (!active) throw new Error('no active token signing key');
  const signingKey = active;
  const issuers = [deps.issuer, ...(deps.extraIssuers ?? [])];
  const byKid = new Map(keys.map((k) => [k.kid, k]));
  // Verified tokens by their text: verification is the costliest part of a request.
  const cache = new Map<string, { caller: Caller; exp: number; nbf: number; aud: string }>();
  const nowSec = () => Math.floor(Date.now() / 1000);

  function callerFrom(p: JWTPayload): Caller {
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      objectId: str(p.oid) ?? '',
      tenantId: str(p.tid) ?? '',
      appId: str(p.appid) ?? str(p.azp) ?? '',
      issuer: str(p.iss) ?? '',
      kind: p.idtyp === 'user' ? 'user' : 'app',
      upn: str(p.upn),
      name: str(p.name),
      audience: typeof p.aud === 'string' ? p.aud : '',
    };
  }

  function checkCached(entry: { caller: Caller; exp: number; nbf: number; aud: string }, audiences: readonly string[]): Caller {
    const now = nowSec();
    if (now > entry.exp + SKEW_SECONDS) throw new TokenVerifyError('expired', 'token expired');
    if (now < entry.nbf - SKEW_SECONDS) throw new TokenVerifyError('not-yet-valid', 'token not yet valid');
    if (!audiences.includes(entry.aud)) throw new TokenVerifyError('audience', 'invalid audience', entry.aud);
    return entry.caller;
  }

  return {
    issuer: deps.issuer,
    issuers,
    lifetimeSeconds: deps.lifetimeSeconds,
    async issue(input) {
      const now = nowSec();
      const claims: JWTPayload = {
        aud: input.audience,
        iss: deps.issuer,
        iat: now,
        nbf: now,
        exp: now + deps.lifetimeSeconds,
        tid: deps.tenantId,
        oid: input.objectId,
        sub: input.objectId,
        appid: input.appId,
        azp: input.appId,
        idtyp: input.kind,
        uti: randomUUID().replace(/-/g, ''),
        ver: '2.0',
      };
      if (input.upn) claims.upn = input.upn;
      if (input.name) claims.name = input.name;
      if (input.scope) claims.scp = input.scope;
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signingKey.kid })
        .sign(signingKey.privateKey!);
      return { token, expiresIn: deps.lifetimeSeconds, notBefore: now, expiresOn: now + deps.lifetimeSeconds };
    },
    async issueIdToken(input) {
      const now = nowSec();
      const claims: JWTPayload = {
        aud: input.clientId,
        iss: deps.issuer,
        iat: now,
        nbf: now,
        exp: now + deps.lifetimeSeconds,
        tid: deps.tenantId,
        oid: input.objectId,
        sub: input.objectId,
        ver: '2.0',
      };
      if (input.upn) claims.preferred_username = input.upn;
      if (input.name) claims.name = input.name;
      if (input.nonce) claims.nonce = input.nonce;
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signingKey.kid }).sign(signingKey.privateKey!);
    },
    async verify(token, audiences) {
      const hit = cache.get(token);
      if (hit) return checkCached(hit, audiences);
      let header;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        throw new TokenVerifyError('malformed', 'token is not a JWT');
      }
      const key = typeof header.kid === 'string' ? byKid.get(header.kid) : undefined;
      if (header.alg !== 'RS256' || !key) throw new TokenVerifyError('signature', 'token signature is invalid');
      let payload: JWTPayload;
      try {
        // maxTokenAge: a token lives no longer than coffer issues them for, whatever its exp says.
        ({ payload } = await jwtVerify(token, key.publicKey, { algorithms: ['RS256'], issuer: issuers, clockTolerance: SKEW_SECONDS, maxTokenAge: deps.lifetimeSeconds + SKEW_SECONDS }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new TokenVerifyError('expired', 'token expired');
        if (err instanceof joseErrors.JWTClaimValidationFailed) {
          if (err.claim === 'iss') throw new TokenVerifyError('issuer', 'invalid issuer');
          if (err.claim === 'iat' && err.reason === 'missing') throw new TokenVerifyError('malformed', 'token lacks iat');
          if (err.claim === 'nbf' || err.claim === 'iat') throw new TokenVerifyError('not-yet-valid', 'token not yet valid');
          throw new TokenVerifyError('malformed', `invalid claim ${err.claim}`);
        }
        throw new TokenVerifyError('signature', 'token signature is invalid');
      }
      if (payload.tid !== deps.tenantId) throw new TokenVerifyError('issuer', 'invalid tenant');
      if (typeof payload.exp !== 'number' || typeof payload.aud !== 'string' || typeof payload.oid !== 'string') {
        throw new TokenVerifyError('malformed', 'token lacks exp, aud or oid');
      }
      // The cache holds it no longer than maxTokenAge allowed (payload.iat is there: jwtVerify required it).
      const exp = Math.min(payload.exp, (payload.iat ?? 0) + deps.lifetimeSeconds);
      const entry = { caller: callerFrom(payload), exp, nbf: payload.nbf ?? 0, aud: payload.aud };
      if (cache.size >= CACHE_LIMIT) {
        // Drop the oldest entry; Map iterates in insertion order.
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(token, entry);
      return checkCached(entry, audiences);
    },
    jwks: () => ({ keys: keys.map((k) => k.jwk) }),
    async reloadKeys() {
      // This server keeps signing with its own key; another member's is trusted only if it opens under the keyring.
      for (const row of await deps.store.list()) {
        if (byKid.has(row.kid)) continue;
        const loaded = trustedKey(row, keyring, deps.onUntrustedKey);
        if (!loaded) continue;
        loaded.privateKey = null;
        byKid.set(row.kid, loaded);
        keys.push(loaded);
      }
    },
    useKeyring(next) {
      keyring = next;
    },
  };
}

/**
 * A stored key with both halves taken from its sealed private key, or null if
 * that does not open: the stored public JWK is never trusted by itself, so a
 * row written into the database without the master key verifies nothing.
 */
function trustedKey(row: SigningKeyRow, keyring: Keyring, onUntrusted?: (kid: string) => void): LoadedKey | null {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: keyring.unwrap(row.masterKeyId, row.privateSealed, signingKeyAad(row.kid)), format: 'der', type: 'pkcs8' });
  } catch {
    onUntrusted?.(row.kid);
    return null;
  }
  const publicKey = createPublicKey(privateKey);
  return { kid: row.kid, privateKey, publicKey, jwk: publicJwk(publicKey, row.kid) };
}

const publicJwk = (publicKey: KeyObject, kid: string): JWK => ({ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256', kty: 'RSA' });

async function loadOrCreateKeys(store: SigningKeyStore, keyring: Keyring, onUntrusted?: (kid: string) => void): Promise<LoadedKey[]> {
  let rows = await store.list();
  if (!rows.some((r) => r.retiredAt === null)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = randomUUID().replace(/-/g, '').slice(0, 27);
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    const { sealed, keyId } = keyring.wrap(pkcs8, signingKeyAad(kid));
    await store.insert({ kid, publicJwk: JSON.stringify(publicJwk(publicKey, kid)), privateSealed: sealed, masterKeyId: keyId, createdAt: Math.floor(Date.now() / 1000), retiredAt: null });
    rows = await store.list();
  }
  const loaded: LoadedKey[] = [];
  for (const row of rows) {
    const key = trustedKey(row, keyring, onUntrusted);
    if (!key) continue;
    // Only an active key signs; a retired one still verifies the tokens it signed.
    if (row.retiredAt !== null) key.privateKey = null;
    loaded.push(key);
  }
  return loaded;
}
