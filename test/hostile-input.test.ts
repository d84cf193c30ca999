import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from './support/raw-http.js';
import { adminToken } from './support/access-kit.js';
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

  const raw = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await rawRequest(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body });
    return { status: res.status, text: res.text, json: res.text ? (JSON.parse(res.text) as { error?: { code: string; message: string } }) : null };
  };

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
});
