import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { openPostgresStore } from '../src/storage/postgres/pg-store.js';
import { trackPoolConnections } from '../src/storage/postgres/pg-pool-cut.js';
import { isDatabaseUnavailable } from '../src/storage/store-errors.js';
import { startFreezableProxy, type FreezableProxy } from './support/freezable-proxy.js';
import { pgQuery } from './support/pg-rows.js';
import { until } from './support/until.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';

// The pool's connections cut at a store session's break (pg-pool-cut.ts), on pg's
// public API: a statement in flight through a partition fails at once, idle
// connections leave the pool, and the next query opens a fresh one. Fails if a
// pg upgrade changes Client.end() or the pool's handling of an idle client's error.

describe("the pool's connections cut at a break", () => {
  let db: TestDatabase;
  before(async () => {
    db = await startPostgres();
  });
  after(async () => {
    await db?.stop();
  });

  async function proxiedDatabase(): Promise<{ url: string; proxy: FreezableProxy }> {
    const url = new URL(await freshPostgresDatabase(db));
    const proxy = await startFreezableProxy(Number(url.port), url.hostname);
    url.port = String(proxy.port);
    return { url: url.toString(), proxy };
  }

  it('fails a statement in flight at once, drops the idle connections, and the pool connects afresh', async () => {
    const { url, proxy } = await proxiedDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on('error', () => undefined);
    const connections = trackPoolConnections(pool);
    try {
      const busy = await pool.connect();
      busy.on('error', () => undefined);
      const idle = await pool.connect();
      idle.release();
      assert.equal(pool.totalCount, 2);

      proxy.freeze();
      const inFlight = busy.query('SELECT 1').then(
        () => 'answered',
        (err: Error) => err,
      );
      await sleep(200);
      assert.equal(connections.cut(), 1);
      const outcome = await Promise.race([inFlight, sleep(2_000, 'still waiting')]);
      assert.ok(outcome instanceof Error, String(outcome));
      assert.ok(isDatabaseUnavailable(outcome), outcome.message);
      busy.release();
      assert.equal(pool.totalCount, 0, 'both connections left the pool');

      proxy.thaw();
      assert.deepEqual((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    } finally {
      proxy.thaw();
      await pool.end();
      await proxy.close();
    }
  });

  it('leaves the statements in flight alone when the server itself asks for the break (a change it missed)', async () => {
    const url = await freshPostgresDatabase(db);
    const store = await openPostgresStore(url, { reconnect: { limitMs: 60_000, warn: () => undefined } });
    const holder = new pg.Client({ connectionString: url });
    try {
      let resumed = 0;
      store.session!.watch({ interrupted: () => undefined, resume: async () => void resumed++ });
      await store.settings.set('k', 'before');
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query("SELECT 1 FROM settings WHERE key = 'k' FOR UPDATE");
      const write = store.settings.set('k', 'after');
      await until('the write waits for the row lock', async () => (await pgQuery(url, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).length === 1);
      store.session!.interrupt(new Error('a change could not be read'));
      await holder.query('COMMIT');
      await write;
      await until('the session is renewed', () => resumed === 1);
      assert.equal(await store.settings.get('k'), 'after');
    } finally {
      await holder.end().catch(() => undefined);
      await store.close();
    }
  });

  it("keeps TCP keepalive on the store's pooled connections, so that a silently dead idle one is found", async () => {
    const { url, proxy } = await proxiedDatabase();
    const store = await openPostgresStore(url);
    try {
      // Several statements at once: more than one pooled connection besides the lock's.
      await Promise.all(Array.from({ length: 4 }, () => store.settings.get('nothing')));
      const lines = execFileSync('ss', ['-tnoH', 'state', 'established', `( dport = :${proxy.port} )`], { encoding: 'utf8' }).trim().split('\n');
      assert.ok(lines.length >= 2, lines.join('\n'));
      for (const line of lines) assert.match(line, /timer:\(keepalive,/, lines.join('\n'));
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it("counts a deadlock's victim among the refusals a retry gets past (503, not 500)", async () => {
    const url = await freshPostgresDatabase(db);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      await pool.query('CREATE TABLE pair (id int PRIMARY KEY); INSERT INTO pair VALUES (1), (2)');
      const [one, two] = [await pool.connect(), await pool.connect()];
      // Each locks its row, then asks for the other's: PostgreSQL ends one of them.
      const crossed = async (c: pg.PoolClient, first: number, second: number) => {
        await c.query('BEGIN');
        await c.query('SELECT 1 FROM pair WHERE id = $1 FOR UPDATE', [first]);
        await sleep(200);
        try {
          await c.query('SELECT 1 FROM pair WHERE id = $1 FOR UPDATE', [second]);
          return null;
        } catch (err) {
          return err as Error & { code?: string };
        } finally {
          await c.query('ROLLBACK');
          c.release();
        }
      };
      const outcomes = await Promise.all([crossed(one, 1, 2), crossed(two, 2, 1)]);
      const victims = outcomes.filter((e) => e !== null);
      assert.deepEqual(victims.map((e) => e.code), ['40P01']);
      assert.ok(isDatabaseUnavailable(victims[0]), victims[0]!.message);
      assert.ok(isDatabaseUnavailable(Object.assign(new Error('could not serialize access due to concurrent update'), { code: '40001' })));
      assert.ok(!isDatabaseUnavailable(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })));
    } finally {
      await pool.end();
    }
  });
});
