import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newServicePrincipal, setPolicy } from './support/access-kit.js';
import { createVault } from './support/clients.js';
import { rawRequest } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The data plane reads a vault's row, then checks the caller's token, then
// checks the row's seal. A change of the vault's access policies stored while
// a new token was being checked (a few milliseconds) replaced the row and its
// seal: the row read was refused as put back outside coffer, a 500 with a
// false tamper alarm in the log (a soak probe: 17 of 8,137 reads in 60 s
// while policies were added and removed; none since). The race needs
// uncached tokens and concurrent changes, so this case is a short run of both:
// without the fix it met the race in most runs of this length, not every one.

const RUN_MS = 12_000;

describe('a vault changed while its readers are authenticated', () => {
  let server: TestServer;
  const vault = 'race-vault';
  let vaultId: string;
  before(async () => {
    server = await startTestServer();
    await createVault(server, vault);
    vaultId = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/${vault}`;
    const token = await freshToken();
    assert.equal((await rawRequest(`${server.vaultUrl(vault)}/secrets/seed?api-version=7.6`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"value":"v"}' })).status, 200);
  });
  after(() => server?.stop());

  /** A token no server cache has seen: its check takes the whole verification. */
  async function freshToken(): Promise<string> {
    const res = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: server.bootstrap.clientId, client_secret: server.bootstrap.clientSecret, scope: `https://${server.bootstrap.vaultDnsSuffix}:${server.port}/.default` }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }

  it('reads are answered from the vault as it stands, never refused as tampered', async () => {
    const spare = await newServicePrincipal(server, 'race-spare');
    const stopAt = Date.now() + RUN_MS;
    const statuses: Record<string, number> = {};
    let cycles = 0;
    const reader = async () => {
      while (Date.now() < stopAt) {
        const token = await freshToken();
        const res = await rawRequest(`${server.vaultUrl(vault)}/secrets/seed?api-version=7.6`, { headers: { authorization: `Bearer ${token}` } });
        const key = res.status === 200 ? '200' : `${res.status} ${res.text.slice(0, 160)}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
    };
    const changer = async () => {
      while (Date.now() < stopAt) {
        assert.equal((await setPolicy(server, vaultId, 'add', spare.id, ['get'])).status, 200);
        assert.equal((await setPolicy(server, vaultId, 'remove', spare.id, ['get'])).status, 200);
        cycles++;
      }
    };
    await Promise.all([reader(), reader(), reader(), reader(), changer()]);
    assert.ok(cycles > 5, `the policies changed ${cycles} times`);
    assert.deepEqual(Object.keys(statuses), ['200'], JSON.stringify(statuses));
    assert.doesNotMatch(server.logs(), /refused authorization rows/);
  });
});
