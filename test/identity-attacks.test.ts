import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { api } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Attacks on the identity service found to work in session 36, each against a
// real server as an attacker would run it, and kept here so they stay closed.

const CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

describe('identity service under attack', () => {
  let server: TestServer;
  const post = (path: string, fields: Record<string, string>) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  const token = (fields: Record<string, string>) => post(`/${server.bootstrap.tenantId}/oauth2/v2.0/token`, fields);

  before(async () => {
    server = await startTestServer();
    for (const [name, password] of [
      ['victim', 'victim password 123'],
      ['mallory', 'mallory password 123'],
    ]) {
      const user = { userPrincipalName: `${name}@coffer.local`, displayName: name, passwordProfile: { password } };
      assert.equal((await api(server, 'POST', '/v1.0/users', user)).status, 201);
    }
  });
  after(() => server?.stop());

  it('a device sign-in approved once cannot be approved again by someone else who saw its code', async () => {
    const start = (await (await post(`/${server.bootstrap.tenantId}/oauth2/v2.0/devicecode`, { client_id: CLI, scope: `${server.url}/.default` })).json()) as { device_code: string; user_code: string };
    const approve = (username: string, password: string) => post('/devicelogin', { code: start.user_code, username, password });
    assert.equal((await approve('victim@coffer.local', 'victim password 123')).status, 200);
    // Mallory read the code over the victim's shoulder (or in a shared terminal's log) and enters it after them.
    const second = await approve('mallory@coffer.local', 'mallory password 123');
    assert.equal(second.status, 400);
    assert.match(await second.text(), /That code is not valid or has expired/);
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
});
