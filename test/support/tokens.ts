import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { SignJWT, type JWTPayload } from 'jose';
import { loadKeyring } from '../../src/crypto/keyring.js';
import { signingKeyAad } from '../../src/crypto/envelope.js';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { TestServer } from './server-fixture.js';

// Tokens for negative tests, signed with the server's real signing key (read
// from its data dir with coffer's own crypto), so that exactly one property
// of each token is wrong.

export async function serverSigningKey(server: TestServer) {
  const { keyring } = loadKeyring({ file: join(server.dataDir, 'master.key') });
  const store = openSqliteStore({ file: join(server.dataDir, 'coffer.db') });
  try {
    const row = (await store.signingKeys.list()).find((r) => r.retiredAt === null)!;
    const pkcs8 = keyring.unwrap(row.masterKeyId, row.privateSealed, signingKeyAad(row.kid));
    return { kid: row.kid, key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }) };
  } finally {
    await store.close();
  }
}

export function goodClaims(server: TestServer, overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const b = server.bootstrap;
  return {
    aud: `https://${b.vaultDnsSuffix}`,
    iss: `${server.url}/${b.tenantId}/v2.0`,
    tid: b.tenantId,
    oid: 'c0ffee00-0000-4000-8000-0000000000a2',
    appid: b.clientId,
    sub: 'c0ffee00-0000-4000-8000-0000000000a2',
    iat: now,
    nbf: now,
    exp: now + 600,
    ...overrides,
  };
}

export async function forge(server: TestServer, claims: JWTPayload, opts: { foreignKey?: boolean; kid?: string } = {}): Promise<string> {
  const real = await serverSigningKey(server);
  const key = opts.foreignKey ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : real.key;
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: opts.kid ?? real.kid }).sign(key);
}

/** An unsigned token (`alg: none`). */
export function unsigned(claims: JWTPayload): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
}
