import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, decodeProtectedHeader, errors as joseErrors, type JWK, type JWTPayload } from 'jose';
import type { SigningKeyStore } from '../storage/store-types.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Caller } from './identity-types.js';
import { createSigningKey, loadOrCreateKeys, retireSigningKey, trustedKey, type LoadedKey, type OnUntrustedKey, type RetiredKids } from './signing-keys.js';

// Issues RS256 access tokens and verifies them. Signing keys live in the
// store, sealed by the master keyring (signing-keys.ts). A rotation makes a
// new key and retires the old one: a retired key verifies only tokens issued
// before it retired, and only while they can live (the token lifetime), then
// leaves the JWKS; so whoever copied an old key can forge nothing for long.

export interface IssueInput {
  objectId: string;
  appId: string;
  audience: string;
  kind: 'app' | 'user';
  upn?: string | null;
  name?: string | null;
  scope?: string;
}

/** `revoked`: issued to a principal since deleted from the directory. */
export type VerifyFailure = 'malformed' | 'signature' | 'expired' | 'not-yet-valid' | 'audience' | 'issuer' | 'revoked';

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
  /** Drops the verified tokens of a principal deleted from the directory (the others' go within PRINCIPAL_RECHECK_SECONDS). */
  forgetPrincipal(objectId: string): void;
  /** Drops every verified token: changes were missed, and principals may be gone (each token is verified again). */
  forgetAll(): void;
  /** How many verified tokens are held. */
  cachedTokens(): number;
  /** Reads the signing keys again: another cluster member added or retired one. */
  reloadKeys(): Promise<void>;
  /** Signs with a new key from now on and retires every other (`coffer admin rotate-signing-key`). */
  rotateSigningKey(): Promise<{ kid: string; retired: string[] }>;
  /** The master keyring after a rotation (reloadKeys opens new keys with it). */
  useKeyring(keyring: Keyring): void;
}

const SKEW_SECONDS = 60;
const CACHE_LIMIT = 10_000;
/**
 * How long a verified token is trusted before its principal is looked up
 * again: a principal deleted through another cluster member (or before a
 * restart) has its tokens refused within this long, not at their expiry.
 */
export const PRINCIPAL_RECHECK_SECONDS = 60;
/** How often verified tokens past their expiry leave the cache. */
export const EXPIRED_SWEEP_MS = 60_000;

