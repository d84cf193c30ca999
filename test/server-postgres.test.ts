import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { api } from './support/access-kit.js';
import { checkOneRecordPerOperation } from './support/audit-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { LOCK_CONNECTION, pgQuery } from './support/pg-rows.js';
import { rawRequest } from './support/raw-http.js';
import { freshPostgresDatabase, postgresSuperuserUrl, startPostgres, type TestDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate } from './support/test-certificates.js';
import { until } from './support/until.js';
import { describeWriteRaces } from './support/write-races.js';

// The real server on PostgreSQL (--database-url), driven by the official SDK:
// the data lives in the database, survives a restart, the audit chain holds,
// and secret values are only ciphertext at rest.

const VALUE = 'pg-plaintext-7f3a9c {"username": "u", "password": "correct horse battery staple"}';

describe('server on PostgreSQL', () => {
  let db: TestDatabase;
  let url: string;
  let server: TestServer;

  before(async () => {
    db = await startPostgres();
    url = await freshPostgresDatabase(db);
    server = await startTestServer({ args: ['--database-url', url] });
    await createVault(server, 'pg-vault');
  });
  after(async () => {
    await server?.stop();
    await db?.stop();
  });

  it('keeps the data in PostgreSQL, not in a SQLite file in the data dir', () => {
    assert.ok(!existsSync(join(server.dataDir, 'coffer.db')), 'no coffer.db');
    assert.ok(existsSync(join(server.dataDir, 'master.key')), 'the master key stays in the data dir');
  });

  it('sets, gets, lists, deletes and recovers a secret through the SDK', async () => {
    const client = secretClient(server, 'pg-vault');
    const set = await client.setSecret('db-creds', VALUE, { tags: { team: 'data' } });
    await client.setSecret('other', 'x');
    assert.equal((await client.getSecret('db-creds')).value, VALUE);
    assert.equal((await client.getSecret('DB-CREDS', { version: set.properties.version! })).value, VALUE);
    const names: string[] = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
    assert.deepEqual(names.sort(), ['db-creds', 'other']);

    await (await client.beginDeleteSecret('db-creds')).pollUntilDone();
    await assert.rejects(client.getSecret('db-creds'), (err: { statusCode?: number }) => err.statusCode === 404);
    const deleted: string[] = [];
    for await (const d of client.listDeletedSecrets()) deleted.push(d.name);
    assert.deepEqual(deleted, ['db-creds']);
    await (await client.beginRecoverDeletedSecret('db-creds')).pollUntilDone();
    const back = await client.getSecret('db-creds');
    assert.equal(back.value, VALUE);
    assert.deepEqual(back.properties.tags, { team: 'data' });
  });

  it('a request with U+0000 in its path gets its own answer, and the writes committed with its record are stored', async () => {
    const token = (await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`)).token;
    const client = secretClient(server, 'pg-vault');
    const [bad, ...sets] = await Promise.all([
      rawRequest(`${server.vaultUrl('pg-vault')}/secrets/zero%00byte?api-version=7.6`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'x' }),
      }),
      ...Array.from({ length: 8 }, (_, i) => client.setSecret(`beside-nul-${i}`, `v${i}`)),
    ]);
    assert.equal(bad.status, 400, bad.text);
    assert.equal((JSON.parse(bad.text) as { error: { code: string } }).error.code, 'BadParameter');
    assert.equal(sets.length, 8);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200, await health.text());
    const page = (await api(server, 'GET', '/coffer/audit?vault=pg-vault&resultType=Failure&maxresults=1000')).body!;
    const refused = (page.value as Array<{ properties: { requestUri: string; httpStatusCode: number } }>).filter((r) => r.properties.requestUri.includes('%00'));
    assert.deepEqual(refused.map((r) => [r.properties.httpStatusCode, r.properties.requestUri.split('/secrets/')[1]]), [[400, 'zero%00byte?api-version=7.6']]);
  });

  it('%00 in a URI is 400 BadParameter wherever it is (PostgreSQL cannot compare text with U+0000)', async () => {
    const sub = server.bootstrap.subscriptionId;
    for (const path of [
      `/subscriptions/${sub}/resourceGroups/rg%00x?api-version=2021-04-01`,
      `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v%00x?api-version=2023-07-01`,
      `/subscriptions/${sub}/providers/Microsoft.KeyVault/locations/westus/deletedVaults/v%00x?api-version=2023-07-01`,
      '/coffer/audit?vault=a%00b',
      '/v1.0/servicePrincipals/ab%00cd',
    ]) {
      const res = await api(server, 'GET', path);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body as { error: { code: string } }).error.code, 'BadParameter', path);
    }
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  it("two certificate PATCHes at once: one full list applies, the other is 409 (not both: 20 where each asked for 10)", async () => {
    const sp = (await api(server, 'POST', '/v1.0/servicePrincipals', { displayName: 'pg-certs' })).body!;
    const certs = Array.from({ length: 20 }, (_, i) => makeCertificate(`pg-cert-${i}`));
    const list = (from: number) => certs.slice(from, from + 10).map((c) => ({ type: 'AsymmetricX509Cert', usage: 'Verify', key: c.base64 }));
    const path = `/v1.0/servicePrincipals/${sp.id}`;
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([api(server, 'PATCH', path, { keyCredentials: list(0) }), api(server, 'PATCH', path, { keyCredentials: list(10) })]);
      assert.ok(answers.some((a) => a.status === 204), JSON.stringify(answers));
      assert.ok(answers.every((a) => a.status === 204 || (a.status === 409 && a.body!.error.code === 'Request_Conflict')), JSON.stringify(answers));
      assert.equal(((await api(server, 'GET', path)).body!.keyCredentials as unknown[]).length, 10, `round ${round}`);
    }
  });

  describeWriteRaces(() => server, () => `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/pg-vault`);

  it('reads the secret again after a restart', async () => {
    await server.restart();
    assert.equal((await secretClient(server, 'pg-vault').getSecret('db-creds')).value, VALUE);
  });

  it('a second server on the same database refuses to start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'coffer-pg-second-'));
    try {
      await assert.rejects(startTestServer({ dataDir, args: ['--database-url', url] }), /in use by another coffer server/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('every operation, allowed and denied, leaves exactly one audit record (a secret write commits with its own)', async () => {
    await createVault(server, 'pg-audit-vault');
    await checkOneRecordPerOperation(server, 'pg-audit-vault');
  });

  it('the audit trail verifies', async () => {
    const r = await api(server, 'GET', '/coffer/audit/verify');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body!.ok, true, JSON.stringify(r.body));
    const records = await api(server, 'GET', '/coffer/audit?maxresults=1000&vault=pg-vault');
    assert.ok((records.body!.value as unknown[]).length > 0, 'requests were audited');
  });

  it('U+0000 in Basic client credentials is a 401, not a database error', async () => {
    // In the deployment's tenant: an app's token on /common is refused before its credentials are read.
    const res = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('%00:secret').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'https://management.azure.com/.default' }).toString(),
    });
    assert.equal(res.status, 401);
  });

  it('stores no secret value in plaintext', async () => {
    const c = new pg.Client({ connectionString: await postgresSuperuserUrl(db, new URL(url).pathname.slice(1)) });
    await c.connect();
    try {
      const rows = (await c.query<{ ciphertext: Buffer }>("SELECT ciphertext FROM secret_versions WHERE name = 'db-creds'")).rows;
      assert.equal(rows.length, 1);
      const needle = Buffer.from('correct horse battery staple');
      for (const r of rows) assert.equal(r.ciphertext.indexOf(needle), -1, 'plaintext in secret_versions');
      // Nowhere else either: the whole database as text (bytea shows as hex there, so look for both forms).
      const dump = (await c.query<{ t: string }>(
        `SELECT string_agg(t::text, E'\\n') AS t FROM (
           SELECT row_to_json(x)::text AS t FROM secret_versions x UNION ALL SELECT row_to_json(x)::text FROM audit_events x
           UNION ALL SELECT row_to_json(x)::text FROM settings x UNION ALL SELECT row_to_json(x)::text FROM vaults x) all_rows`,
      )).rows[0]!.t;
      assert.ok(!dump.includes('correct horse'), 'plaintext found in a table');
      assert.ok(!dump.includes(needle.toString('hex')), 'plaintext bytes found in a table');
    } finally {
      await c.end();
    }
  });

  /**
   * A server of its own on a fresh database (it gets stopped), with `timeoutSeconds` to shut down, and a
   * DELETE of one secret waiting for a row lock that another session (`locker`, the superuser) holds.
   */
  async function deleteWaitingForLock(vault: string, secret: string, timeoutSeconds: number) {
    const stallUrl = await freshPostgresDatabase(db);
    // Longer than these tests hold the lock (coffer keeps a lock_timeout set for its database): the DELETE waits it out.
    await db.admin(`ALTER DATABASE ${new URL(stallUrl).pathname.slice(1)} SET lock_timeout = '120s'`);
    const stalling = await startTestServer({ args: ['--database-url', stallUrl], env: { COFFER_SHUTDOWN_TIMEOUT_SECONDS: String(timeoutSeconds) } });
    const locker = new pg.Client({ connectionString: await postgresSuperuserUrl(db, new URL(stallUrl).pathname.slice(1)) });
    await createVault(stalling, vault);
    await secretClient(stalling, vault).setSecret(secret, 'v');
    const token = (await credential(stalling).getToken(`https://${stalling.bootstrap.vaultDnsSuffix}/.default`)).token;
    await locker.connect();
    await locker.query('BEGIN');
    assert.equal((await locker.query('SELECT 1 FROM secrets WHERE name_key = $1 FOR UPDATE', [secret])).rowCount, 1);
    // Settled either way at once: the connection may be closed long before a test looks.
    const deleting = rawRequest(`${stalling.vaultUrl(vault)}/secrets/${secret}?api-version=7.6`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }).then(
      (r) => String(r.status),
      (err: Error) => err.message,
    );
    const waitingForLock = async () => Number((await locker.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n);
    for (let i = 0; i < 100 && (await waitingForLock()) === 0; i++) await sleep(50);
    assert.equal(await waitingForLock(), 1, 'the DELETE waits for the row lock');
    const cleanup = async () => {
      await locker.end().catch(() => undefined);
      await stalling.kill();
    };
    return { stalling, locker, deleting, waitingForLock, cleanup };
  }

  it('a write stalled past the shutdown timeout still commits with its audit record before the server exits', async () => {
    const timeoutSeconds = 3;
    const { stalling, locker, deleting, cleanup } = await deleteWaitingForLock('pg-stall', 'stalled', timeoutSeconds);
    try {
      let exited = false;
      const stopped = stalling.stop().then(() => (exited = true));
      // Past the deadline: the connection is closed, the handler still waits for its UPDATE.
      await sleep((timeoutSeconds + 1.5) * 1000);
      assert.match(await deleting, /socket hang up|ECONNRESET/, 'the connection was closed at the deadline');
      assert.equal(exited, false, 'the server waits for the handler');
      await locker.query('COMMIT');
      await Promise.race([stopped, sleep(10_000)]);
      assert.ok(exited, 'the server exited once the handler was done');
      assert.doesNotMatch(stalling.logs(), /audit write failed|did not finish in time|stays open/);

      const stored = await locker.query("SELECT deleted_at FROM secrets WHERE name_key = 'stalled'");
      assert.notEqual(stored.rows[0].deleted_at, null, 'the DELETE committed');
      const records = await locker.query("SELECT http_status, operation FROM audit_events WHERE secret = 'stalled' AND operation = 'SecretDelete'");
      assert.deepEqual(records.rows, [{ http_status: 200, operation: 'SecretDelete' }], 'and its audit record with it');
    } finally {
      await cleanup();
    }
  });

  it('a write still blocked on a lock when the process gives up at shutdown is cancelled, not committed without its record', async () => {
    // As above, but the lock outlives the server: past twice the timeout plus its grace the process exits.
    // PostgreSQL must then drop the orphaned DELETE (client_connection_check_interval) rather than run it
    // once the lock goes, when no coffer is left to write its audit record.
    const { stalling, locker, deleting, waitingForLock, cleanup } = await deleteWaitingForLock('pg-orphan', 'orphaned', 1);
    try {
      await stalling.stop();
      await deleting;
      assert.match(stalling.logs(), /did not finish in time/);
      // The backend notices its client is gone within the check interval, while still waiting for the lock.
      for (let i = 0; i < 100 && (await waitingForLock()) > 0; i++) await sleep(50);
      assert.equal(await waitingForLock(), 0, 'the orphaned DELETE was cancelled while it waited');
      await locker.query('COMMIT');
      await sleep(200);
      const stored = await locker.query("SELECT deleted_at FROM secrets WHERE name_key = 'orphaned'");
      assert.equal(stored.rows[0].deleted_at, null, 'the DELETE did not commit');
      const records = await locker.query("SELECT count(*) AS n FROM audit_events WHERE secret = 'orphaned' AND operation = 'SecretDelete'");
      assert.equal(Number(records.rows[0].n), 0);
    } finally {
      await cleanup();
    }
  });

  it('rotates the master key offline against the database, and refuses to without it', async () => {
    await server.kill();
    const keyFile = () => (JSON.parse(readFileSync(join(server.dataDir, 'master.key'), 'utf8')) as { primary: string }).primary;
    const before = keyFile();
    const refused = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--database-url/);
    assert.equal(keyFile(), before, 'the master key is untouched');
    assert.ok(!existsSync(join(server.dataDir, 'coffer.db')), 'no empty SQLite file was created');

    const rotated = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir, '--database-url', url]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.notEqual(keyFile(), before);
    await server.restart();
    assert.equal((await secretClient(server, 'pg-vault').getSecret('db-creds')).value, VALUE);
  });
});

