import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { decodeJwt } from 'jose';
import { api } from './support/access-kit.js';
import { confirmationOf, deviceLoginForm, type FormPost } from './support/device-login.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// /devicelogin names the application that started a device sign-in, and
// approves only when the person confirms on that page (as Entra ID asks "Are
// you trying to sign in to ...?"): someone sent a code by a phisher sees whom
// they would let in before they do.

const CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

describe('/devicelogin confirmation', () => {
  let server: TestServer;
  let post: FormPost;
  before(async () => {
    server = await startTestServer();
    post = deviceLoginForm(server.url);
    for (const name of ['pia', 'max']) {
      const user = { userPrincipalName: `${name}@coffer.local`, displayName: name.toUpperCase(), passwordProfile: { password: `${name.toUpperCase()} password 1` } };
      assert.equal((await api(server, 'POST', '/v1.0/users', user)).status, 201);
    }
  });
  after(() => server?.stop());

  const start = async () => {
    const r = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/devicecode`, { method: 'POST', body: new URLSearchParams({ client_id: CLI, scope: `${server.url}/.default` }) });
    // The device code redeems the sign-in: no cache may keep it (RFC 8628 section 3.2, as RFC 6749's token answer).
    assert.equal(r.headers.get('cache-control'), 'no-store');
    return (await r.json()) as { device_code: string; user_code: string };
  };
  const poll = async (deviceCode: string) => {
    const r = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: CLI, device_code: deviceCode }),
    });
    return (await r.json()) as { error?: string; access_token?: string };
  };

  it('signing in shows the application by name and id and approves nothing; Continue approves', async () => {
    const { device_code, user_code } = await start();
    const signedIn = await post({ code: user_code, username: 'pia@coffer.local', password: 'PIA password 1' });
    assert.equal(signedIn.status, 200);
    assert.match(signedIn.text, /<h1>Are you trying to sign in to Microsoft Azure CLI\?<\/h1>/);
    assert.match(signedIn.text, new RegExp(`<strong>Microsoft Azure CLI</strong> \\(application ID <code>${CLI}</code>\\)`));
    assert.match(signedIn.text, /<a href="\/devicelogin">Cancel<\/a>/);
    assert.equal((await poll(device_code)).error, 'authorization_pending', 'signing in alone approves nothing');

    const confirmed = await post({ code: user_code, confirmation: confirmationOf(signedIn.text)! });
    assert.equal(confirmed.status, 200);
    assert.match(confirmed.text, /PIA, you have signed in to Microsoft Azure CLI on your device/);
    assert.equal(decodeJwt((await poll(device_code)).access_token!).upn, 'pia@coffer.local');
  });

  it('a confirmation counts only for the code and the person it was made for, and only once', async () => {
    const first = await start();
    const second = await start();
    const pia = confirmationOf((await post({ code: first.user_code, username: 'pia@coffer.local', password: 'PIA password 1' })).text)!;
    const max = confirmationOf((await post({ code: first.user_code, username: 'max@coffer.local', password: 'MAX password 1' })).text)!;
    const maxObjectId = max.split('.')[0]!;
    for (const forged of [
      { code: second.user_code, confirmation: pia }, // another sign-in's code
      { code: first.user_code, confirmation: `${maxObjectId}.${pia.split('.')[1]}` }, // Pia's MAC for Max
      { code: first.user_code, confirmation: `${maxObjectId}.` },
      { code: first.user_code, confirmation: '' },
    ]) {
      const refused = await post(forged);
      assert.equal(refused.status, 400, JSON.stringify(forged));
      assert.match(refused.text, /That code is not valid or has expired/);
    }
    assert.equal((await poll(first.device_code)).error, 'authorization_pending');
    assert.equal((await poll(second.device_code)).error, 'authorization_pending');

    // Both signed in with the code; the first to continue is the one the device gets.
    assert.equal((await post({ code: first.user_code, confirmation: max })).status, 200);
    assert.equal((await post({ code: first.user_code, confirmation: pia })).status, 400, 'approved once');
    assert.equal((await post({ code: first.user_code, confirmation: max })).status, 400, 'a confirmation is used once');
    assert.equal(decodeJwt((await poll(first.device_code)).access_token!).upn, 'max@coffer.local');
  });

  it('a wrong password or a code no one started shows no application', async () => {
    const { user_code } = await start();
    const wrong = await post({ code: user_code, username: 'pia@coffer.local', password: 'not the password' });
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(wrong.text, /Azure CLI|confirmation/);
    const unknown = await post({ code: 'BCDFGHJKL', username: 'pia@coffer.local', password: 'PIA password 1' });
    assert.equal(unknown.status, 400);
    assert.doesNotMatch(unknown.text, /Azure CLI|confirmation/);
  });

  it("a registered application's display name is shown as text, never as markup", async () => {
    const name = '<img src=x onerror=alert(1)> "Trusted" & Co';
    const app = (await api(server, 'POST', '/v1.0/applications', { displayName: name })).body!;
    // Only first-party clients start device sign-ins today: the pending sign-in is written as a later coffer could store it.
    const db = new Database(join(server.dataDir, 'coffer.db'));
    db.prepare('INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, source, network, expires_at, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)').run(
      'planted-hash', 'MLKJHGFDC', app.appId, `${server.url}/.default`, '127.0.0.9', '127.0.0', Math.floor(Date.now() / 1000) + 600,
    );
    db.close();
    const signedIn = await post({ code: 'MLKJHGFDC', username: 'pia@coffer.local', password: 'PIA password 1' });
    assert.equal(signedIn.status, 200);
    assert.ok(!signedIn.text.includes('<img'), 'no markup of the name');
    assert.match(signedIn.text, /<strong>&lt;img src=x onerror=alert\(1\)&gt; &quot;Trusted&quot; &amp; Co<\/strong>/);
    assert.match(signedIn.text, new RegExp(`application ID <code>${app.appId}</code>`));
  });
});
