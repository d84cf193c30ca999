import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createRemoteJWKSet, jwtVerify, decodeJwt } from 'jose';
import { createVault, credential } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The token service: discovery, JWKS, grants and Entra-shaped errors.

describe('identity service', () => {
  let server: TestServer;
  let tokenUrl: string;
  before(async () => {
    server = await startTestServer();
    tokenUrl = `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`;
  });
  after(() => server?.stop());

  const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });

  it('publishes discovery documents and a JWKS that verifies issued tokens', async () => {
    const { tenantId } = server.bootstrap;
    const doc = (await (await fetch(`${server.url}/${tenantId}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    assert.equal(doc.issuer, `${server.url}/${tenantId}/v2.0`);
    assert.equal(doc.token_endpoint, tokenUrl);
    const adfs = (await (await fetch(`${server.url}/adfs/.well-known/openid-configuration`)).json()) as Record<string, string>;
    assert.equal(adfs.token_endpoint, `${server.url}/adfs/oauth2/token`);

    const token = (await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`)).token;
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri!)), { issuer: doc.issuer });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.aud, `https://${server.bootstrap.vaultDnsSuffix}`);
    assert.equal(payload.tid, tenantId);
    assert.equal(payload.appid, server.bootstrap.clientId);
    assert.equal(payload.azp, server.bootstrap.clientId);
    assert.ok(typeof payload.oid === 'string' && payload.sub === payload.oid);
    assert.ok(payload.exp! > payload.iat! && payload.nbf! <= payload.iat!);
  });

  it('client_credentials with the secret in the body or in Basic auth', async () => {
    const { clientId, clientSecret } = server.bootstrap;
    const scope = `${server.url}/.default`;
    const body = await form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope });
    assert.equal(body.status, 200);
    const json = (await body.json()) as Record<string, unknown>;
    assert.equal(json.token_type, 'Bearer');
    assert.equal(typeof json.expires_in, 'number');
    const basic = await form({ grant_type: 'client_credentials', scope }, { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` });
    assert.equal(basic.status, 200);
    assert.equal(decodeJwt(((await basic.json()) as { access_token: string }).access_token).aud, server.url);

    // A resource named in another case is the same resource, and its token carries the spelling the vault checks.
    const shouted = await form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: `HTTPS://${server.bootstrap.vaultDnsSuffix.toUpperCase()}:${server.port}/.default` });
    assert.equal(shouted.status, 200);
    const vaultToken = ((await shouted.json()) as { access_token: string }).access_token;
    assert.equal(decodeJwt(vaultToken).aud, `https://${server.bootstrap.vaultDnsSuffix}:${server.port}`);
    await createVault(server, 'oauth-case');
    const read = await fetch(`${server.vaultUrl('oauth-case')}/secrets?api-version=7.6`, { headers: { authorization: `Bearer ${vaultToken}` } });
    assert.equal(read.status, 200, await read.text());
  });

  const errorCases: Array<[string, Record<string, string>, number, string, number]> = [
    ['wrong secret', { grant_type: 'client_credentials', client_secret: 'wrong' }, 401, 'invalid_client', 7000215],
    ['unknown client', { grant_type: 'client_credentials', client_id: '11111111-1111-4111-8111-111111111111', client_secret: 'x' }, 400, 'unauthorized_client', 700016],
    ['unknown resource', { grant_type: 'client_credentials', scope: 'https://vault.azure.net/.default' }, 400, 'invalid_resource', 500011],
    ['missing scope', { grant_type: 'client_credentials', scope: '' }, 400, 'invalid_request', 900144],
    ['unsupported grant', { grant_type: 'urn:ietf:params:oauth:grant-type:saml1_1-bearer' }, 400, 'unsupported_grant_type', 70003],
    ['bad refresh token', { grant_type: 'refresh_token', refresh_token: 'nope' }, 400, 'invalid_grant', 9002313],
  ];
  for (const [name, fields, status, error, code] of errorCases) {
    it(`${name}: ${status} ${error} AADSTS${code}`, async () => {
      const res = await form({ client_id: server.bootstrap.clientId, client_secret: server.bootstrap.clientSecret, scope: `${server.url}/.default`, ...fields });
      assert.equal(res.status, status);
      const body = (await res.json()) as { error: string; error_description: string; error_codes: number[]; trace_id: string; correlation_id: string };
      assert.equal(body.error, error);
      assert.deepEqual(body.error_codes, [code]);
      assert.match(body.error_description, new RegExp(`^AADSTS${code}: `));
      assert.ok(body.trace_id && body.correlation_id);
      assert.ok(!JSON.stringify(body).includes(server.bootstrap.clientSecret));
    });
  }

  it('reads HTML forms only, and refuses a parameter given twice (AADSTS9000411)', async () => {
    const { clientId, clientSecret } = server.bootstrap;
    const scope = `${server.url}/.default`;
    const twice = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${clientId}&client_secret=wrong&client_secret=${encodeURIComponent(clientSecret)}&scope=${encodeURIComponent(scope)}`,
    });
    assert.equal(twice.status, 400);
    const body = (await twice.json()) as { error: string; error_codes: number[]; error_description: string };
    assert.equal(body.error, 'invalid_request');
    assert.deepEqual(body.error_codes, [9000411]);
    assert.match(body.error_description, /The parameter 'client_secret' is duplicated/);
    for (const [label, headers, payload] of [
      ['a JSON body', { 'content-type': 'application/json' }, JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope })],
      ['no content type', {}, new TextEncoder().encode(`grant_type=client_credentials&client_id=${clientId}`)],
    ] as const) {
      const res = await fetch(tokenUrl, { method: 'POST', headers, body: payload });
      assert.equal(res.status, 400, label);
      const err = (await res.json()) as { error: string; error_codes: number[] };
      assert.equal(err.error, 'invalid_request', label);
      assert.deepEqual(err.error_codes, [900144], label);
    }
    // The device code endpoint names its own first missing field.
    const device = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/devicecode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,2]' });
    assert.equal(device.status, 400);
    assert.match(((await device.json()) as { error_description: string }).error_description, /^AADSTS900144: .*'client_id'/);
  });

  it('users: password grant, single-use refresh tokens, wrong password', async () => {
    const admin = (await credential(server).getToken(`${server.url}/.default`)).token;
    const created = await fetch(`${server.url}/v1.0/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userPrincipalName: 'alice@coffer.local', displayName: 'Alice', passwordProfile: { password: 'Correct horse battery 9' } }),
    });
    assert.equal(created.status, 201);
    const cliClient = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
    const scope = `${server.url}/.default openid profile offline_access`;
    const bad = await form({ grant_type: 'password', client_id: cliClient, username: 'alice@coffer.local', password: 'wrong password', scope });
    assert.equal(bad.status, 400);
    assert.deepEqual(((await bad.json()) as { error_codes: number[] }).error_codes, [50126]);

    const ok = await form({ grant_type: 'password', client_id: cliClient, username: 'ALICE@coffer.local', password: 'Correct horse battery 9', scope });
    assert.equal(ok.status, 200);
    const tokens = (await ok.json()) as { access_token: string; refresh_token: string; id_token: string; client_info: string };
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.upn, 'alice@coffer.local');
    assert.equal(claims.name, 'Alice');
    assert.ok(tokens.id_token && tokens.client_info);

    // Another public client cannot redeem it, nor use it up for its own client.
    const otherClient = await form({ grant_type: 'refresh_token', client_id: '1950a258-227b-4e31-a9cf-717495945fc2', refresh_token: tokens.refresh_token });
    assert.deepEqual(((await otherClient.json()) as { error_codes: number[] }).error_codes, [9002313]);
    // A request for a resource that does not exist is refused before the token is taken.
    const unknown = await form({ grant_type: 'refresh_token', client_id: cliClient, refresh_token: tokens.refresh_token, scope: 'https://nope.example/.default' });
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as { error: string }).error, 'invalid_resource');
    const refreshed = await form({ grant_type: 'refresh_token', client_id: cliClient, refresh_token: tokens.refresh_token, scope: `https://${server.bootstrap.vaultDnsSuffix}/.default` });
    assert.equal(refreshed.status, 200);
    const next = (await refreshed.json()) as { access_token: string; refresh_token: string };
    assert.equal(decodeJwt(next.access_token).aud, `https://${server.bootstrap.vaultDnsSuffix}`);
    const reused = await form({ grant_type: 'refresh_token', client_id: cliClient, refresh_token: tokens.refresh_token });
    assert.equal(reused.status, 400, 'a refresh token is single use');
    // Within seconds of its use, a reuse is one user's two processes refreshing at once: refused, nothing revoked.
    const db = new Database(join(server.dataDir, 'coffer.db'));
    try {
      // The newest row is the new token's (its hash is keyed: the test cannot compute it).
      assert.equal((db.prepare('SELECT used_at FROM refresh_tokens ORDER BY rowid DESC LIMIT 1').get() as { used_at: number | null }).used_at, null, 'the new token is live');
      // Later, it is a thief's or its victim's: the sign-in's tokens are all revoked.
      db.prepare('UPDATE refresh_tokens SET used_at = used_at - 60 WHERE used_at IS NOT NULL').run();
    } finally {
      db.close();
    }
    assert.equal((await form({ grant_type: 'refresh_token', client_id: cliClient, refresh_token: tokens.refresh_token })).status, 400);
    const descendant = await form({ grant_type: 'refresh_token', client_id: cliClient, refresh_token: next.refresh_token });
    assert.deepEqual([descendant.status, ((await descendant.json()) as { error_codes: number[] }).error_codes], [400, [9002313]]);
    // Another sign-in of the same user is its own family, and keeps working.
    const again = (await (await form({ grant_type: 'password', client_id: cliClient, username: 'alice@coffer.local', password: 'Correct horse battery 9', scope })).json()) as { refresh_token: string };
    assert.equal((await form({ grant_type: 'refresh_token', client_id: cliClient, refresh_token: again.refresh_token })).status, 200);
  });

  it('revokes a refresh token (RFC 7009): 200 whatever the token, and only its own client revokes it', async () => {
    const cliClient = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
    const scope = `${server.url}/.default openid profile offline_access`;
    const revokeUrl = tokenUrl.replace(/\/token$/, '/revoke');
    const discovery = (await (await fetch(`${server.url}/${server.bootstrap.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as { revocation_endpoint: string };
    assert.equal(discovery.revocation_endpoint, revokeUrl);
    const revoke = (fields: Record<string, string>) =>
      fetch(revokeUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    const signIn = async () => {
      const res = await form({ grant_type: 'password', client_id: cliClient, username: 'alice@coffer.local', password: 'Correct horse battery 9', scope });
      assert.equal(res.status, 200);
      return ((await res.json()) as { refresh_token: string }).refresh_token;
    };
    const refreshWith = (token: string) => form({ grant_type: 'refresh_token', client_id: cliClient, refresh_token: token });

    const kept = await signIn();
    const other = await revoke({ token: kept, client_id: '1950a258-227b-4e31-a9cf-717495945fc2' });
    assert.equal(other.status, 200);
    assert.deepEqual(await other.json(), {});
    assert.equal((await refreshWith(kept)).status, 200, "another client's revocation leaves the token alone");

    // Revoking a used token of a sign-in revokes the token it was exchanged for: sign-out ends the session.
    const revoked = await signIn();
    const successor = ((await (await refreshWith(revoked)).json()) as { refresh_token: string }).refresh_token;
    assert.equal((await revoke({ token: revoked, client_id: cliClient, token_type_hint: 'refresh_token' })).status, 200);
    assert.equal((await refreshWith(successor)).status, 400);
    const after = await refreshWith(revoked);
    assert.equal(after.status, 400);
    assert.equal(((await after.json()) as { error: string }).error, 'invalid_grant');
    assert.equal((await revoke({ token: revoked, client_id: cliClient })).status, 200, 'again, and for an unknown token, the same answer');
    assert.equal((await revoke({ token: 'not-a-token', client_id: cliClient })).status, 200);
    const target = await signIn();
    const stranger = await revoke({ token: target, client_id: '00000000-0000-0000-0000-00000000abcd', client_secret: 'x' });
    assert.equal(stranger.status, 401, 'an unknown client fails client authentication (RFC 6749 5.2)');
    assert.equal(((await stranger.json()) as { error: string }).error, 'invalid_client');
    assert.equal((await refreshWith(target)).status, 200);
    const missing = await revoke({ client_id: cliClient });
    assert.equal(missing.status, 400);
    assert.deepEqual(((await missing.json()) as { error_codes: number[] }).error_codes, [900144]);
  });

  it('a revoked client secret stops working', async () => {
    const admin = (await credential(server).getToken(`${server.url}/.default`)).token;
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const sp = (await (await fetch(`${server.url}/v1.0/servicePrincipals`, { method: 'POST', headers, body: JSON.stringify({ displayName: 'revokee' }) })).json()) as {
      id: string;
      appId: string;
      passwordCredentials: Array<{ keyId: string; secretText: string }>;
    };
    const cred = sp.passwordCredentials[0]!;
    const scope = `${server.url}/.default`;
    assert.equal((await form({ grant_type: 'client_credentials', client_id: sp.appId, client_secret: cred.secretText, scope })).status, 200);
    const removed = await fetch(`${server.url}/v1.0/servicePrincipals/${sp.id}/removePassword`, { method: 'POST', headers, body: JSON.stringify({ keyId: cred.keyId }) });
    assert.equal(removed.status, 204);
    assert.equal((await form({ grant_type: 'client_credentials', client_id: sp.appId, client_secret: cred.secretText, scope })).status, 401);
  });

  it("a registered application signs users in only with its secret: nobody gets tokens in its name without it", async () => {
    const admin = (await credential(server).getToken(`${server.url}/.default`)).token;
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const sp = (await (await fetch(`${server.url}/v1.0/servicePrincipals`, { method: 'POST', headers, body: JSON.stringify({ displayName: 'reporting-app' }) })).json()) as {
      appId: string;
      passwordCredentials: Array<{ secretText: string }>;
    };
    const user = { userPrincipalName: 'bob@coffer.local', displayName: 'Bob', passwordProfile: { password: 'Bob password 123' } };
    assert.equal((await fetch(`${server.url}/v1.0/users`, { method: 'POST', headers, body: JSON.stringify(user) })).status, 201);
    const signIn = { grant_type: 'password', username: 'bob@coffer.local', password: 'Bob password 123', scope: `https://${server.bootstrap.vaultDnsSuffix}/.default offline_access` };
    const errorCodes = async (res: Response) => ((await res.json()) as { error_codes: number[] }).error_codes;

    // Before, any registered app id passed for a public client, and the token's appid matched access policies bound to that app.
    const noSecret = await form({ ...signIn, client_id: sp.appId });
    assert.equal(noSecret.status, 401);
    assert.deepEqual(await errorCodes(noSecret), [7000218]);
    const wrongSecret = await form({ ...signIn, client_id: sp.appId, client_secret: 'not the secret' });
    assert.deepEqual(await errorCodes(wrongSecret), [7000215]);
    const withSecret = await form({ ...signIn, client_id: sp.appId, client_secret: sp.passwordCredentials[0]!.secretText });
    assert.equal(withSecret.status, 200);
    const tokens = (await withSecret.json()) as { access_token: string; refresh_token: string };
    assert.equal(decodeJwt(tokens.access_token).appid, sp.appId);
    assert.equal(decodeJwt(tokens.access_token).upn, 'bob@coffer.local');
    // Its refresh token is the app's too: redeeming it needs the secret as well.
    const refreshNoSecret = await form({ grant_type: 'refresh_token', client_id: sp.appId, refresh_token: tokens.refresh_token });
    assert.deepEqual(await errorCodes(refreshNoSecret), [7000218]);
    const refreshed = await form({ grant_type: 'refresh_token', client_id: sp.appId, client_secret: sp.passwordCredentials[0]!.secretText, refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 200);

    // Device sign-in and the code flow are for the first-party public clients only.
    const device = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/devicecode`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: sp.appId, scope: signIn.scope }).toString(),
    });
    assert.deepEqual(await errorCodes(device), [700016]);
    // A pending device sign-in keeps its scope for 15 minutes: an oversized one is refused before it is kept.
    const padded = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/devicecode`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', scope: `${server.url}/.default${' '.repeat(3000)}` }).toString(),
    });
    assert.equal(padded.status, 400);
    assert.deepEqual(await errorCodes(padded), [90011]);
    for (const id of ['constructor', '__proto__', 'toString', '11111111-1111-4111-8111-111111111111']) {
      const res = await form({ ...signIn, client_id: id });
      assert.equal(res.status, 400, id);
      assert.deepEqual(await errorCodes(res), [700016], id);
    }
    const cli = await form({ ...signIn, client_id: '04B07795-8DDB-461A-BBEE-02F9E1BF7B46' });
    assert.equal(cli.status, 200, 'a public client id in capitals is the same client');
  });

  it('framework-level refusals on the identity endpoints are Entra-shaped: a GET (AADSTS900561), an oversized body, %00', async () => {
    const oauthError = async (res: Response, status: number, label: string) => {
      assert.equal(res.status, status, label);
      const body = (await res.json()) as { error: string; error_description: string; error_codes: number[]; trace_id: string };
      assert.equal(body.error, 'invalid_request', label);
      assert.match(body.trace_id, /^[0-9a-f-]{36}$/, label);
      return body;
    };
    for (const url of [tokenUrl, `${server.url}/${server.bootstrap.tenantId}/oauth2/token`, `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/devicecode`]) {
      const body = await oauthError(await fetch(url), 400, `GET ${url}`);
      assert.deepEqual(body.error_codes, [900561]);
      assert.match(body.error_description, /^AADSTS900561: The endpoint only accepts POST, OPTIONS requests\. Received a GET request\./);
      // OPTIONS, which that message names, is answered (without a CORS grant to another origin).
      const options = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' } });
      assert.equal(options.status, 204, `OPTIONS ${url}`);
      assert.equal(options.headers.get('allow'), 'POST, OPTIONS');
      assert.equal(options.headers.get('access-control-allow-origin'), null);
    }
    const big = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&x=${'a'.repeat(2 * 1024 * 1024)}` });
    assert.deepEqual((await oauthError(big, 413, 'oversized body')).error_codes, []);
    const nul = await fetch(`${tokenUrl}?x=%00`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
    assert.match((await oauthError(nul, 400, '%00')).error_description, /U\+0000/);
    // A failure inside the service (the store refuses a refresh token) is Entra-shaped too: server_error, 500.
    const db = new Database(join(server.dataDir, 'coffer.db'));
    db.exec("CREATE TRIGGER refuse_refresh BEFORE INSERT ON refresh_tokens BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    try {
      const failed = await form({ grant_type: 'password', client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', username: 'alice@coffer.local', password: 'Correct horse battery 9', scope: `${server.url}/.default offline_access` });
      assert.equal(failed.status, 500);
      const body = (await failed.json()) as { error: string; error_description: string };
      assert.equal(body.error, 'server_error');
      assert.doesNotMatch(body.error_description, /refused by the test/, 'no internals in the answer');
    } finally {
      db.exec('DROP TRIGGER refuse_refresh');
      db.close();
    }
    // A vault host keeps Key Vault's shape for the same path.
    const onVault = await fetch(`${server.vaultUrl('any')}/t/oauth2/v2.0/token`);
    assert.equal(onVault.status, 404);
    assert.equal(((await onVault.json()) as { error: { code: string } }).error.code, 'NotFound');
  });

  it('malformed client credentials and sign-in parameters are 400s, not 500s', async () => {
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    for (const credentials of ['%E0%A4%A:x', '%00:secret', 'id:se%00cret']) {
      const res = await form({ grant_type: 'client_credentials', scope: `${server.url}/.default` }, { authorization: basic(credentials) });
      assert.equal(res.status, 401, credentials);
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
    }
    const authorize = `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/authorize`;
    const json = await fetch(authorize, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 1, redirect_uri: ['x'] }) });
    assert.equal(json.status, 400);
    const repeated = await fetch(`${authorize}?client_id=a&client_id=b&redirect_uri=http://localhost/`);
    assert.equal(repeated.status, 400);
  });
});
