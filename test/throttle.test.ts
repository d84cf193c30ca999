import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createThrottle } from '../src/server/throttle.js';
import { assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { createVault, credential } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Throttling keeps a caller's own allowance apart from the vault's shared one,
// so that requests refused for want of rights use up no one else's.

describe('throttle allowances', () => {
  const limits = { windowSeconds: 10, secretCreates: 2, other: 3 };
  const statusOf = (run: () => void) => {
    try {
      run();
      return 200;
    } catch (err) {
      return (err as { status: number }).status;
    }
  };

  it("counts a caller's requests apart from other callers', and the vault's apart from both", () => {
    const t = createThrottle(limits);
    assert.deepEqual([0, 1, 2, 3].map((i) => statusOf(() => t.admitCaller('v', 'a', false, i))), [200, 200, 200, 429]);
    assert.equal(statusOf(() => t.admitCaller('v', 'b', false, 4)), 200, "another caller's allowance is its own");
    assert.equal(statusOf(() => t.admitCaller('w', 'a', false, 4)), 200, 'and so is the same caller at another vault');
    assert.deepEqual([0, 1, 2].map((i) => statusOf(() => t.admitVault('v', true, i))), [200, 200, 429], 'creates apart from the rest');
    assert.equal(statusOf(() => t.admitVault('v', false, 3)), 200);
    assert.equal(statusOf(() => t.admitCaller('v', 'a', false, 10_000)), 200, 'a new window');
  });

  it('drops ended windows once many are held', () => {
    const t = createThrottle(limits);
    for (let i = 0; i < 10_000; i++) t.admitCaller('v', `caller-${i}`, false, 0);
    assert.equal(t.size(), 10_000);
    t.admitCaller('v', 'late', false, 10_000);
    assert.equal(t.size(), 1);
  });
});

describe('throttling a principal without rights', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ throttle: true, args: ['--throttle-window-seconds', '60', '--throttle-other', '20'] });
    await createVault(server, 'quota-vault', { enableRbacAuthorization: true });
  });
  after(() => server?.stop());

  it("cannot use up the vault's allowance: its refused requests count against its own", async () => {
    const vaultId = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/quota-vault`;
    const stranger = await newServicePrincipal(server, 'quota-stranger');
    const reader = await newServicePrincipal(server, 'quota-reader');
    await assignRole(server, vaultId, ROLE_IDS['Key Vault Secrets User'], reader.id);
    const scope = `https://${server.bootstrap.vaultDnsSuffix}:${server.port}/.default`;
    const get = async (token: string) => (await fetch(`${server.vaultUrl('quota-vault')}/secrets/anything?api-version=7.6`, { headers: { authorization: `Bearer ${token}` } })).status;

    const strangerToken = (await credential(server, stranger.appId, stranger.secret).getToken(scope)).token;
    const refused = [];
    for (let i = 0; i < 25; i++) refused.push(await get(strangerToken));
    assert.deepEqual(refused, [...Array(20).fill(403), ...Array(5).fill(429)]);
    // The vault's allowance is untouched: a caller with rights gets all of it (404: no such secret, but authorized).
    const readerToken = (await credential(server, reader.appId, reader.secret).getToken(scope)).token;
    const allowed = [];
    for (let i = 0; i < 21; i++) allowed.push(await get(readerToken));
    assert.deepEqual(allowed, [...Array(20).fill(404), 429]);
  });
});
