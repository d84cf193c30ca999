import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAnonymousAuditLimit } from '../src/audit/anonymous-audit-limit.js';
import { createThrottledAuditLimit, throttledKey } from '../src/audit/throttled-audit-limit.js';
import { auditRecords, vaultToken } from './support/audit-kit.js';
import { createVault } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Throttled refusals cost a signed-in caller nothing once past its allowance:
// past its share at a vault they are counted into one summary record instead
// of one record each. Anonymous refusals are also held to a share over all
// networks, which an attacker with many networks cannot go past.

const caller = { oid: 'oid-1', upn: 'ana@coffer.local', appid: 'app-1' };

describe('throttled audit limit (unit)', () => {
  it('records the first N per caller and vault, summarises the rest with the caller, and keeps other callers and vaults apart', () => {
    const limit = createThrottledAuditLimit({ perCaller: 2, windowSeconds: 60 });
    const t0 = Date.parse('2026-12-07T18:00:00Z');
    const key = throttledKey('v1', 'tenant', 'oid-1');
    const admitted = Array.from({ length: 6 }, (_, i) => limit.admit(key, 429, t0 + i, caller, '192.0.2.7'));
    assert.deepEqual(admitted, [true, true, false, false, false, false]);
    assert.equal(limit.admit(throttledKey('v2', 'tenant', 'oid-1'), 429, t0 + 10, caller, '192.0.2.7'), true, 'another vault has its own share');
    assert.equal(limit.admit(throttledKey('v1', 'tenant', 'oid-2'), 429, t0 + 10, null, '192.0.2.8'), true, 'another caller has its own share');
    const [summary, ...rest] = limit.drain(false, t0 + 60_000);
    assert.equal(rest.length, 0);
    assert.equal(summary!.vault, 'v1');
    assert.equal(summary!.principal, 'oid-1');
    assert.equal(summary!.event.operationName, 'ThrottledRequestsNotRecorded');
    assert.deepEqual(summary!.event.identity.claim, caller);
    assert.equal(summary!.event.callerIpAddress, '192.0.2.7');
    assert.equal(summary!.event.properties.httpStatusCode, 429);
    assert.match(summary!.event.resultDescription!, /^4 requests of ana@coffer\.local at vault v1 refused as throttled between 2026-12-07T18:00:00\.000Z and 2026-12-07T18:00:00\.005Z were not recorded one by one/);
  });

  it('records at most ten shares in all per window, whoever sends them', () => {
    const limit = createThrottledAuditLimit({ perCaller: 3, windowSeconds: 60 });
    let recorded = 0;
    for (let c = 0; c < 20; c++) for (let i = 0; i < 3; i++) if (limit.admit(throttledKey('v', 't', `oid-${c}`), 429, 1000 + c, caller, '')) recorded++;
    assert.equal(recorded, 30);
    // The next window starts afresh.
    assert.equal(limit.admit(throttledKey('v', 't', 'oid-19'), 429, 61_001, caller, ''), true);
    const summaries = limit.drain(true, 61_002);
    assert.equal(summaries.reduce((n, s) => n + Number(/^(\d+) /.exec(s.event.resultDescription!)![1]), 0), 30, 'every refusal left out is counted');
  });

  it('anonymous refusals from many networks: at most ten networks’ shares are recorded one by one', () => {
    const limit = createAnonymousAuditLimit({ perNetwork: 2, windowSeconds: 60 });
    let recorded = 0;
    for (let n = 0; n < 50; n++) for (let i = 0; i < 2; i++) if (limit.admit(`2001:db8:${n}::/48`, 401, 5000 + n)) recorded++;
    assert.equal(recorded, 20);
    assert.equal(limit.drain(true).length, 40, 'one summary for each network left out');
  });
});

describe('throttled audit limit (server)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ throttle: true, args: ['--throttle-window-seconds', '600', '--throttle-other', '3', '--audit-throttled-per-caller', '2'] });
    await createVault(server, 'busy-vault');
  });
  after(() => server?.stop());

  it('records 2 throttled refusals one by one and the other 5 in one summary written at shutdown', async () => {
    const token = await vaultToken(server, server.bootstrap.clientId, server.bootstrap.clientSecret);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${server.vaultUrl('busy-vault')}/secrets/s${i}?api-version=7.6`, { headers: { authorization: `Bearer ${token}` } });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [404, 404, 404, 429, 429, 429, 429, 429, 429, 429]);
    const records = await auditRecords(server, 'vault=busy-vault');
    assert.equal(records.filter((r) => r.properties.httpStatusCode === 429).length, 2);
    assert.equal(records.filter((r) => r.properties.httpStatusCode === 404).length, 3);
    await server.restart();
    const [summary, ...more] = await auditRecords(server, 'operation=ThrottledRequestsNotRecorded');
    assert.equal(more.length, 0);
    assert.match(summary!.resultDescription, /^5 requests of \S+ at vault busy-vault refused as throttled /);
    assert.equal(summary!.identity.claim.oid, server.bootstrap.objectId);
    assert.equal(summary!.identity.claim.appid, server.bootstrap.clientId);
    assert.equal(summary!.properties.httpStatusCode, 429);
  });
});
