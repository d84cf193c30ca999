import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { createVault, secretClient } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { refusedStart, startTestServer, type TestServer } from './support/server-fixture.js';
import { until } from './support/until.js';

// A data dir in a bad state (found by a fuzzing helper). Its database
// missing: a start is refused saying so, and leaves no empty database
// behind, which an offline master key rotation would then take for the
// deployment's and drop the master key the real data (a moved database, or
// PostgreSQL's) is wrapped with. A record or the database damaged: refused
// naming the file. Writable by others: a warning.

describe('a data dir in a bad state', () => {
  let server: TestServer;
  const db = () => join(server.dataDir, 'coffer.db');
  const aside = () => join(server.dataDir, 'coffer.db.aside');

  // A data dir of the test's own: stop() leaves it.
  const dataDir = mkdtempSync(join(tmpdir(), 'coffer-missing-db-'));
  before(async () => {
    server = await startTestServer({ dataDir });
    await createVault(server, 'kept-vault');
    await secretClient(server, 'kept-vault').setSecret('kept', 'the value');
    await server.stop();
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('without its database, a start is refused saying so and makes none; an offline rotation is refused and keeps the master key', async () => {
    renameSync(db(), aside());
    const output = await refusedStart(server.dataDir);
    assert.match(output, /coffer\.db does not exist, and a start with a new, empty database is refused: /);
    assert.match(output, /coffer admin restore --file BACKUP\); if the deployment keeps its data in PostgreSQL, start with --database-url\./);
    assert.equal(existsSync(db()), false, 'the refused start made no database');

    const key = readFileSync(join(server.dataDir, 'master.key'), 'utf8');
    const missing = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /coffer\.db does not exist\. If this deployment keeps its data in PostgreSQL, pass --database-url/);
    // An empty database (left by a build before this one's refused start): not the deployment's either.
    (await openSqliteStore({ file: db() })).close();
    const empty = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(empty.code, 1, empty.stdout);
    assert.match(empty.stderr, /the database holds no key wrapped by this data dir's master key: it is not this deployment's database, or no server has started on it\. Nothing was changed\./);
    assert.equal(readFileSync(join(server.dataDir, 'master.key'), 'utf8'), key, 'the master key is kept');

    for (const suffix of ['', '-wal', '-shm']) if (existsSync(db() + suffix)) renameSync(db() + suffix, `${db()}.empty${suffix}`);
    renameSync(aside(), db());
    await server.restart();
    assert.equal((await secretClient(server, 'kept-vault').getSecret('kept')).value, 'the value');
    await server.stop();
  });

  it("a data dir record emptied or cut short: the start is refused naming the file, not with JSON's bare message", async () => {
    for (const name of ['audit-key.json', 'credential-pepper.json', 'authorization-key.json']) {
      const file = join(server.dataDir, name);
      const whole = readFileSync(file);
      writeFileSync(file, whole.subarray(0, 7));
      const output = await refusedStart(server.dataDir);
      assert.match(output, new RegExp(`ERROR: \\S+/${name.replace('.', '\\.')} cannot be read as the record coffer keeps there \\([^)]+\\): it was emptied or cut short; put it back from a copy of the data dir`), output);
      writeFileSync(file, whole);
    }
  });

  it('writable by its group or by others: the start warns', async () => {
    chmodSync(server.dataDir, 0o777);
    try {
      await server.restart();
      await until('the warning is logged', () => server.logs().includes('the data dir is writable by its group or by others'));
      await server.stop();
    } finally {
      chmodSync(server.dataDir, 0o700);
    }
    await server.restart();
    assert.equal(server.logs().split('the data dir is writable by its group or by others').length, 2, 'not with 0700');
    await server.stop();
  });

  it('a damaged database: the start is refused naming the file and what to do, not a bare "undefined"', async () => {
    const whole = readFileSync(db());
    const pages = statSync(db()).size / 4096;
    truncateSync(db(), Math.floor(pages / 2) * 4096);
    const output = await refusedStart(server.dataDir);
    assert.doesNotMatch(output, /ERROR: undefined/);
    assert.match(output, /the database \S+coffer\.db is damaged \(SQLite: [^)]+\): stop, and restore it from a backup \(coffer admin restore --file BACKUP\)\./);
    assert.ok(readFileSync(db()).equals(whole.subarray(0, Math.floor(pages / 2) * 4096)), 'left as it was');
  });
});
