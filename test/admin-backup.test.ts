import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createVault, secretClient } from './support/clients.js';
import { api } from './support/access-kit.js';
import { cliHome, coffer, type CliResult } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// coffer admin backup | restore: a consistent copy of the SQLite store taken
// while the server writes, put back with the server stopped; what it replaces
// is kept, the restore is recorded in the audit trail, and a file that is
// not a usable backup changes nothing.

const home = cliHome();
const admin = (...args: string[]) => coffer(home, ['admin', ...args]);
const backupDir = mkdtempSync(join(tmpdir(), 'coffer-backups-'));
const fileHash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

function succeeded(r: CliResult) {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.json<Record<string, any>>();
}

/** The data dir's file names and the database's bytes: what a refused restore must leave as it was. */
const dataDirState = (dir: string) => ({ names: readdirSync(dir).sort(), db: fileHash(join(dir, 'coffer.db')) });

describe('admin backup and restore (SQLite)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'kept-vault');
  });
  after(() => server?.stop());

  it('backs up while the server takes writes: every write acknowledged before it is in the copy; owner-only; never over an existing file', async () => {
    const client = secretClient(server, 'kept-vault');
    await client.setSecret('before-backup', 'one');
    // Writes under way while the backup runs, and after it.
    let writing = true;
    const load = (async () => {
      for (let i = 0; writing; i++) await client.setSecret(`during-${i % 20}`, `value-${i}`);
    })();
    const file = join(backupDir, 'first.db');
    const summary = succeeded(await admin('backup', '--data-dir', server.dataDir, '--file', file));
    writing = false;
    await load;
    await client.setSecret('after-backup', 'two');
    assert.equal(summary.file, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(summary.auditRecords.lastSeq > 0 && summary.bytes === statSync(file).size && summary.schemaVersion > 0, JSON.stringify(summary));

    const again = await admin('backup', '--data-dir', server.dataDir, '--file', file);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists: name a new file/);
    assert.equal(statSync(file).size, summary.bytes, 'the first backup is left as it was');
    assert.deepEqual(readdirSync(backupDir), ['first.db'], 'no partial file left behind');
    const nowhere = await admin('backup', '--data-dir', server.dataDir, '--file', join(backupDir, 'missing', 'x.db'));
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /missing does not exist: create the directory first, or name a file in another one/);
    assert.doesNotMatch(nowhere.stderr, /partial/, 'not the name of the partial file written first');
  });

  it('restore is refused while the server runs; stopped, it puts the backup in place, keeps what it replaced, and the start records it', async () => {
    const file = join(backupDir, 'first.db');
    const running = await admin('restore', '--data-dir', server.dataDir, '--file', file);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /a coffer server \(or another admin command\) is running on .*: stop it, then restore/);

    let result: Record<string, any> = {};
    await server.restart(async () => {
      result = succeeded(await admin('restore', '--data-dir', server.dataDir, '--file', file));
    });
    const keptIn: string = result.replaced.keptIn;
    assert.ok(existsSync(join(keptIn, 'coffer.db')) && existsSync(join(keptIn, 'audit-head.json')), readdirSync(keptIn).join(', '));
    assert.ok(result.replaced.lastAuditSeq > result.restoredFrom.auditRecords.lastSeq, 'the replaced trail went further');

    const client = secretClient(server, 'kept-vault');
    assert.equal((await client.getSecret('before-backup')).value, 'one');
    await assert.rejects(client.getSecret('after-backup'), (err: { statusCode?: number }) => err.statusCode === 404);
    const verify = await api(server, 'GET', '/coffer/audit/verify');
    assert.equal(verify.body!.ok, true, JSON.stringify(verify.body));
    const records = await api(server, 'GET', '/coffer/audit?operation=DatabaseRestore');
    const restore = (records.body!.value as Array<Record<string, any>>).find((r) => r.operationName === 'DatabaseRestore');
    assert.ok(restore, JSON.stringify(records.body));
    assert.equal(restore.seq, result.restoredFrom.auditRecords.lastSeq + 1, 'the first record after the backup');
    assert.ok(restore.resultDescription.includes(file) && restore.resultDescription.includes(keptIn), restore.resultDescription);
    assert.ok(!existsSync(join(server.dataDir, 'restored.json')), 'the note is gone once recorded');
  });

  it('refuses a file that is not a usable backup (not SQLite, cut short, another deployment, a PostgreSQL deployment) and changes nothing', async () => {
    const notSqlite = join(backupDir, 'notes.txt');
    writeFileSync(notSqlite, 'not a database\n'.repeat(100));
    const cut = join(backupDir, 'cut.db');
    copyFileSync(join(backupDir, 'first.db'), cut);
    truncateSync(cut, Math.floor(statSync(cut).size / 2));
    // A database writer's edit of a backup: a key every started server has, deleted, so that a start on it would
    // make one and trust what it finds (a planted client secret hash keyed, planted grants sealed).
    const edited = (name: string, setting: string) => {
      const file = join(backupDir, name);
      copyFileSync(join(backupDir, 'first.db'), file);
      const db = new Database(file);
      db.prepare('DELETE FROM settings WHERE key = ?').run(setting);
      db.close();
      return file;
    };
    const noPepper = edited('no-pepper.db', 'credentialPepper');
    const noAuthorizationKey = edited('no-authorization-key.db', 'authorizationKey');
    const noAuditKey = edited('no-audit-key.db', 'auditKey');
    const other = await startTestServer();
    const otherBackup = join(backupDir, 'other.db');
    try {
      succeeded(await admin('backup', '--data-dir', other.dataDir, '--file', otherBackup));
    } finally {
      await other.stop();
    }

    await server.restart(async () => {
      const state = dataDirState(server.dataDir);
      const cases: Array<[string, RegExp]> = [
        [notSqlite, /cannot be read as a SQLite database|is not a coffer database/],
        [cut, /is damaged|cannot be read/],
        [otherBackup, /was made under master key [0-9a-f]+, which this data dir's keyring \(master key [0-9a-f]+\) does not hold/],
        [join(backupDir, 'missing.db'), /does not exist/],
        [noPepper, /lacks its credential pepper, which every database a coffer server has started on holds: it was altered/],
        [noAuthorizationKey, /lacks its authorization key, which every database/],
        [noAuditKey, /lacks its audit key, which every database/],
      ];
      for (const [file, message] of cases) {
        const r = await admin('restore', '--data-dir', server.dataDir, '--file', file);
        assert.equal(r.code, 1, `${file}: ${r.stdout}`);
        assert.match(r.stderr, message, file);
        assert.deepEqual(dataDirState(server.dataDir), state, `${file} changed the data dir`);
      }
      const pg = await coffer(home, ['admin', 'restore', '--data-dir', server.dataDir, '--file', otherBackup], { COFFER_DATABASE_URL: 'postgres://localhost/coffer' });
      assert.equal(pg.code, 1);
      assert.match(pg.stderr, /PostgreSQL: back it up with pg_dump and restore with pg_restore/);
      // With the server stopped, a backup reads the database all the same.
      succeeded(await admin('backup', '--data-dir', server.dataDir, '--file', join(backupDir, 'offline.db')));
    });
    assert.equal((await secretClient(server, 'kept-vault').getSecret('before-backup')).value, 'one');
  });

  it('a backup made before a master key rotation restores with the master key of its time, and not without it', async () => {
    const client = secretClient(server, 'kept-vault');
    await client.setSecret('before-rotation', 'three');
    const file = join(backupDir, 'before-rotation.db');
    succeeded(await admin('backup', '--data-dir', server.dataDir, '--file', file));
    const oldKey = readFileSync(join(server.dataDir, 'master.key'));
    succeeded(await admin('rotate-master-key', '--data-dir', server.dataDir));
    await client.setSecret('after-rotation', 'four');

    await server.restart(async () => {
      const refused = await admin('restore', '--data-dir', server.dataDir, '--file', file);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /a backup made before a master key rotation opens only with the master key of its time/);
      writeFileSync(join(server.dataDir, 'master.key'), oldKey, { mode: 0o600 });
      succeeded(await admin('restore', '--data-dir', server.dataDir, '--file', file));
    });
    assert.equal((await client.getSecret('before-rotation')).value, 'three');
    await assert.rejects(client.getSecret('after-rotation'), (err: { statusCode?: number }) => err.statusCode === 404);
  });
});
