import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { setUpSession } from '../src/storage/postgres/pg-store.js';
import { startFreezableProxy } from './support/freezable-proxy.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';

// A cluster member frozen, or cut off without a reset, inside a transaction
// held the audit chain's lock until PostgreSQL's TCP keepalive gave up (some
// two hours), and every other member's audited requests failed meanwhile.
// Every pooled session (setUpSession) now has PostgreSQL end a transaction
// left idle (idle_in_transaction_session_timeout), unless the operator set
// one for the role or database.

const CHAIN_LOCK = 0x0c0ffee;

describe('a session left idle inside a transaction', () => {
  let db: TestDatabase;
  before(async () => {
    db = await startPostgres();
  });
  after(async () => {
    await db?.stop();
  });

  it("has its transaction ended by PostgreSQL, so another session gets its lock, when the member behind it goes silent", async () => {
    const direct = await freshPostgresDatabase(db);
    const url = new URL(direct);
    const proxy = await startFreezableProxy(Number(url.port), url.hostname);
    url.port = String(proxy.port);
    const gone = new pg.Client({ connectionString: url.toString() });
    gone.on('error', () => undefined);
    const other = new pg.Client({ connectionString: direct });
    try {
      await gone.connect();
      await setUpSession(gone, 1500);
      await gone.query('BEGIN');
      await gone.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
      // The member goes silent between two statements of its transaction: nothing is sent, nothing is closed.
      proxy.freeze();
      await other.connect();
      // Without the setting this waits the whole 20 s and fails with a lock timeout.
      await other.query('SET lock_timeout = 20000');
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
      await other.query('COMMIT');
      const ended = await db.rows(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = '${url.pathname.slice(1)}'`);
      assert.equal(ended[0]!.n, 0, 'the silent session ended');
    } finally {
      proxy.thaw();
      await proxy.close();
      await gone.end().catch(() => undefined);
      await other.end().catch(() => undefined);
    }
  });

  it("keeps a timeout the operator set for coffer's role, and sets lock_timeout and the keepalives", async () => {
    const direct = await freshPostgresDatabase(db);
    const client = new pg.Client({ connectionString: direct });
    const role = new URL(direct).username;
    await client.connect();
    try {
      await setUpSession(client);
      const defaults = (await client.query("SELECT current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('lock_timeout') AS lock, current_setting('tcp_keepalives_idle') AS probe")).rows[0];
      assert.deepEqual(defaults, { idle: '15s', lock: '10s', probe: '30' });
    } finally {
      await client.end();
    }
    await db.admin(`ALTER ROLE ${role} SET idle_in_transaction_session_timeout = '1h'`);
    const own = new pg.Client({ connectionString: direct });
    await own.connect();
    try {
      await setUpSession(own);
      assert.equal((await own.query("SELECT current_setting('idle_in_transaction_session_timeout') AS idle")).rows[0].idle, '1h');
    } finally {
      await own.end();
      await db.admin(`ALTER ROLE ${role} RESET idle_in_transaction_session_timeout`);
    }
  });
});
