import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, createServer, type Socket } from 'node:net';
import { openPostgresStore } from '../src/storage/postgres/pg-store.js';
import { takeServerLock } from '../src/storage/postgres/pg-lock-renewal.js';
import type { Store } from '../src/storage/store-types.js';
import { LOCK_CONNECTION, pgQuery } from './support/pg-rows.js';
import { until } from './support/until.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';

// The server lock's session broken under a watching server (pg-lock-renewal.ts):
// taken again with a non-blocking try and resumed when nobody else held the
// database meanwhile; lost when another server holds it, held it meanwhile,
// or the database stays away past the limit.

/** Ends the sessions holding the lock (not one waiting for it). */
const cutLock = (url: string) => pgQuery(url, `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE ${LOCK_CONNECTION} AND wait_event_type IS DISTINCT FROM 'Lock'`);

describe('a broken server lock session under a watching server', () => {
  let db: TestDatabase;
  const warnings: string[] = [];
  const warn = (message: string) => void warnings.push(message);

  before(async () => {
    db = await startPostgres();
  });
  after(async () => {
    await db?.stop();
  });

  /** A store watched as a server watches it; counts the interruptions and resumes. */
  function watched(store: Store) {
    const seen = { interrupted: 0, resumed: 0, lost: null as Error | null };
    store.session!.watch({
      interrupted: () => void seen.interrupted++,
      resume: async () => void seen.resumed++,
    });
    void store.lost!.then((err) => (seen.lost = err));
    return seen;
  }

  it('is taken again and resumed when nobody else held the database meanwhile', async () => {
    const url = await freshPostgresDatabase(db);
    const store = await openPostgresStore(url, { reconnect: { limitMs: 60_000, warn } });
    try {
      const seen = watched(store);
      assert.deepEqual(await cutLock(url), [{ done: true }]);
      await until('the watcher resumes', () => seen.resumed === 1 || seen.lost !== null);
      assert.equal(seen.lost, null);
      assert.equal(seen.interrupted, 1);
      // Held again, alone: a second server is refused.
      await assert.rejects(openPostgresStore(url), /is in use by another coffer server/);
      assert.ok(warnings.some((w) => /held again/.test(w)), warnings.join('\n'));
    } finally {
      await store.close();
    }
  });

  it('is lost when another server held the database and wrote meanwhile, even if it has stopped since', async () => {
    const url = await freshPostgresDatabase(db);
    let first = true;
    const store = await openPostgresStore(url, {
      reconnect: {
        limitMs: 60_000,
        warn,
        // Before this server tries again: another takes the lock, writes (its start does), and stops.
        beforeAttempt: async () => {
          if (!first) return;
          first = false;
          // wait: the broken session's backend may take a moment to go, and the lock with it.
          const other = await openPostgresStore(url, { wait: true });
          await other.settings.set('written-meanwhile', 'yes');
          await other.close();
        },
      },
    });
    try {
      const seen = watched(store);
      await cutLock(url);
      await until('the lock is lost', () => seen.lost !== null);
      assert.match(seen.lost!.message, /lost the database lock: another coffer server held the database while this one was disconnected/);
      assert.equal(seen.resumed, 0);
    } finally {
      await store.close();
    }
  });

  it('is lost when a standby took the lock', async () => {
    const url = await freshPostgresDatabase(db);
    const store = await openPostgresStore(url, { reconnect: { limitMs: 60_000, warn } });
    const standby = takeServerLock(url, { wait: true });
    try {
      const seen = watched(store);
      await until('the standby waits', async () => (await pgQuery(url, `SELECT 1 FROM pg_stat_activity WHERE ${LOCK_CONNECTION} AND wait_event_type = 'Lock'`)).length === 1);
      await cutLock(url);
      await until('the lock is lost', () => seen.lost !== null);
      assert.match(seen.lost!.message, /lost the database lock: .*is in use by another coffer server/);
    } finally {
      await store.close();
      await (await standby).release();
    }
  });

  it("is taken again when the connection went silent and PostgreSQL still runs the session's backend, holding the lock", async () => {
    const url = new URL(await freshPostgresDatabase(db));
    // A TCP relay whose connections made so far can go silent (a network partition); new ones flow.
    const silent = new Set<Socket>();
    const sockets: Socket[] = [];
    const relay = createServer((inbound) => {
      const outbound = connect(Number(url.port), url.hostname);
      sockets.push(inbound, outbound);
      inbound.on('data', (d) => void (silent.has(inbound) || outbound.write(d)));
      outbound.on('data', (d) => void (silent.has(inbound) || inbound.write(d)));
      inbound.on('error', () => undefined);
      outbound.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const relayed = new URL(url);
    relayed.port = String((relay.address() as { port: number }).port);
    const lock = await takeServerLock(relayed.toString(), { heartbeatMs: 100, heartbeatTimeoutMs: 500, reconnect: { limitMs: 60_000, warn } });
    try {
      const seen = { resumed: 0, lost: null as Error | null };
      lock.watch({ interrupted: () => undefined, resume: async () => void seen.resumed++ });
      void lock.lost.then((err) => (seen.lost = err));
      for (const s of sockets) silent.add(s);
      await until('the lock is held again', () => seen.resumed === 1 || seen.lost !== null);
      assert.equal(seen.lost, null);
      // The silent session's backend was ended: one lock connection is left.
      assert.equal((await pgQuery(url.toString(), `SELECT 1 FROM pg_stat_activity WHERE ${LOCK_CONNECTION}`)).length, 1);
    } finally {
      await lock.release();
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });

  it('is lost when the database stays away past the limit', async () => {
    const url = new URL(await freshPostgresDatabase(db));
    // A role of its own, so that its connections alone can be refused.
    await db.admin(`CREATE ROLE coffer_away LOGIN PASSWORD 'away' IN ROLE coffer`);
    await db.admin(`ALTER DATABASE ${url.pathname.slice(1)} OWNER TO coffer_away`);
    url.username = 'coffer_away';
    url.password = 'away';
    const store = await openPostgresStore(url.toString(), { reconnect: { limitMs: 1_000, warn } });
    try {
      const seen = watched(store);
      await db.admin('ALTER ROLE coffer_away NOLOGIN');
      await db.admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'coffer server lock' AND usename = 'coffer_away'`);
      await until('the lock is lost', () => seen.lost !== null);
      assert.match(seen.lost!.message, /lost the database lock: the database stayed away for 1 s/);
    } finally {
      await db.admin('ALTER ROLE coffer_away LOGIN');
      await store.close();
    }
  });
});