describe('one server per PostgreSQL database: lock loss and standby', () => {
  let db: TestDatabase;

  before(async () => {
    db = await startPostgres();
  });
  after(async () => {
    await db?.stop();
  });

  it('with --database-reconnect-seconds 0, a server whose lock connection is cut stops, with exit code 1, instead of serving beside a server that may take over', async () => {
    const url = await freshPostgresDatabase(db);
    const server = await startTestServer({ args: ['--database-url', url, '--database-reconnect-seconds', '0'] });
    try {
      await createVault(server, 'lock-vault');
      const cut = await pgQuery(url, `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE ${LOCK_CONNECTION}`);
      assert.deepEqual(cut, [{ done: true }], 'exactly one lock connection');
      await until('the server exits', () => server.exitCode() !== null);
      assert.equal(server.exitCode(), 1, server.logs());
      assert.match(server.logs(), /lost the database lock/);
      // Its lock went with it: a server started now takes the database.
      const next = await startTestServer({ dataDir: server.dataDir, args: ['--database-url', url] });
      try {
        const vault = await api(next, 'GET', `/subscriptions/${next.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/lock-vault?api-version=2023-07-01`);
        assert.equal(vault.status, 200, JSON.stringify(vault.body));
      } finally {
        await next.stop();
      }
    } finally {
      await server.stop();
    }
  });

  it('a standby waits while another server holds the database and takes over, with its data, when that server dies', async () => {
    const url = await freshPostgresDatabase(db);
    const first = await startTestServer({ args: ['--database-url', url] });
    const standbyDir = mkdtempSync(join(tmpdir(), 'coffer-pg-standby-'));
    let standby: TestServer | undefined;
    try {
      await createVault(first, 'ha-vault');
      await secretClient(first, 'ha-vault').setSecret('db-creds', VALUE);
      // The standby needs the deployment's master key (or COFFER_MASTER_KEY); the rest is in the database.
      copyFileSync(join(first.dataDir, 'master.key'), join(standbyDir, 'master.key'));
      const starting = startTestServer({ dataDir: standbyDir, args: ['--database-url', url, '--standby'], startTimeoutMs: 60_000 });
      starting.catch(() => undefined);
      await until('the standby waits for the lock', async () => (await pgQuery(url, `SELECT 1 FROM pg_stat_activity WHERE ${LOCK_CONNECTION} AND wait_event_type = 'Lock'`)).length === 1);
      assert.ok(!existsSync(join(standbyDir, 'bootstrap.json')), 'the standby has done nothing before it holds the lock');
      assert.equal((await secretClient(first, 'ha-vault').getSecret('db-creds')).value, VALUE, 'the first server still serves');

      await first.kill();
      standby = await starting;
      assert.equal((await secretClient(standby, 'ha-vault').getSecret('db-creds')).value, VALUE);
      assert.match(standby.logs(), /standby: another coffer server holds the database/);
      const verify = await api(standby, 'GET', '/coffer/audit/verify');
      assert.equal(verify.body!.ok, true, JSON.stringify(verify.body));
    } finally {
      await standby?.stop();
      await first.stop();
      rmSync(standbyDir, { recursive: true, force: true });
    }
  });

  it('--standby without --database-url is a configuration error', async () => {
    await assert.rejects(startTestServer({ args: ['--standby'] }), /standby needs databaseUrl/);
  });
});
