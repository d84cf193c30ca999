import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { decodeJwt } from 'jose';
import { api } from './support/access-kit.js';
import { approveDeviceSignIn, deviceLoginForm } from './support/device-login.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Attacks on the identity service found to work in session 36, each against a
// real server as an attacker would run it, and kept here so they stay closed.

const CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
const PORTAL = 'c0ffee00-0000-4000-8000-0000000000c2';
const DAY = 24 * 3600;

describe('identity service under attack', () => {
  let server: TestServer;
  const post = (path: string, fields: Record<string, string>) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  const token = (fields: Record<string, string>) => post(`/${server.bootstrap.tenantId}/oauth2/v2.0/token`, fields);

  before(async () => {
    server = await startTestServer();
    for (const [name, password] of [
      ['victim', 'Victim password 123'],
      ['mallory', 'Mallory password 123'],
    ]) {
      const user = { userPrincipalName: `${name}@coffer.local`, displayName: name, passwordProfile: { password } };
      assert.equal((await api(server, 'POST', '/v1.0/users', user)).status, 201);
    }
  });
  after(() => server?.stop());

  it('a device sign-in approved once cannot be approved again by someone else who saw its code', async () => {
    const start = (await (await post(`/${server.bootstrap.tenantId}/oauth2/v2.0/devicecode`, { client_id: CLI, scope: `${server.url}/.default` })).json()) as { device_code: string; user_code: string };
    const approve = (username: string, password: string) => approveDeviceSignIn(deviceLoginForm(server.url), start.user_code, username, password);
    assert.equal((await approve('victim@coffer.local', 'Victim password 123')).status, 200);
    // Mallory read the code over the victim's shoulder (or in a shared terminal's log) and enters it after them.
    const second = await approve('mallory@coffer.local', 'Mallory password 123');
    assert.equal(second.status, 400);
    assert.match(second.text, /That code is not valid or has expired/);
    const polled = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: CLI, device_code: start.device_code });
    assert.equal(polled.status, 200);
    const { access_token } = (await polled.json()) as { access_token: string };
    assert.equal(decodeJwt(access_token).upn, 'victim@coffer.local', "the device is signed in as the one who approved it first, never as the later approver");
  });

  it('a Basic header and a body that name different clients or secrets are refused, not settled for the header', async () => {
    const { clientId, clientSecret } = server.bootstrap;
    const scope = `${server.url}/.default`;
    const other = (await api(server, 'POST', '/v1.0/servicePrincipals', { displayName: 'other-app' })).body!;
    const basic = { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` };
    const send = (fields: Record<string, string>) =>
      fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic }, body: new URLSearchParams(fields).toString() });
    // What a proxy reading the body takes for the other application would be answered with the administrator's token.
    for (const fields of <Array<Record<string, string>>>[{ client_id: other.appId as string }, { client_secret: 'not the header one' }, { client_id: clientId, client_secret: other.passwordCredentials[0].secretText as string }]) {
      const res = await send({ grant_type: 'client_credentials', scope, ...fields });
      assert.equal(res.status, 400, `${JSON.stringify(fields)} ${await res.clone().text()}`);
      const body = (await res.json()) as { error: string; error_description: string };
      assert.equal(body.error, 'invalid_request');
      assert.match(body.error_description, /Basic authorization header and another/);
    }
    // The same client (in any case) and secret in both are one authentication.
    for (const fields of <Array<Record<string, string>>>[{}, { client_id: clientId.toUpperCase() }, { client_id: clientId, client_secret: clientSecret }]) {
      const res = await send({ grant_type: 'client_credentials', scope, ...fields });
      assert.equal(res.status, 200, JSON.stringify(fields));
    }
  });

  it("the portal's refresh tokens (a single-page app's) live a day from the sign-in, and refreshing does not extend it (AADSTS700084)", async () => {
    // A refresh token in browser storage: a script injected into the page, or the next user of the browser, takes it.
    const verifier = randomBytes(32).toString('base64url');
    const redirect = `${server.url}/portal/auth-callback`;
    const scope = `${server.url}/.default openid offline_access`;
    const signIn = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: PORTAL, response_type: 'code', redirect_uri: redirect, scope, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', username: 'victim@coffer.local', password: 'Victim password 123' }),
    });
    assert.equal(signIn.status, 302);
    const code = new URL(signIn.headers.get('location')!).searchParams.get('code')!;
    const redeemed = await token({ grant_type: 'authorization_code', client_id: PORTAL, code, redirect_uri: redirect, code_verifier: verifier });
    assert.equal(redeemed.status, 200);
    const first = ((await redeemed.json()) as { refresh_token: string }).refresh_token;
    const db = new Database(join(server.dataDir, 'coffer.db'));
    try {
      const newest = () => db.prepare<[], { expires_at: number }>('SELECT expires_at FROM refresh_tokens ORDER BY rowid DESC LIMIT 1').get()!.expires_at;
      const issuedAt = Math.floor(Date.now() / 1000);
      const expiry = newest();
      assert.ok(Math.abs(expiry - (issuedAt + DAY)) <= 60, `a day from the sign-in, not ${expiry - issuedAt} s`);
      const refreshed = await token({ grant_type: 'refresh_token', client_id: PORTAL, refresh_token: first, scope });
      assert.equal(refreshed.status, 200);
      const second = ((await refreshed.json()) as { refresh_token: string }).refresh_token;
      assert.equal(newest(), expiry, "a refresh carries the sign-in's expiry over");
      // A day later (the row's expiry moved back, as the clock cannot be).
      db.prepare('UPDATE refresh_tokens SET expires_at = expires_at - ? WHERE used_at IS NULL').run(DAY + 1);
      const late = await token({ grant_type: 'refresh_token', client_id: PORTAL, refresh_token: second, scope });
      assert.equal(late.status, 400);
      const body = (await late.json()) as { error: string; error_codes: number[]; error_description: string };
      assert.deepEqual([body.error, body.error_codes], ['invalid_grant', [700084]]);
      assert.match(body.error_description, /^AADSTS700084: The refresh token was issued to a single page app \(SPA\), and therefore has a fixed, limited lifetime of 1\.00:00:00/);
      // Other clients' tokens keep Entra ID's 90 days, renewed by each refresh.
      const cli = await token({ grant_type: 'password', client_id: CLI, username: 'victim@coffer.local', password: 'Victim password 123', scope });
      assert.equal(cli.status, 200);
      assert.ok(newest() - Math.floor(Date.now() / 1000) > 89 * DAY);
    } finally {
      db.close();
    }
  });
});
