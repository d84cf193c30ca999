import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credential } from './support/clients.js';
import { rawRequest } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Sign-in lockout through the identity service's forms: per user name (with
// its familiar networks apart) and per client address. The unit cases, over a
// real store, are in sign-in-lockout.test.ts.

describe('sign-in lockout', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  // Sign-in forms posted from a chosen loopback address (the lockouts count by the client's address).
  const post = (path: string, fields: Record<string, string>, localAddress?: string) =>
    rawRequest(`https://127.0.0.1:${server.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(), localAddress });
  const cliClient = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
  const grant = (username: string, password: string, localAddress?: string) =>
    post(`/${server.bootstrap.tenantId}/oauth2/v2.0/token`, { grant_type: 'password', client_id: cliClient, username, password, scope: `${server.url}/.default` }, localAddress);
  const grantCodes = async (username: string, password: string, localAddress?: string) => {
    const res = await grant(username, password, localAddress);
    return res.status === 200 ? 'ok' : (JSON.parse(res.text) as { error_codes: number[] }).error_codes;
  };
  async function newUser(name: string, password: string): Promise<void> {
    const admin = (await credential(server).getToken(`${server.url}/.default`)).token;
    const user = { userPrincipalName: name, displayName: name, passwordProfile: { password } };
    assert.equal((await fetch(`${server.url}/v1.0/users`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(user) })).status, 201);
  }

  it('ten wrong passwords lock the user name for a minute, even against the right one', async () => {
    await newUser('carol@coffer.local', 'Carol password 123');
    assert.equal(await grantCodes('carol@coffer.local', 'Carol password 123'), 'ok');
    for (let i = 0; i < 10; i++) assert.deepEqual(await grantCodes('carol@coffer.local', `guess ${i}`), [50126]);
    const locked = await grant('carol@coffer.local', 'Carol password 123');
    assert.equal(locked.status, 400);
    assert.deepEqual((JSON.parse(locked.text) as { error_codes: number[] }).error_codes, [50053]);
    const page = await post('/devicelogin', { code: 'BCDFGHJKL', username: 'carol@coffer.local', password: 'Carol password 123' });
    assert.equal(page.status, 401);
    assert.match(page.text, /AADSTS50053/);
  });

  it("guesses from where a user never signed in lock the name there only: the user still signs in from a network it signed in from (smart lockout's familiar locations)", async () => {
    await newUser('gil@coffer.local', 'Gil password 123');
    assert.equal(await grantCodes('gil@coffer.local', 'Gil password 123', '127.0.0.1'), 'ok');
    // From another /24, ten guesses lock the name for every network but the familiar one.
    for (let i = 0; i < 10; i++) assert.deepEqual(await grantCodes('gil@coffer.local', `guess ${i}`, '127.0.3.1'), [50126]);
    assert.deepEqual(await grantCodes('gil@coffer.local', 'Gil password 123', '127.0.3.1'), [50053]);
    assert.deepEqual(await grantCodes('gil@coffer.local', 'Gil password 123', '127.0.4.1'), [50053]);
    assert.equal(await grantCodes('gil@coffer.local', 'Gil password 123', '127.0.0.9'), 'ok', 'its own /24 signs in');
  });

  it('thirty wrong passwords from one address, over as many names, lock that address on every sign-in form; others still sign in', async () => {
    // From 127.0.0.2, so that the rest of this file's sign-ins (from 127.0.0.1) are not locked out.
    const from = '127.0.0.2';
    const scope = `${server.url}/.default`;
    await newUser('erin@coffer.local', 'Erin password 123');

    // A spray: one password against thirty names, none of which reaches its own lockout.
    for (let i = 0; i < 30; i++) assert.deepEqual(await grantCodes(`spray${i}@coffer.local`, 'Winter2026!', from), [50126], `attempt ${i}`);
    const locked = await grant('erin@coffer.local', 'Erin password 123', from);
    assert.equal(locked.status, 400);
    const body = JSON.parse(locked.text) as { error: string; error_codes: number[]; error_description: string };
    assert.equal(body.error, 'invalid_grant');
    assert.deepEqual(body.error_codes, [50053]);
    assert.match(body.error_description, /^AADSTS50053: Sign-in was blocked because it came from an IP address/);

    const device = await post('/devicelogin', { code: 'BCDFGHJKL', username: 'erin@coffer.local', password: 'Erin password 123' }, from);
    assert.equal(device.status, 401);
    assert.match(device.text, /AADSTS50053: Sign-in was blocked because it came from an IP address/);
    const pkce = { client_id: cliClient, response_type: 'code', redirect_uri: 'http://127.0.0.1:9999/cb', scope, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    const authorize = await post(`/${server.bootstrap.tenantId}/oauth2/v2.0/authorize`, { ...pkce, username: 'erin@coffer.local', password: 'Erin password 123' }, from);
    assert.equal(authorize.status, 401);
    assert.match(authorize.text, /AADSTS50053: Sign-in was blocked because it came from an IP address/);

    // Another address is not affected, and its success does not unlock the first.
    assert.equal(await grantCodes('erin@coffer.local', 'Erin password 123'), 'ok');
    assert.deepEqual(await grantCodes('erin@coffer.local', 'Erin password 123', from), [50053]);
  });
});
