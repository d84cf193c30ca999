import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { api } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The token endpoint as each of Entra ID's endpoints answers: v2's refusals
// of what only v1 takes, v1's own body, and tenants that name none.

describe('token endpoints: v1, v2 and tenants', () => {
  let server: TestServer;
  let tokenUrl: string;
  before(async () => {
    server = await startTestServer();
    tokenUrl = `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`;
    const user = await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'vera@coffer.local', displayName: 'Vera', passwordProfile: { password: 'V1 user password' } });
    assert.equal(user.status, 201);
  });
  after(() => server?.stop());

  const form = (fields: Record<string, string>) =>
    fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

  it('an unknown tenant: AADSTS90002, invalid_request on the token endpoint and invalid_tenant on discovery', async () => {
    const res = await fetch(`${server.url}/deadbeef-0000-4000-8000-000000000000/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string; error_codes: number[] };
    assert.deepEqual([body.error, body.error_codes], ['invalid_request', [90002]]);
    const doc = await fetch(`${server.url}/deadbeef-0000-4000-8000-000000000000/v2.0/.well-known/openid-configuration`);
    assert.equal(doc.status, 400);
    assert.equal(((await doc.json()) as { error: string }).error, 'invalid_tenant');
  });

  it('a form body that is not UTF-8, or compressed, is an OAuth invalid_request', async () => {
    for (const [headers, body] of [
      [{}, Buffer.concat([Buffer.from('grant_type=client_credentials&client_secret='), Buffer.from([0xff, 0xfe])])],
      // The same bytes percent-encoded: read as U+FFFD, %FF and %FE would be one and the same secret.
      [{}, Buffer.from('grant_type=client_credentials&client_secret=%FF%FE')],
      [{}, Buffer.from('grant_type=client_credentials&client_secret=%E2%82')],
      [{ 'content-encoding': 'gzip' }, Buffer.from('grant_type=client_credentials')],
      [{ 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' }, Buffer.from('grant_type=client_credentials')],
    ] as const) {
      const res = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
      assert.equal(res.status, 400);
      const answer = (await res.json()) as { error: string; error_description: string };
      assert.equal(answer.error, 'invalid_request');
      assert.match(answer.error_description, /not valid UTF-8|content encoding 'gzip'|The form is not in UTF-8/);
    }
    // UTF-8 percent-encoded is read as it should be (here: an unknown client named with a euro sign).
    const euro = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=%E2%82%AC&client_secret=x&scope=x%2F.default' });
    assert.equal(euro.status, 400);
    assert.notEqual(((await euro.json()) as { error: string }).error, 'invalid_request');
  });

  it('a client assertion that names no client is refused as such (AADSTS700021), not as a missing secret', async () => {
    const res = await form({ grant_type: 'client_credentials', client_id: server.bootstrap.clientId, scope: `${server.url}/.default`, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'eyJhbGciOiJSUzI1NiJ9.e30.sig' });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_client');
    assert.match(body.error_description, /^AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter/);
  });

  it('v2 as Entra ID: an app asks for `<resource>/.default` (AADSTS1002012), never with `resource` (AADSTS901002), and in its own tenant (AADSTS50059)', async () => {
    const { clientId, clientSecret, tenantId } = server.bootstrap;
    const app = { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret };
    const refused = async (res: Response, error: string, code: number) => {
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: string; error_codes: number[] };
      assert.deepEqual([body.error, body.error_codes], [error, [code]]);
    };
    for (const scope of [`${server.url}/user_impersonation`, 'openid', `${server.url}/.default ${server.url}/.default`]) {
      await refused(await form({ ...app, scope }), 'invalid_scope', 1002012);
    }
    await refused(await form({ ...app, resource: server.url }), 'invalid_request', 901002);
    await refused(await form({ ...app, scope: `${server.url}/.default`, resource: server.url }), 'invalid_request', 901002);
    for (const tenant of ['common', 'organizations']) {
      const url = tokenUrl.replace(`/${tenantId}/`, `/${tenant}/`);
      await refused(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...app, scope: `${server.url}/.default` }).toString() }), 'invalid_request', 50059);
    }
  });

  it('v1 (/oauth2/token) answers with the v1 body: numbers as strings, expires_on, not_before and resource', async () => {
    const { clientId, clientSecret, tenantId } = server.bootstrap;
    const res = await fetch(`${server.url}/${tenantId}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, resource: server.url }).toString(),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['token_type', 'expires_in', 'ext_expires_in', 'expires_on', 'not_before', 'resource', 'access_token']);
    const claims = decodeJwt(body.access_token as string);
    assert.equal(body.resource, server.url);
    assert.equal(body.expires_on, String(claims.exp));
    assert.equal(body.not_before, String(claims.nbf));
    assert.equal(body.expires_in, String(claims.exp! - claims.nbf!));
    assert.equal(body.ext_expires_in, body.expires_in);

    const user = await fetch(`${server.url}/${tenantId}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', username: 'vera@coffer.local', password: 'V1 user password', resource: server.url }).toString(),
    });
    const userBody = (await user.json()) as Record<string, unknown>;
    assert.equal(user.status, 200, JSON.stringify(userBody));
    assert.equal(userBody.scope, 'user_impersonation');
    assert.equal(typeof userBody.refresh_token, 'string');
    assert.equal(typeof userBody.expires_in, 'string');
  });
});
