import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { api } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { startFreezableProxy } from './support/freezable-proxy.js';
import { pgQuery } from './support/pg-rows.js';
import { until } from './support/until.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { assertLogged, startTestServer, type TestServer } from './support/server-fixture.js';

// A network partition between coffer and PostgreSQL (packets dropped, no
// reset) while a request's statement is in flight: once the lock connection's
// heartbeat notices (--database-heartbeat-seconds 1: a check every second,
// unanswered for two), the request ends 503 at once
// instead of waiting for the kernel to give up on its connection (15+
// minutes); after the partition the server serves again, with every
// acknowledged write and an audit trail that verifies.

/** The heartbeat's period and timeout (3 s), and a wide margin for a loaded machine. Without the cut the request waits until the partition ends. */
const NOTICED_WITHIN_MS = 3_000 + 15_000;
/**
 * From the break the server logs to the 503. While the database is away the refusal's audit record is refused
 * at once: it used to wait for a pooled connection that could not come (POOL_WAIT_MS, 10 s).
 */
const ANSWERED_AFTER_BREAK_WITHIN_MS = 5_000;

describe('a single server on PostgreSQL through a network partition', () => {
  let db: TestDatabase;
  before(async () => {
    db = await startPostgres();
  });
  after(async () => {
    await db?.stop();
  });

  /** A server reaching PostgreSQL through a proxy that can freeze, with a vault and a secret stored and acknowledged. */
  async function partitionable() {
    const url = new URL(await freshPostgresDatabase(db));
    const proxy = await startFreezableProxy(Number(url.port), url.hostname);
    const proxied = new URL(url);
    proxied.port = String(proxy.port);
    const server = await startTestServer({ args: ['--database-url', proxied.toString(), '--database-heartbeat-seconds', '1'] });
    await createVault(server, 'partition-vault');
    const client = secretClient(server, 'partition-vault');
    await client.setSecret('s', 'acknowledged');
    return { url: url.toString(), proxy, server, client };
  }

  /** The request's status once it ends, or 'still waiting' past the time the heartbeat takes to notice. */
  async function outcomeOf(request: Promise<unknown>, t: TestContext): Promise<number | 'stored' | 'still waiting'> {
    const started = Date.now();
    const outcome = await Promise.race([
      request.then(
        () => 'stored' as const,
        (err: { statusCode?: number }) => err.statusCode ?? -1,
      ),
      sleep(NOTICED_WITHIN_MS, 'still waiting' as const),
    ]);
    t.diagnostic(`the request in flight ended ${outcome} after ${Date.now() - started} ms`);
    return outcome;
  }

  /** Asserts that the request answered at `answeredAt` was answered soon after the server logged the break. */
  async function answeredSoonAfterBreak(server: TestServer, answeredAt: number) {
    // The server thread's output reaches the process's stdout after its answers may have reached the client.
    await assertLogged(server, /the database connection holding the lock broke/);
    const line = server.logs().split('\n').find((l) => l.includes('the database connection holding the lock broke'))!;
    const brokeAt = (JSON.parse(line) as { time: number }).time;
    assert.ok(answeredAt - brokeAt < ANSWERED_AFTER_BREAK_WITHIN_MS, `answered ${answeredAt - brokeAt} ms after the break`);
  }

  /** After the partition: serving again, writes and reads work, and the audit trail verifies. */
  async function servesAgain(server: TestServer, client: ReturnType<typeof secretClient>) {
    await until('the server holds the lock again', () => /the database lock is held again/.test(server.logs()), 60_000);
    assert.equal(server.exitCode(), null, server.logs());
    const value = (await client.getSecret('s')).value;
    await client.setSecret('s', 'after');
    assert.equal((await client.getSecret('s')).value, 'after');
    const verify = await api(server, 'GET', '/coffer/audit/verify');
    assert.equal(verify.body!.ok, true, JSON.stringify(verify.body));
    return value;
  }

  it('ends a statement in flight with 503, refuses new requests meanwhile, and serves what was acknowledged afterwards', async (t) => {
    const { url, proxy, server, client } = await partitionable();
    const holder = new pg.Client({ connectionString: url });
    try {
      // The secret's row locked from outside coffer: the PUT's statement waits for it, in flight.
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM secrets WHERE name = 's' FOR UPDATE");
      const put = client.setSecret('s', 'in-flight');
      await until('the PUT waits for the row lock', async () => (await pgQuery(url, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).length === 1);
      // The partition, then the lock released: PostgreSQL answers the statement, and the answer is held.
      proxy.freeze();
      await holder.query('COMMIT');

      assert.equal(await outcomeOf(put, t), 503, server.logs());
      await answeredSoonAfterBreak(server, Date.now());
      await assert.rejects(client.getSecret('s'), { statusCode: 503 });

      proxy.thaw();
      // The PUT's transaction never reached its COMMIT: it was rolled back, and the secret is as last acknowledged.
      assert.equal(await servesAgain(server, client), 'acknowledged');
    } finally {
      await holder.end().catch(() => undefined);
      proxy.thaw();
      await server.stop();
      await proxy.close();
    }
  });

  it('answers 503 for a write whose COMMIT was sent but whose answer was lost; committed, it is stored with its audit record', async (t) => {
    const { proxy, server, client } = await partitionable();
    try {
      // The COMMIT of the PUT's own transaction (its version is inserted by a named statement: pg-writer.ts).
      proxy.freezeOnceSent('COMMIT', 'coffer-secret-versions-insert');
      const put = client.setSecret('s', 'committed-unacknowledged');
      assert.equal(await outcomeOf(put, t), 503, server.logs());
      await answeredSoonAfterBreak(server, Date.now());
      await assert.rejects(client.getSecret('s'), { statusCode: 503 });

      proxy.thaw();
      // The outcome was unknown to coffer; PostgreSQL committed it, version and audit record together (the trail verifies).
      assert.equal(await servesAgain(server, client), 'committed-unacknowledged');
    } finally {
      proxy.thaw();
      await server.stop();
      await proxy.close();
    }
  });

  it("gives up a reconnection the partition holds after the heartbeat's timeout, and tries again", async () => {
    const { proxy, server, client } = await partitionable();
    try {
      proxy.freeze();
      await assertLogged(server, /the database connection holding the lock broke/, NOTICED_WITHIN_MS);
      // Through the frozen proxy a new connection gets nowhere: each attempt is given up after 2 s (the heartbeat's
      // timeout) and the next one made. Without that the first attempt waits as long as the partition lasts.
      await sleep(7_000);
      proxy.thaw();
      await servesAgain(server, client);
      const held = JSON.parse(server.logs().split('\n').find((l) => l.includes('the database lock is held again'))!) as { attempts: number };
      assert.ok(held.attempts >= 2, `held again at attempt ${held.attempts}`);
    } finally {
      proxy.thaw();
      await server.stop();
      await proxy.close();
    }
  });
});
