import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { importJWK, type JWK } from 'jose';

// The signing keys of external identity providers (federated identity
// credentials' issuers): their OpenID configuration's `jwks_uri`, fetched
// over HTTPS only (certificates verified: Node's CAs, NODE_EXTRA_CA_CERTS,
// and the deployment's federation CA file), with a short timeout and a size
// cap, no redirect followed, cached, and fetched again for a key id it does
// not know at most once a minute per issuer. Only issuers an administrator
// registered are ever asked for (client-assertion-federated.ts looks the
// credential up first): a token cannot make coffer fetch a URL of its choosing.

export class FederationFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FederationFetchError';
  }
}

export interface FederationKeysOptions {
  /** PEM text of CAs trusted besides Node's own (COFFER_FEDERATION_CA_FILE). */
  extraCaPem?: string;
  timeoutMs?: number;
  maxBytes?: number;
  /** How long fetched keys are used before they are fetched again. */
  ttlMs?: number;
  /** The least time between two fetches for one issuer (a key id it does not know, a failure). */
  refetchMs?: number;
  now?: () => number;
}

type KeySet = { keys: JWK[]; at: number };

export function createFederationKeys(opts: FederationKeysOptions = {}) {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const maxBytes = opts.maxBytes ?? 256 * 1024;
  const ttlMs = opts.ttlMs ?? 3_600_000;
  const refetchMs = opts.refetchMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const ca = trustedCas(opts.extraCaPem);
  // `tried`: the last fetch begun; `refreshed`: the last one begun for a key id not known (each limited to one per refetchMs).
  const cache = new Map<string, { set: KeySet | null; tried: number; refreshed: number; failure: FederationFetchError | null; pending: Promise<KeySet> | null }>();

  function getJson(url: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      if (u.protocol !== 'https:') return reject(new FederationFetchError(`${url.slice(0, 200)} is not an https URL`));
      const req = request(u, { method: 'GET', ca, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new FederationFetchError(`${u.origin}${u.pathname.slice(0, 200)} answered ${res.statusCode}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy();
            reject(new FederationFetchError(`${u.origin}${u.pathname.slice(0, 200)} answered more than ${maxBytes} bytes`));
          } else chunks.push(c);
        });
        res.on('end', () => {
          try {
            const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
            resolve(v as Record<string, unknown>);
          } catch (err) {
            reject(new FederationFetchError(`${u.origin}${u.pathname.slice(0, 200)}: ${(err as Error).message.slice(0, 100)}`));
          }
        });
        res.on('error', (err) => reject(new FederationFetchError(err.message)));
      });
      req.on('error', (err) => reject(err instanceof FederationFetchError ? err : new FederationFetchError(`${u.origin}: ${err.message.slice(0, 200)}`)));
      req.end();
    });
  }

  async function fetchKeys(issuer: string): Promise<KeySet> {
    const config = await getJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
    // OpenID Connect Discovery: the document names the issuer exactly as its tokens do.
    if (config.issuer !== issuer) throw new FederationFetchError(`the OpenID configuration of ${issuer.slice(0, 200)} names another issuer`);
    if (typeof config.jwks_uri !== 'string') throw new FederationFetchError(`the OpenID configuration of ${issuer.slice(0, 200)} has no jwks_uri`);
    const jwks = await getJson(config.jwks_uri);
    if (!Array.isArray(jwks.keys)) throw new FederationFetchError(`the key set of ${issuer.slice(0, 200)} has no keys`);
    return { keys: jwks.keys.filter((k): k is JWK => typeof k === 'object' && k !== null), at: now() };
  }

  /** The issuer's keys: cached, or fetched (one fetch at a time per issuer) when stale or `refresh` and allowed. */
  async function keysOf(issuer: string, refresh: boolean): Promise<KeySet> {
    let entry = cache.get(issuer);
    if (!entry) cache.set(issuer, (entry = { set: null, tried: -Infinity, refreshed: -Infinity, failure: null, pending: null }));
    const fresh = entry.set !== null && now() - entry.set.at < ttlMs;
    if (entry.pending) return entry.pending;
    if (fresh && (!refresh || now() - entry.refreshed < refetchMs)) return entry.set!;
    if (!fresh && now() - entry.tried < refetchMs) {
      if (entry.set) return entry.set;
      throw entry.failure ?? new FederationFetchError(`${issuer.slice(0, 200)} was asked for its keys moments ago`);
    }
    entry.tried = now();
    if (fresh) entry.refreshed = entry.tried;
    const e = entry;
    e.pending = fetchKeys(issuer)
      .then((set) => {
        e.set = set;
        e.failure = null;
        return set;
      })
      .catch((err: unknown) => {
        e.failure = err instanceof FederationFetchError ? err : new FederationFetchError(String(err));
        // Keys fetched before still serve until they are stale; an issuer that is down does not lock its tokens out at once.
        if (e.set && now() - e.set.at < ttlMs) return e.set;
        throw e.failure;
      })
      .finally(() => {
        e.pending = null;
      });
    return e.pending;
  }

  const fits = (k: JWK, kid: string | undefined, alg: string) =>
    (kid === undefined || k.kid === kid) && (k.use === undefined || k.use === 'sig') && (k.alg === undefined || k.alg === alg) && k.kty === (alg === 'RS256' ? 'RSA' : 'EC');

  return {
    /** The issuer's public keys that may have signed with `alg` under `kid` (none named: each of its keys for `alg`). */
    async candidates(issuer: string, kid: string | undefined, alg: 'RS256' | 'ES256') {
      let set = await keysOf(issuer, false);
      if (kid !== undefined && !set.keys.some((k) => k.kid === kid)) set = await keysOf(issuer, true);
      const out = [];
      for (const jwk of set.keys.filter((k) => fits(k, kid, alg))) {
        try {
          out.push(await importJWK({ ...jwk, alg }, alg));
        } catch {
          // A key jose cannot take (a curve other than P-256 for ES256) verifies nothing.
        }
      }
      return out;
    },
  };
}

export type FederationKeys = ReturnType<typeof createFederationKeys>;

/** Node's CAs and NODE_EXTRA_CA_CERTS (which an explicit `ca` would drop), plus the deployment's; undefined: Node's default. */
function trustedCas(extraPem: string | undefined): string[] | undefined {
  if (extraPem === undefined) return undefined;
  const nodeExtra = process.env.NODE_EXTRA_CA_CERTS;
  let fromEnv: string[] = [];
  try {
    fromEnv = nodeExtra ? [readFileSync(nodeExtra, 'utf8')] : [];
  } catch {
    // Node warned of it at start and trusts none of it: neither does this.
  }
  return [...rootCertificates, ...fromEnv, extraPem];
}

/** The federation CA file's PEM text, read at start (a missing or certificate-less file stops the start). */
export function readFederationCaFile(file: string): string {
  const pem = readFileSync(file, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`federationCaFile ${file} holds no PEM certificate`);
  return pem;
}

/**
 * The token endpoint's view of external issuers for a server: its configured extra CA (read now: a file that
 * is missing or holds no certificate stops the start), and a fetch that failed logged as a warning.
 */
export function federationFromConfig(config: { federationCaFile?: string }, log: { warn(obj: object, msg: string): void }) {
  const keys = createFederationKeys({ extraCaPem: config.federationCaFile === undefined ? undefined : readFederationCaFile(config.federationCaFile) });
  return {
    keys,
    onFetchFailed: (issuer: string, reason: string) => log.warn({ issuer: issuer.slice(0, 200), reason }, "an external identity provider's signing keys could not be fetched"),
  };
}
