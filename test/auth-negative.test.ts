import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVault, credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { forge, goodClaims, serverSigningKey, unsigned } from './support/tokens.js';

// Every way a bearer token can be wrong gets Azure's 401 with the challenge,
// and nothing in the vault changes.

describe('data-plane authentication', () => {
  let server: TestServer;
  let other: TestServer;
  const vault = 'auth-vault';
  let url: string;
  let secretVersion: string;

  before(async () => {
    [server, other] = await Promise.all([startTestServer(), startTestServer({ dev: false })]);
    await createVault(server, vault);
    const set = await secretClient(server, vault).setSecret('guarded', 'original');
    secretVersion = set.properties.version!;
    url = `${server.vaultUrl(vault)}/secrets/guarded?api-version=7.6`;
  });
  after(async () => {
    await server?.stop();
    await other?.stop();
  });

  async function assertUnchanged() {
    const s = await secretClient(server, vault).getSecret('guarded');
    assert.equal(s.value, 'original');
    assert.equal(s.properties.version, secretVersion);
  }

  async function put(token: string | null) {
    return fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ value: 'overwritten' }),
    });
  }

  async function expect401(res: Response, message: RegExp) {
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    assert.equal(challenge, `Bearer authorization="${server.url}/${server.bootstrap.tenantId}", resource="https://${server.bootstrap.vaultDnsSuffix}:${server.port}"`);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'Unauthorized');
    assert.match(body.error.message, message);
    await assertUnchanged();
  }

  it('no token: 401 with the challenge', async () => {
    await expect401(await put(null), /AKV10000: Request is missing a Bearer or PoP token/);
  });

  const cases: Array<[string, () => Promise<string>, RegExp]> = [
    ['expired', () => forge(server, goodClaims(server, { iat: Math.floor(Date.now() / 1000) - 7200, nbf: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 })), /expired/],
    ['not yet valid', () => forge(server, goodClaims(server, { nbf: Math.floor(Date.now() / 1000) + 3600, exp: Math.floor(Date.now() / 1000) + 7200 })), /not yet valid/],
    // A token lives no longer than the server issues them for (3,600 s here), whatever its exp says.
    ['older than tokens live', () => forge(server, goodClaims(server, { iat: Math.floor(Date.now() / 1000) - 7200, nbf: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) + 365 * 86400 })), /expired/],
    ['no iat', () => forge(server, goodClaims(server, { iat: undefined })), /AKV100/],
    ['wrong audience', () => forge(server, goodClaims(server, { aud: 'https://vault.azure.net' })), /AKV10022: Invalid audience/],
    ['management audience', () => forge(server, goodClaims(server, { aud: server.url })), /^AKV10022: Invalid audience\. Expected https:\/\/[^,]+, found: https:\/\/localhost:\d+\.$/],
    ['wrong issuer', () => forge(server, goodClaims(server, { iss: 'https://login.microsoftonline.com/x/v2.0' })), /AKV10032: Invalid issuer/],
    ['wrong tenant', () => forge(server, goodClaims(server, { tid: 'deadbeef-0000-4000-8000-000000000000' })), /AKV10032/],
    ['bad signature', () => forge(server, goodClaims(server), { foreignKey: true }), /signature/],
    ['unknown key id', () => forge(server, goodClaims(server), { kid: 'nope' }), /signature/],
    ['alg none', async () => unsigned(goodClaims(server)), /AKV100/],
    ['garbage', async () => 'not-a-jwt', /AKV10000/],
  ];
  for (const [name, make, message] of cases) {
    it(`${name}: 401`, async () => expect401(await put(await make()), message));
  }

  it('only the spelling of a token it was issued in counts: with padding, or its last character spelled another way, 401', async () => {
    const good = await forge(server, goodClaims(server));
    assert.equal((await fetch(url, { headers: { authorization: `Bearer ${good}` } })).status, 200, 'the token as issued');
    await expect401(await put(`${good}==`), /AKV10000/);
    // A 256-byte signature is 342 base64url characters, the last one's 4 low bits unused: flipping one decodes alike.
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = good.slice(0, -1) + ALPHABET[ALPHABET.indexOf(good.at(-1)!) ^ 1];
    assert.deepEqual(Buffer.from(respelled.split('.')[2]!, 'base64url'), Buffer.from(good.split('.')[2]!, 'base64url'));
    await expect401(await put(respelled), /AKV10000/);
  });

  it('a token from another coffer deployment: 401', async () => {
    const foreign = await credential(other).getToken(`https://${other.bootstrap.vaultDnsSuffix}/.default`);
    await expect401(await put(foreign.token), /AKV100/);
  });

  it('an authenticated caller without rights: 403 with Azure\'s access-policy body', async () => {
    const adminToken = await credential(server).getToken(`${server.url}/.default`);
    const created = await fetch(`${server.url}/v1.0/servicePrincipals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ displayName: 'outsider' }),
    });
    assert.equal(created.status, 201);
    const sp = (await created.json()) as { appId: string; id: string; passwordCredentials: Array<{ secretText: string }> };
    const outsider = secretClient(server, vault, credential(server, sp.appId, sp.passwordCredentials[0]!.secretText));
    await assert.rejects(outsider.getSecret('guarded'), (err: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(err.statusCode, 403);
      assert.equal(err.code, 'Forbidden');
      assert.match(err.message, new RegExp(`appid=${sp.appId};oid=${sp.id}`));
      assert.match(err.message, /does not have secrets get permission on key vault 'auth-vault;location=local'/);
      return true;
    });
    await assert.rejects(outsider.setSecret('guarded', 'overwritten'), (err: { statusCode?: number }) => err.statusCode === 403);
    await assertUnchanged();
  });
  // Last: it restarts the server. A database writer without the master key cannot add a key that verifies.
  it('a signing key written into the database without the master key is not trusted (401), nor published', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const kid = 'attackerkid0000000000000000';
    const store = openSqliteStore({ file: join(server.dataDir, 'coffer.db') });
    try {
      const real = (await store.signingKeys.list())[0]!;
      const publicJwk = JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' });
      await store.signingKeys.insert({ kid, publicJwk, privateSealed: randomBytes(300), masterKeyId: real.masterKeyId, createdAt: 1, retiredAt: Math.floor(Date.now() / 1000) });
    } finally {
      await store.close();
    }
    await server.restart();
    const jwks = (await (await fetch(`${server.url}/${server.bootstrap.tenantId}/discovery/v2.0/keys`)).json()) as { keys: Array<{ kid: string }> };
    assert.deepEqual(jwks.keys.map((k) => k.kid), [(await serverSigningKey(server)).kid]);
    const token = await new SignJWT(goodClaims(server)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey);
    await expect401(await put(token), /signature/);
    assert.match(server.logs(), /a stored token signing key does not open under the master key/);
    // Any other key is still refused, and the server's own (opened under the master key) still verifies.
    await expect401(await put(await forge(server, goodClaims(server), { foreignKey: true })), /signature/);
    const own = await fetch(url, { headers: { authorization: `Bearer ${await forge(server, goodClaims(server))}` } });
    assert.equal(own.status, 200);
    assert.equal(((await own.json()) as { value: string }).value, 'original');
    assert.equal((await secretClient(server, vault).getSecret('guarded')).value, 'original');
  });
});
