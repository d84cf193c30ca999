import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAnonymousAuditLimit } from '../src/audit/anonymous-audit-limit.js';
import { createVault, secretClient } from './support/clients.js';
import { auditRecords } from './support/audit-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Refusals without a valid token are free to send: past a network's share
// they are counted into one summary record instead of one record each.

describe('anonymous audit limit (unit)', () => {
  it('records the first N per network and window, counts the rest, and summarises them when the window ends', () => {
    const limit = createAnonymousAuditLimit({ perNetwork: 3, windowSeconds: 60 });
    const t0 = Date.parse('2026-12-03T18:00:00Z');
    const admitted = Array.from({ length: 10 }, (_, i) => limit.admit('203.0.113.0/24', 401, t0 + i));
    assert.deepEqual(admitted, [true, true, true, false, false, false, false, false, false, false]);
    assert.equal(limit.admit('198.51.100.0/24', 401, t0 + 20), true, 'another network has its own share');
    assert.deepEqual(limit.drain(false, t0 + 30_000), [], 'nothing while the window runs');
    const [summary, ...rest] = limit.drain(false, t0 + 60_000);
    assert.equal(rest.length, 0, 'a network without suppressed requests needs no summary');
    assert.equal(summary!.event.operationName, 'AnonymousRequestsNotRecorded');
    assert.equal(summary!.event.callerIpAddress, '203.0.113.0/24');
    assert.match(summary!.event.resultDescription!, /^7 refused requests without a valid token from 203\.0\.113\.0\/24 between 2026-12-03T18:00:00\.000Z and 2026-12-03T18:00:00\.009Z/);
    assert.equal(limit.admit('203.0.113.0/24', 401, t0 + 61_000), true, 'a new window records again');
  });

  it('a window that ends at its next request is summarised at the next drain; 0 records everything', () => {
    const limit = createAnonymousAuditLimit({ perNetwork: 1, windowSeconds: 10 });
    limit.admit('n', 401, 0);
    limit.admit('n', 401, 1);
    assert.equal(limit.admit('n', 404, 10_000), true);
    assert.equal(limit.drain(false, 10_001).length, 1);
    const all = createAnonymousAuditLimit({ perNetwork: 0, windowSeconds: 10 });
    assert.ok(Array.from({ length: 1000 }, () => all.admit('n', 401)).every(Boolean));
    assert.deepEqual(all.drain(true), []);
  });
});

describe('anonymous audit limit (server)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ args: ['--audit-anonymous-per-network', '5'] });
    await createVault(server, 'anon-vault');
  });
  after(() => server?.stop());

  it('records 5 anonymous refusals one by one and the other 15 in one summary written at shutdown; signed-in refusals are all recorded', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await fetch(`${server.vaultUrl('anon-vault')}/secrets/s${i}?api-version=7.6`)).status, 401);
    const one = (await auditRecords(server, 'vault=anon-vault')).filter((r) => r.properties.httpStatusCode === 401);
    assert.equal(one.length, 5);
    await server.restart();
    const [summary, ...more] = await auditRecords(server, 'operation=AnonymousRequestsNotRecorded');
    assert.equal(more.length, 0);
    assert.match(summary!.resultDescription, /^15 refused requests without a valid token from 127\.0\.0\.0\/24 /);
    assert.equal(summary!.properties.httpStatusCode, 401);
    // Signed in, every refusal has its record (the SDK's first, anonymous, challenge request is one of the network's 5).
    const client = secretClient(server, 'anon-vault');
    for (let i = 0; i < 10; i++) await assert.rejects(client.getSecret(`missing-${i}`), { statusCode: 404 });
    assert.equal((await auditRecords(server, 'vault=anon-vault')).filter((r) => r.properties.httpStatusCode === 404).length, 10);
  });
});
