import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authorizedRaw, rawExchange } from './support/raw-http.js';
import { adminToken } from './support/access-kit.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Findings of a hostile-input pass over a running server (session 34): each
// case here was a 500 (or worse) before its fix. The answer is a 4xx in the
// surface's error shape, and the server logs no unhandled error for it.

describe('hostile input against a running server', () => {
  let server: TestServer;
  let sub: string;
  let token: string;
  before(async () => {
    server = await startTestServer();
    sub = server.bootstrap.subscriptionId;
    token = await adminToken(server);
  });
  after(() => server?.stop());

  const raw = authorizedRaw(
    () => server.url,
    () => token,
  );

  it('a provider namespace named after an Object.prototype member is no namespace coffer serves', async () => {
    for (const namespace of ['__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
      const res = await raw('GET', `/subscriptions/${sub}/resourceGroups/rg1/providers/${namespace}/vaults/v1?api-version=2023-07-01`);
      assert.equal(res.status, 404, `${namespace}: ${res.text}`);
      assert.notEqual(res.json?.error?.code, 'InternalServerError');
    }
    // A namespace coffer serves still answers its unknown types as Resource Manager does.
    const unknown = await raw('GET', `/subscriptions/${sub}/resourceGroups/rg1/providers/Microsoft.KeyVault/__proto__/x?api-version=2023-07-01`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json?.error?.code, 'InvalidResourceType');
    assert.doesNotMatch(server.logs(), /unhandled error/);
  });

  it('a body in a transfer coding other than chunked is refused as such, nothing stored, and the connection closes', async () => {
    const vault = 'tecoding';
    await createVault(server, vault);
    const vaultToken = (await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`)).token;
    const host = new URL(server.vaultUrl(vault)).host;
    const body = '{"value":"te-value"}';
    const chunk = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    // Node frames the body by its chunks and would pass the (supposedly gzip) bytes on as JSON.
    const answer = await rawExchange(server.port, host.split(':')[0]!, `PUT /secrets/te?api-version=7.4 HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${vaultToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${chunk}`);
    const [head = '', text = ''] = answer.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 400 /);
    assert.match(head, /\r\nconnection: close/i);
    const error = (JSON.parse(text) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'BadParameter');
    assert.match(error.message, /transfer coding 'gzip' is not supported/);
    await assert.rejects(secretClient(server, vault).getSecret('te'), (err: { statusCode?: number }) => err.statusCode === 404, 'nothing was stored');
    // The token endpoint answers in its own (OAuth) shape.
    const tokenAnswer = await rawExchange(server.port, 'localhost', `POST /${server.bootstrap.tenantId}/oauth2/v2.0/token HTTP/1.1\r\nHost: localhost:${server.port}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: deflate, chunked\r\n\r\n3\r\na=b\r\n0\r\n\r\n`);
    assert.match(tokenAnswer, /^HTTP\/1\.1 400 /);
    assert.equal((JSON.parse(tokenAnswer.split('\r\n\r\n')[1]!) as { error: string }).error, 'invalid_request');
  });

  it("a custom role's assignable scope that is too long is refused as a scope, not as an action string", async () => {
    const path = `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/5d0a1f3e-7b2c-4d8e-9f10-2a3b4c5d6e7f?api-version=2022-04-01`;
    const res = await raw('PUT', path, JSON.stringify({
      properties: { roleName: 'long-scope', permissions: [{ actions: ['Microsoft.KeyVault/vaults/read'] }], assignableScopes: [`/subscriptions/${sub}/resourceGroups/${'g'.repeat(300)}`] },
    }));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json?.error?.code, 'BadRequest');
    assert.equal(res.json?.error?.message, 'properties.assignableScopes must be an array of scopes of 1 to 300 characters.');
  });

  it('CONNECT is answered 405 in the error shape, not by a dropped connection', async () => {
    for (const host of ['localhost', new URL(server.vaultUrl('any')).hostname]) {
      const answer = await rawExchange(server.port, host, `CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`);
      const [head = '', text = ''] = answer.split('\r\n\r\n');
      assert.match(head, /^HTTP\/1\.1 405 /, `${host}: ${JSON.stringify(answer)}`);
      assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'BadParameter');
    }
  });
});
