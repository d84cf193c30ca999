import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// An acknowledged write survives the server being killed without warning.

describe('durability', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'durable-vault');
  });
  after(() => server?.stop());

  it('every acknowledged write is there after SIGKILL and restart', async () => {
    const client = secretClient(server, 'durable-vault');
    const acknowledged = new Map<string, string>();
    // Concurrent writers; the kill lands while some are still in flight.
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; ; i++) {
        const name = `w${w}-s${i}`;
        const value = `value-${w}-${i}-${'x'.repeat(i % 50)}`;
        try {
          await client.setSecret(name, value);
          acknowledged.set(name, value);
        } catch {
          return;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    await server.kill();
    await Promise.all(writers);
    assert.ok(acknowledged.size > 20, `only ${acknowledged.size} writes were acknowledged`);

    await server.restart();
    const fresh = secretClient(server, 'durable-vault');
    for (const [name, value] of acknowledged) {
      assert.equal((await fresh.getSecret(name)).value, value, name);
    }
  });
});
