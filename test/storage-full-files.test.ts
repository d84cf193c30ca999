import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { adminToken } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The audit file copy on a full disk: /dev/full takes the open and fails every
// write with ENOSPC. Requests are refused (fail-closed) with Azure's 503, the
// server stays up, /healthz says the storage takes no writes, the log says why.

describe('the audit file copy on a full disk', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ args: ['--audit-file', '/dev/full'] });
  });
  after(() => server?.stop());

  it('refuses audited requests with 503 and Retry-After, stays up, and /healthz and the log say why', async () => {
    const res = await fetch(`${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-none/providers/Microsoft.KeyVault/vaults/none?api-version=2023-07-01`, {
      headers: { authorization: `Bearer ${await adminToken(server)}` },
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ServiceUnavailable');
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: 'degraded', audit: { healthy: false }, storage: { writable: false } });
    assert.match(server.logs(), /"err":"ENOSPC: no space left on device, write","msg":"audit write failed; request refused"/);
    assert.equal(server.exitCode(), null);
  });
});
