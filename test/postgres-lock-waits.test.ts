import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { adminToken } from './support/access-kit.js';
import { createVault, credential } from './support/clients.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { until } from './support/until.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Another session holding a lock coffer needs (a long transaction, a
// maintenance LOCK TABLE, a stuck client): coffer's requests wait for it at
// most PostgreSQL's lock_timeout (set on every pooled connection), and for a
// free pooled connection at most the pool's wait, then are refused with 503
// ServiceUnavailable and Retry-After. Before, they waited for as long as the
// other session held its lock, and with every pooled connection waiting so
// did every other request, sign-ins included.

/** Longer than any bounded wait of coffer's (lock_timeout plus the pool's wait), so that a hang shows as a failure. */
const PATIENCE_MS = 90_000;
const MASTER_KEY = randomBytes(32).toString('hex');

const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(true));
  });

interface Answer {
  status: number;
  code?: string;
  retryAfter: string | null;
}

describe('PostgreSQL: a lock held by another session', () => {
  let db: TestDatabase;
  let url: string;
  let server: TestServer;
  let vaultToken: string;

  before(async () => {
    db = await startPostgres();
    url = await freshPostgresDatabase(db);
    server = await startTestServer({ args: ['--database-url', url, '--cluster'], env: { COFFER_MASTER_KEY: MASTER_KEY } });
    await createVault(server, 'locked-vault');
    vaultToken = (await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`))!.token;
  });
  after(async () => {
    await server?.stop();
    await db?.stop();
  });

  const secret = async (method: 'GET' | 'PUT', value?: string): Promise<Answer> => {
    const res = await fetch(`${server.vaultUrl('locked-vault')}/secrets/held?api-version=7.4`, {
      method,
      headers: { authorization: `Bearer ${vaultToken}`, 'content-type': 'application/json' },
      body: value === undefined ? undefined : JSON.stringify({ value }),
      signal: AbortSignal.timeout(PATIENCE_MS),
    });
    const body = (await res.json()) as { value?: string; error?: { code: string } };
    return { status: res.status, code: body.error?.code ?? body.value, retryAfter: res.headers.get('retry-after') };
  };

  it('requests that need the lock, and those queued behind them for a connection, are refused with 503 in bounded time; nothing half-done', async () => {
    assert.equal((await secret('PUT', 'before')).status, 200);
    const other = new pg.Client(url);
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('LOCK TABLE secrets IN ACCESS EXCLUSIVE MODE');
      // More requests than the pool has connections: the ones past it wait for a connection, not for the lock.
      const answers = await Promise.all([secret('PUT', 'during'), ...Array.from({ length: 14 }, () => secret('GET'))]);
      for (const a of answers) assert.deepEqual(a, { status: 503, code: 'ServiceUnavailable', retryAfter: '5' });
      // A sign-in (no lock needed) still gets an answer while the table is held.
      assert.ok(await adminToken(server));
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.end();
    }
    // The refused write did not land once the lock went, and the server serves again.
    assert.deepEqual(await secret('GET'), { status: 200, code: 'before', retryAfter: null });
    assert.equal((await secret('PUT', 'after')).status, 200);
    assert.deepEqual(await secret('GET'), { status: 200, code: 'after', retryAfter: null });
  });

  it('a request that arrives on an open connection while the server closes is refused in the service\'s terms', async () => {
    // A member of its own, stopped here, while a request it serves waits for the lock.
    const closing = await startTestServer({ args: ['--database-url', url, '--cluster'], env: { COFFER_MASTER_KEY: MASTER_KEY } });
    const other = new pg.Client(url);
    await other.connect();
    try {
      const host = `locked-vault.${closing.bootstrap.vaultDnsSuffix}:${closing.port}`;
      // Its own token: without a shared --public-port each member is its own issuer.
      const token = (await credential(closing).getToken(`https://${closing.bootstrap.vaultDnsSuffix}/.default`))!.token;
      const get = `GET /secrets/held?api-version=7.4 HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n\r\n`;
      await other.query('BEGIN');
      await other.query('LOCK TABLE secrets IN ACCESS EXCLUSIVE MODE');
      // One TLS connection: the first request now, the second once the server is closing (the connection is not
      // idle then, so it stays open for it).
      const socket = connectTls({ host: '127.0.0.1', port: closing.port, servername: `locked-vault.${closing.bootstrap.vaultDnsSuffix}`, rejectUnauthorized: false }, () => socket.write(get));
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      const exchange = new Promise<string>((resolve, reject) => {
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
      });
      const waiting = async () => Number((await other.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n) > 0;
      await until('the first request waits for the lock', waiting);
      const stopped = closing.stop();
      await until('the server stops taking connections', () => refusesConnections(closing.port));
      socket.write(get);
      await other.query('ROLLBACK');
      const answers = (await exchange).split(/(?=HTTP\/1\.1 )/);
      assert.equal(answers.length, 2, await exchange);
      assert.match(answers[0]!, /^HTTP\/1\.1 200 /, 'the request in flight is served');
      assert.match(answers[1]!, /^HTTP\/1\.1 503 /);
      assert.match(answers[1]!, /retry-after: 1\r\n/i);
      assert.match(answers[1]!, /\{"error":\{"code":"ServiceUnavailable","message":"The server is shutting down\. Send the request again\."\}\}/);
      await stopped;
    } finally {
      await other.end().catch(() => undefined);
      await closing.kill();
    }
  });
});
