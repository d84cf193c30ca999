import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { ensureTlsMaterial } from '../../src/tls/certificates.js';

// An external OpenID Connect issuer on loopback, standing in for GitHub
// Actions' token service or a Kubernetes cluster's service account issuer
// (neither can run here): HTTPS under a CA of its own (trusted by coffer only
// through its federation CA file), serving its OpenID configuration and key
// set, and signing tokens as those do (RS256, or ES256). It can misbehave as
// a test asks, and counts what it was asked.

export type IssuerMode = 'ok' | 'huge' | 'missing' | 'other-issuer' | 'plain-jwks';

export interface TestIssuer {
  issuer: string;
  caFile: string;
  /** Its CA's folder: another issuer started with it is trusted by the same CA file. */
  caDir: string;
  /** Paths asked for, in order. */
  requests: string[];
  mode: IssuerMode;
  /** A token of this issuer: `sub` and `aud` given, times now unless overridden. */
  sign(claims: JWTPayload, opts?: { alg?: 'RS256' | 'ES256'; kid?: string; unpublished?: boolean }): Promise<string>;
  /** A new RS256 key, published from now on under a new kid (the old ones stay). */
  rotate(): Promise<string>;
  stop(): Promise<void>;
}

type Key = { kid: string; alg: 'RS256' | 'ES256'; privateKey: CryptoKey; jwk: JWK };

async function newKey(alg: 'RS256' | 'ES256'): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg } };
}

export async function startOidcIssuer(opts: { path?: string; caDir?: string; mode?: IssuerMode } = {}): Promise<TestIssuer> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-oidc-'));
  const tls = await ensureTlsMaterial({ caDir: opts.caDir ?? join(dir, 'ca'), certDir: join(dir, 'server'), dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const keys: Key[] = [await newKey('RS256'), await newKey('ES256')];
  const unpublished = await newKey('RS256');
  const path = opts.path ?? '';
  const state: TestIssuer = {
    issuer: '',
    caFile: tls.caFile,
    caDir: opts.caDir ?? join(dir, 'ca'),
    requests: [],
    mode: opts.mode ?? 'ok',
    async sign(claims, o = {}) {
      const key = o.unpublished ? unpublished : o.kid ? keys.find((k) => k.kid === o.kid)! : keys.find((k) => k.alg === (o.alg ?? 'RS256'))!;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: state.issuer, iat: now, nbf: now, exp: now + 600, jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
        .sign(key.privateKey);
    },
    async rotate() {
      const k = await newKey('RS256');
      keys.unshift(k);
      return k.kid;
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const url = req.url ?? '';
    state.requests.push(url);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (state.mode === 'missing') return json(404, { error: 'not found' });
    if (url === `${path}/.well-known/openid-configuration`) {
      const jwksUri = state.mode === 'plain-jwks' ? state.issuer.replace('https:', 'http:') + '/keys' : `${state.issuer}/keys`;
      return json(200, { issuer: state.mode === 'other-issuer' ? 'https://elsewhere.example' : state.issuer, jwks_uri: jwksUri, id_token_signing_alg_values_supported: ['RS256', 'ES256'] });
    }
    if (url === `${path}/keys`) {
      if (state.mode === 'huge') return json(200, { keys: keys.map((k) => k.jwk), padding: 'x'.repeat(2 * 1024 * 1024) });
      return json(200, { keys: keys.map((k) => k.jwk) });
    }
    json(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.issuer = `https://localhost:${(server.address() as AddressInfo).port}${path}`;
  return state;
}
