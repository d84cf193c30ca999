import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { api } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { codeFlow } from './support/sign-in-flows.js';

// What clients send that Entra ID reads one way and coffer read another
// (found by a fuzzing helper): client ids and tenant aliases in another
// case, the Basic scheme in lower case, a public client sending a secret, a
// v2 sign-in that did not ask for offline_access, a form to a path that is
// not one of the endpoints.

const CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

describe('token endpoint: what clients send', () => {
  let server: TestServer;
  const upn = 'quinn@coffer.local';
  const password = 'Quinn password 1';

  before(async () => {
    server = await startTestServer();
    assert.equal((await api(server, 'POST', '/v1.0/users', { userPrincipalName: upn, displayName: 'Quinn', passwordProfile: { password } })).status, 201);
  });
  after(() => server?.stop());

  const post = async (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) => {
    const r = await fetch(`${server.url}${path}`, { method: 'POST', headers, body: new URLSearchParams(fields) });
    const text = await r.text();
    return { status: r.status, body: JSON.parse(text) as { refresh_token?: string; access_token?: string; error?: string; error_codes?: number[]; error_description?: string } };
  };
  const token = (fields: Record<string, string>, headers?: Record<string, string>, tenant = server.bootstrap.tenantId) => post(`/${tenant}/oauth2/v2.0/token`, fields, headers);
  const signIn = (extra: Record<string, string> = {}) => token({ grant_type: 'password', client_id: CLI, username: upn, password, scope: `${server.url}/.default offline_access`, ...extra });

  it('a client id is a GUID in any case: a sign-in refreshes, and a code redeems, whichever case the client spells it in', async () => {
    const upper = await signIn({ client_id: CLI.toUpperCase() });
    assert.equal(upper.status, 200);
    assert.equal(decodeJwt(upper.body.access_token!).appid, CLI);
    const lower = await token({ grant_type: 'refresh_token', client_id: CLI, refresh_token: upper.body.refresh_token! });
    assert.equal(lower.status, 200, JSON.stringify(lower.body));
    assert.equal((await token({ grant_type: 'refresh_token', client_id: CLI.toUpperCase(), refresh_token: lower.body.refresh_token! })).status, 200);

    const flow = codeFlow(server, CLI.toUpperCase());
    const redeemed = await token(flow.fields(await flow.code({ upn, password }), CLI));
    assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
  });

  it("the tenant aliases 'common' and 'organizations' in any case, as the authorize page takes them", async () => {
    for (const tenant of ['Common', 'ORGANIZATIONS']) {
      const answer = await token({ grant_type: 'password', client_id: CLI, username: upn, password, scope: `${server.url}/.default` }, {}, tenant);
      assert.equal(answer.status, 200, `${tenant}: ${JSON.stringify(answer.body)}`);
      const discovery = await fetch(`${server.url}/${tenant}/v2.0/.well-known/openid-configuration`);
      assert.equal(discovery.status, 200, tenant);
    }
  });

  it('the Basic scheme in any case (RFC 7235)', async () => {
    const { clientId, clientSecret } = server.bootstrap;
    for (const scheme of ['basic', 'BASIC']) {
      const answer = await token({ grant_type: 'client_credentials', scope: `${server.url}/.default` }, { authorization: `${scheme} ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` });
      assert.equal(answer.status, 200, `${scheme}: ${JSON.stringify(answer.body)}`);
    }
  });

  it("a public client that sends a secret or an assertion is refused, as Entra ID refuses it (AADSTS700025)", async () => {
    for (const extra of [{ client_secret: 'anything' }, { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'a.b.c' }] as Array<Record<string, string>>) {
      const answer = await signIn(extra);
      assert.equal(answer.status, 401, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'invalid_client');
      assert.deepEqual(answer.body.error_codes, [700025]);
      assert.match(answer.body.error_description!, /^AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented\./);
    }
    // Also where a code is redeemed: the code flow and device sign-ins are public clients' only.
    const flow = codeFlow(server, CLI);
    const code = await flow.code({ upn, password });
    const withSecret = await token({ ...flow.fields(code), client_secret: 'anything' });
    assert.deepEqual([withSecret.status, withSecret.body.error_codes], [401, [700025]]);
    const device = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: CLI, device_code: 'any', client_secret: 'anything' });
    assert.deepEqual([device.status, device.body.error_codes], [401, [700025]]);
  });

  it('v2 gives a refresh token only to a sign-in that asks for offline_access; v1 always does', async () => {
    const without = await signIn({ scope: `${server.url}/.default` });
    assert.equal(without.status, 200);
    assert.ok(without.body.access_token);
    assert.equal(without.body.refresh_token, undefined);
    const withIt = await signIn();
    assert.ok(withIt.body.refresh_token);
    // A refresh continues a sign-in that asked for one, whatever this request's scope says.
    const renewed = await token({ grant_type: 'refresh_token', client_id: CLI, refresh_token: withIt.body.refresh_token!, scope: `${server.url}/.default` });
    assert.ok(renewed.body.refresh_token);
    const v1 = await post(`/${server.bootstrap.tenantId}/oauth2/token`, { grant_type: 'password', client_id: CLI, username: upn, password, resource: server.url });
    assert.equal(v1.status, 200);
    assert.ok(v1.body.refresh_token);
  });

  it('a form posted to a path no endpoint has is answered 404, not as a content type the path does not read', async () => {
    for (const path of [`/${server.bootstrap.tenantId}/oauth2/devicecode`, `/${server.bootstrap.tenantId}/oauth2/v9.0/token`]) {
      const r = await fetch(`${server.url}${path}`, { method: 'POST', body: new URLSearchParams({ client_id: CLI, resource: server.url }) });
      assert.equal(r.status, 404, `${path}: ${await r.text()}`);
    }
  });
});
