import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { LOCK_CONNECTION, pgQuery } from './support/pg-rows.js';
import { until } from './support/until.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A single server (no --cluster) whose lock connection is cut: it stops
// serving (503) until it holds the lock again, and resumes when nobody else
// held the database meanwhile; when a standby took over, it exits 1.

describe('a single server on PostgreSQL whose lock connection is cut', () => {
  let db: TestDatabase;
  before(async () => {
    db = await startPostgres();
  });
  after(async () => {
    await db?.stop();
  });

  it('resumes when nobody else took the lock, with its data, and serves writes again', async () => {
    const url = await freshPostgresDatabase(db);
    const server = await startTestServer({ args: ['--database-url', url] });
    try {
      await createVault(server, 'resume-vault');
      await secretClient(server, 'resume-vault').setSecret('s', 'before');
      const cut = await pgQuery(url, `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE ${LOCK_CONNECTION}`);
      assert.deepEqual(cut, [{ done: true }], 'exactly one lock connection');
      await until('the server holds the lock again', () => /the database lock is held again/.test(server.logs()));
      assert.equal(server.exitCode(), null, server.logs());
      assert.equal((await secretClient(server, 'resume-vault').getSecret('s')).value, 'before');
      await secretClient(server, 'resume-vault').setSecret('s', 'after');
      assert.equal((await secretClient(server, 'resume-vault').getSecret('s')).value, 'after');
      assert.match(server.logs(), /the database connection holding the lock broke/);
      const verify = await api(server, 'GET', '/coffer/audit/verify');
      assert.equal(verify.body!.ok, true, JSON.stringify(verify.body));
    } finally {
      await server.stop();
    }
  });

  it('serves again after a PostgreSQL restart (fast shutdown), with every acknowledged write', async () => {
    const url = await freshPostgresDatabase(db);
    const server = await startTestServer({ args: ['--database-url', url] });
    try {
      await createVault(server, 'restart-vault');
      const client = secretClient(server, 'restart-vault');
      const set = await client.setSecret('s', 'before-restart');
      await db.restart!();
      await until('the server holds the lock again', () => /the database lock is held again/.test(server.logs()));
      assert.equal(server.exitCode(), null, server.logs());
      assert.equal((await client.getSecret('s', { version: set.properties.version! })).value, 'before-restart');
      await client.setSecret('s', 'after-restart');
      assert.equal((await client.getSecret('s')).value, 'after-restart');
      const verify = await api(server, 'GET', '/coffer/audit/verify');
      assert.equal(verify.body!.ok, true, JSON.stringify(verify.body));
    } finally {
      await server.stop();
    }
  });

  it('exits 1 when a standby took the lock meanwhile, and the standby serves what the first stored', async () => {
    const url = await freshPostgresDatabase(db);
    const first = await startTestServer({ args: ['--database-url', url] });
    const standbyDir = mkdtempSync(join(tmpdir(), 'coffer-pg-standby-'));
    let standby: TestServer | undefined;
    try {
      await createVault(first, 'takeover-vault');
      await secretClient(first, 'takeover-vault').setSecret('s', 'stored');
      copyFileSync(join(first.dataDir, 'master.key'), join(standbyDir, 'master.key'));
      const starting = startTestServer({ dataDir: standbyDir, args: ['--database-url', url, '--standby'], startTimeoutMs: 60_000 });
      starting.catch(() => undefined);
      await until('the standby waits for the lock', async () => (await pgQuery(url, `SELECT 1 FROM pg_stat_activity WHERE ${LOCK_CONNECTION} AND wait_event_type = 'Lock'`)).length === 1);
      await pgQuery(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${LOCK_CONNECTION} AND wait_event_type IS DISTINCT FROM 'Lock'`);
      standby = await starting;
      // The standby writes as it serves; the first must not come back beside it.
      await secretClient(standby, 'takeover-vault').setSecret('s', 'by-standby');
      await until('the first server exits', () => first.exitCode() !== null);
      assert.equal(first.exitCode(), 1, first.logs());
      assert.match(first.logs(), /lost the database lock: .*is in use by another coffer server/);
      assert.equal((await secretClient(standby, 'takeover-vault').getSecret('s')).value, 'by-standby');
    } finally {
      await standby?.stop();
      await first.stop();
      rmSync(standbyDir, { recursive: true, force: true });
    }
  });
});
