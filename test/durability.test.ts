import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// An acknowledged write survives the server being killed without warning,
// under the load the benchmark target names: 64 concurrent writers, each
// adding new versions to secrets of its own (so a commit batch holds versions
// of many secrets, and a secret gets versions from several batches). Each
// stored version has exactly one success record in the audit trail (they
// commit together), and the trail's chain is intact. On SQLite and on
// PostgreSQL (the server is killed, the database is not).

const WRITERS = 64;
const NAMES_PER_WRITER = 3;

interface Acked {
  version: string;
  value: string;
}

for (const store of ['sqlite', 'postgres'] as const) describe(`durability (${store})`, () => {
  let server: TestServer;
  let db: TestDatabase | undefined;
  before(async () => {
    if (store === 'postgres') db = await startPostgres();
    server = await startTestServer(db ? { args: ['--database-url', await freshPostgresDatabase(db)] } : {});
    await createVault(server, 'durable-vault');
  });
  after(async () => {
    await server?.stop();
    await db?.stop();
  });

  it(`every acknowledged write of ${WRITERS} concurrent writers is there after SIGKILL and restart`, async () => {
    const client = secretClient(server, 'durable-vault');
    const acknowledged = new Map<string, Acked[]>();
    // The write each writer had in flight when the server died: it may or may not have committed.
    const inFlight = new Map<string, string>();
    let count = 0;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; ; i++) {
        const name = `w${w}-s${i % NAMES_PER_WRITER}`;
        const value = `value-${w}-${i}-${'x'.repeat(i % 50)}`;
        inFlight.set(name, value);
        try {
          const set = await client.setSecret(name, value);
          acknowledged.set(name, [...(acknowledged.get(name) ?? []), { version: set.properties.version!, value }]);
          count++;
        } catch {
          return;
        }
      }
    });
    // Kill once a good number of writes are acknowledged (a slow machine needs longer than a fast one).
    const deadline = Date.now() + 20_000;
    while (count < 4 * WRITERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await server.kill();
    await Promise.all(writers);
    assert.ok(count >= 2 * WRITERS, `only ${count} writes were acknowledged`);

    await server.restart();
    const fresh = secretClient(server, 'durable-vault');
    let checked = 0;
    for (const [name, versions] of acknowledged) {
      // Every acknowledged version is there, by its id, with its value.
      for (const v of versions) {
        assert.equal((await fresh.getSecret(name, { version: v.version })).value, v.value, `${name}/${v.version}`);
        checked++;
      }
      // The current version is the last acknowledged one, or the write that was in flight at the kill.
      const current = (await fresh.getSecret(name)).value;
      const last = versions.at(-1)!.value;
      assert.ok(current === last || current === inFlight.get(name), `${name}: current value ${current} is neither the last acknowledged (${last}) nor the one in flight`);
    }
    assert.equal(checked, count);

    // The names in flight too: a writer's first write to a name may have committed (with its record) unacknowledged.
    const stored = new Map<string, number>();
    for (const name of new Set([...acknowledged.keys(), ...inFlight.keys()])) {
      let n = 0;
      try {
        for await (const _ of fresh.listPropertiesOfSecretVersions(name)) n++;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404 || acknowledged.has(name)) throw err;
      }
      if (n > 0) stored.set(name, n);
    }
    const recorded = new Map<string, number>();
    for (let after = ''; ; ) {
      const page = (await api(server, 'GET', `/coffer/audit?vault=durable-vault&operation=SecretSet&resultType=Success&maxresults=1000${after}`)).body!;
      for (const r of page.value as Array<{ properties: { id: string } }>) {
        const name = r.properties.id.split('/secrets/')[1]!;
        recorded.set(name, (recorded.get(name) ?? 0) + 1);
      }
      if (!page.nextLink) break;
      after = `&$skiptoken=${new URL(page.nextLink as string).searchParams.get('$skiptoken')}`;
    }
    assert.deepEqual([...recorded].sort(), [...stored].sort(), 'success records per secret = versions stored');
    const verified = await api(server, 'GET', '/coffer/audit/verify');
    assert.equal((verified.body as { ok: boolean }).ok, true, JSON.stringify(verified.body));
  });
});