export async function createTokenService(deps: {
  store: SigningKeyStore;
  keyring: Keyring;
  issuer: string;
  /** Further issuers accepted on verification (the ADFS-style authority). */
  extraIssuers?: string[];
  tenantId: string;
  lifetimeSeconds: number;
  /** A stored key whose private half does not open under the master keyring: never trusted. */
  onUntrustedKey?: OnUntrustedKey;
  /** The kids this server has seen retired (its data dir's record); none kept without it. */
  retiredKids?: RetiredKids;
  /** The clock (unix seconds); tests move it. */
  now?: () => number;
  /**
   * Whether the principal a token names is still in the directory. Entra's
   * tokens outlive their principal until they expire; coffer's do not (an
   * access policy, which names its principal's object id, would keep
   * granting): looked up when a token is first seen, then every
   * PRINCIPAL_RECHECK_SECONDS.
   */
  principalExists?: (objectId: string) => Promise<boolean>;
}): Promise<TokenService> {
  let keyring = deps.keyring;
  const nowSec = deps.now ?? (() => Math.floor(Date.now() / 1000));
  const keys = await loadOrCreateKeys(deps.store, keyring, nowSec(), deps.onUntrustedKey, deps.retiredKids);
  const byKid = new Map(keys.map((k) => [k.kid, k]));
  /** The newest key that signs (the store lists newest first). */
  const newestActive = () => [...byKid.values()].filter((k) => k.retiredAt === null && k.privateKey !== null).sort((a, b) => b.createdAt - a.createdAt)[0];
  let signingKey = newestActive()!;
  const issuers = [deps.issuer, ...(deps.extraIssuers ?? [])];
  // Verified tokens by their text: verification is the costliest part of a request.
  const cache = new Map<string, { caller: Caller; exp: number; nbf: number; aud: string; checkedAt: number }>();
  // Expired entries go once a minute: else a burst of new tokens (some 2 KB each) held their memory until as many
  // newer ones pushed them out, however long the server then idled.
  const sweep = setInterval(() => {
    const past = nowSec() - SKEW_SECONDS;
    for (const [token, entry] of cache) if (entry.exp < past) cache.delete(token);
  }, EXPIRED_SWEEP_MS);
  sweep.unref();
  const principalGone = () => new TokenVerifyError('revoked', 'the token names a principal no longer in the directory');
  /** Counts forgetPrincipal calls: a lookup that a removal overtook is not trusted. */
  let removals = 0;
  /** Whether the principal is in the directory, asked again if one was removed while the answer was on its way. */
  async function stillThere(objectId: string): Promise<boolean> {
    const before = removals;
    const found = await deps.principalExists!(objectId);
    return found && (removals === before || (await deps.principalExists!(objectId)));
  }
  /** Looks the cached token's principal up again when it is due; a principal gone takes its tokens with it. */
  async function recheck(token: string, entry: { caller: Caller; checkedAt: number }): Promise<void> {
    const now = nowSec();
    if (!deps.principalExists || now - entry.checkedAt < PRINCIPAL_RECHECK_SECONDS) return;
    // Marked first: the requests arriving meanwhile do not look it up again.
    entry.checkedAt = now;
    if (await stillThere(entry.caller.objectId)) return;
    cache.delete(token);
    throw principalGone();
  }
  /** A retired key verifies (and is published) only while a token issued before it retired can still live. */
  const verifies = (k: LoadedKey, now: number) => k.retiredAt === null || now <= k.retiredAt + deps.lifetimeSeconds + 2 * SKEW_SECONDS;
  const retire = (k: LoadedKey, at: number) => {
    k.retiredAt = at;
    k.privateKey = null;
  };

  let rotations: Promise<void> = Promise.resolve();
  /** The key to sign with: a rotation elsewhere (another cluster member's, at once) may have retired ours. */
  async function signer(): Promise<LoadedKey & { privateKey: KeyObject }> {
    if (signingKey.privateKey === null) signingKey = newestActive() ?? (await fresh());
    return signingKey as LoadedKey & { privateKey: KeyObject };
  }

  async function fresh(): Promise<LoadedKey> {
    const key = await createSigningKey(deps.store, keyring, nowSec());
    byKid.set(key.kid, key);
    return key;
  }

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
      const key = await signer();
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
        .sign(key.privateKey);
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
      const key = await signer();
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);
    },
    async verify(token, audiences) {
      const hit = cache.get(token);
      if (hit) {
        const caller = checkCached(hit, audiences);
        // Awaited only when due: the hot path (a cached token) stays synchronous.
        if (deps.principalExists && nowSec() - hit.checkedAt >= PRINCIPAL_RECHECK_SECONDS) await recheck(token, hit);
        return caller;
      }
      // Only the one spelling coffer issues: base64url without padding whose bits past the last byte are zero
      // (RFC 7515 2). Decoders take `==` or other last characters too, which would make one token many.
      if (!canonicalCompact(token)) throw new TokenVerifyError('malformed', 'token is not a JWT in compact serialization');
      let header;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        throw new TokenVerifyError('malformed', 'token is not a JWT');
      }
      const key = typeof header.kid === 'string' ? byKid.get(header.kid) : undefined;
      if (header.alg !== 'RS256' || !key || !verifies(key, nowSec())) throw new TokenVerifyError('signature', 'token signature is invalid');
      let payload: JWTPayload;
      try {
        // maxTokenAge: a token lives no longer than coffer issues them for, whatever its exp says.
        ({ payload } = await jwtVerify(token, key.publicKey, {
          algorithms: ['RS256'],
          issuer: issuers,
          clockTolerance: SKEW_SECONDS,
          maxTokenAge: deps.lifetimeSeconds + SKEW_SECONDS,
          currentDate: new Date(nowSec() * 1000),
        }));
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
      // A retired key signed nothing after it retired: such a token was made with a copy of the key.
      if (key.retiredAt !== null && (payload.iat ?? 0) > key.retiredAt + SKEW_SECONDS) throw new TokenVerifyError('signature', 'token signed by a retired key');
      if (payload.tid !== deps.tenantId) throw new TokenVerifyError('issuer', 'invalid tenant');
      if (typeof payload.exp !== 'number' || typeof payload.aud !== 'string' || typeof payload.oid !== 'string') {
        throw new TokenVerifyError('malformed', 'token lacks exp, aud or oid');
      }
      // The cache holds it no longer than maxTokenAge allowed (payload.iat is there: jwtVerify required it).
      const exp = Math.min(payload.exp, (payload.iat ?? 0) + deps.lifetimeSeconds);
      const entry = { caller: callerFrom(payload), exp, nbf: payload.nbf ?? 0, aud: payload.aud, checkedAt: nowSec() };
      if (deps.principalExists && !(await stillThere(entry.caller.objectId))) throw principalGone();
      if (cache.size >= CACHE_LIMIT) {
        // Drop the oldest entry; Map iterates in insertion order.
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(token, entry);
      return checkCached(entry, audiences);
    },
    cachedTokens: () => cache.size,
    forgetPrincipal(objectId) {
      removals += 1;
      const id = objectId.toLowerCase();
      for (const [token, entry] of cache) if (entry.caller.objectId.toLowerCase() === id) cache.delete(token);
    },
    forgetAll() {
      removals += 1;
      cache.clear();
    },
    jwks: () => ({ keys: [...byKid.values()].filter((k) => verifies(k, nowSec())).map((k) => k.jwk) }),
    async reloadKeys() {
      // Another member's key is trusted only if it opens under the keyring. This server keeps signing with its
      // own key until a rotation (here or on another member) retires it, then with the newest active one.
      for (const row of await deps.store.list()) {
        const known = byKid.get(row.kid);
        if (known) {
          // Retired only as sealed: a retired_at written into the row alone does not open.
          if (row.retiredAt !== null && known.retiredAt === null && trustedKey(row, keyring, deps.onUntrustedKey)) {
            retire(known, row.retiredAt);
            deps.retiredKids?.add([row.kid]);
          }
          continue;
        }
        const loaded = trustedKey(row, keyring, deps.onUntrustedKey, deps.retiredKids);
        if (!loaded) continue;
        if (loaded.retiredAt !== null) loaded.privateKey = null;
        byKid.set(row.kid, loaded);
      }
      if (signingKey.retiredAt !== null) signingKey = newestActive() ?? (await fresh());
    },
    rotateSigningKey() {
      // One at a time: two overlapping ones would each retire the other's new key.
      const run = rotations.then(async () => {
        // The new key is stored before any is retired, so that some key always signs.
        const next = await fresh();
        const now = nowSec();
        const retired: string[] = [];
        for (const row of await deps.store.list()) {
          if (row.kid === next.kid || !(await retireSigningKey(deps.store, keyring, row, now))) continue;
          const known = byKid.get(row.kid);
          if (known) retire(known, now);
          retired.push(row.kid);
        }
        deps.retiredKids?.add(retired);
        signingKey = next;
        return { kid: next.kid, retired };
      });
      rotations = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    useKeyring(next) {
      keyring = next;
    },
  };
}

/** Three base64url parts, each spelled as encoding its bytes spells it (no padding, no stray bits). */
function canonicalCompact(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p) && Buffer.from(p, 'base64url').toString('base64url') === p);
}
