import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SchemaTooNewError } from '../src/storage/schema-version.js';
import { migrate } from '../src/storage/sqlite/sqlite-migrate.js';
import { MIGRATIONS } from '../src/storage/sqlite/sqlite-migrations.js';
import { LATEST_VERSION_SQL } from '../src/storage/sqlite/sqlite-secret-store.js';
import { openSqliteDatabase, openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { WAL_CHECK_EVERY_COMMITS } from '../src/storage/sqlite/sqlite-writer.js';
import { auditRecord, runStoreConformance, vaultRow, versionRow } from './support/store-conformance.js';
import { insertVault, keyAuditChain } from './support/store-conformance-kit.js';

const root = mkdtempSync(join(tmpdir(), 'coffer-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A path for a database file that does not exist yet, in its own directory. */
function freshFile(): string {
  const dir = mkdtempSync(join(root, `db${n++}-`));
  return join(dir, 'coffer.db');
}

function withRawDb<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const recordedVersions = (file: string): number[] =>
  withRawDb(file, (db) => (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map((r) => r.version));

const latestKnown = Math.max(...MIGRATIONS.map((m) => m.version));

runStoreConformance('sqlite', async () => {
  const file = freshFile();
  const store = openSqliteStore({ file });
  return { store, cleanup: () => store.close() };
});

describe('sqlite store specifics', () => {
  it('connects in WAL mode with synchronous=FULL, foreign keys and a busy timeout', () => {
    const file = freshFile();
    const db = openSqliteDatabase(file);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL');
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      assert.ok((db.pragma('busy_timeout', { simple: true }) as number) >= 1000);
    } finally {
      db.close();
    }
    assert.equal(withRawDb(file, (raw) => raw.pragma('journal_mode', { simple: true })), 'wal', 'WAL is recorded in the file');
  });

  it('records the migrations, and reopening applies nothing twice and keeps the data', async () => {
    const file = freshFile();
    const first = openSqliteStore({ file });
    const v = vaultRow();
    await insertVault(first, v);
    const secret = await first.secrets.insertVersion(versionRow(v.id, 'kept', { tags: { a: 'b' } }));
    await first.settings.set('tenantId', 't-1');
    await first.close();
    assert.deepEqual(recordedVersions(file), MIGRATIONS.map((m) => m.version));

    const second = openSqliteStore({ file });
    try {
      assert.deepEqual(await second.vaults.getById(v.id), v);
      assert.deepEqual(await second.secrets.getVersion(v.id, 'kept', null), secret);
      assert.equal(await second.settings.get('tenantId'), 't-1');
    } finally {
      await second.close();
    }
    assert.deepEqual(recordedVersions(file), MIGRATIONS.map((m) => m.version));
  });

  it('applies only pending migrations, each batch atomically', () => {
    const file = freshFile();
    openSqliteDatabase(file).close();
    withRawDb(file, (db) => {
      const next = latestKnown + 1;
      assert.equal(migrate(db, [...MIGRATIONS, { version: next, sql: 'CREATE TABLE extra (x INTEGER) STRICT;' }]), next);
      const broken = { version: next + 1, sql: 'CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);' };
      assert.throws(() => migrate(db, [...MIGRATIONS, { version: next, sql: 'unused' }, broken]), /no such table/);
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
      assert.ok(tables.includes('extra'));
      assert.ok(!tables.includes('half_done'), 'a failed migration leaves nothing behind');
    });
    assert.deepEqual(recordedVersions(file), [...MIGRATIONS.map((m) => m.version), latestKnown + 1]);
  });

  it('migration 4 keeps every version, its row id and the latest pointer of a schema-3 database', async () => {
    // A vault row written by today's store, copied into a schema-3 file (the columns a schema-3 vaults table has).
    const source = freshFile();
    const v = vaultRow();
    const setup = openSqliteStore({ file: source });
    await insertVault(setup, v);
    await setup.close();

    const file = freshFile();
    const sealed = (i: number) => Buffer.from(`sealed-${i}`);
    const versionIds = ['a1', 'b1', 'a2', 'a3'].map((k) => k.padEnd(32, '0'));
    withRawDb(file, (db) => {
      migrate(db, MIGRATIONS.filter((m) => m.version <= 3));
      const columns = (db.prepare("SELECT name FROM pragma_table_info('vaults')").all() as Array<{ name: string }>).map((c) => c.name).join(', ');
      db.exec(`ATTACH '${source}' AS source; INSERT INTO vaults (${columns}) SELECT ${columns} FROM source.vaults; DETACH source;`);
      db.prepare('INSERT INTO secrets (vault_id, name_key, name, latest_seq, deleted_at, scheduled_purge_at) VALUES (?, ?, ?, ?, ?, ?)').run(v.id, 'alpha', 'Alpha', 3, null, null);
      db.prepare('INSERT INTO secrets (vault_id, name_key, name, latest_seq, deleted_at, scheduled_purge_at) VALUES (?, ?, ?, ?, ?, ?)').run(v.id, 'beta', 'beta', 1, 5000, 9000);
      const version = db.prepare(
        `INSERT INTO secret_versions (rowid, vault_id, name_key, version, seq, name, ciphertext, content_type, tags, enabled, nbf, exp, created, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, 1, NULL, NULL, ?, ?)`,
      );
      // Row ids out of seq order and with gaps, as deletes leave them.
      version.run(10, v.id, 'alpha', versionIds[0], 1, 'Alpha', sealed(0), 100, 100);
      version.run(12, v.id, 'beta', versionIds[1], 1, 'beta', sealed(1), 200, 200);
      version.run(30, v.id, 'alpha', versionIds[3], 3, 'Alpha', sealed(3), 400, 400);
      version.run(20, v.id, 'alpha', versionIds[2], 2, 'Alpha', sealed(2), 300, 300);
    });

    const store = openSqliteStore({ file });
    try {
      const latest = await store.secrets.getVersion(v.id, 'alpha', null);
      assert.equal(latest?.version, versionIds[3]);
      assert.equal(latest?.seq, 3);
      assert.deepEqual(latest?.ciphertext, sealed(3));
      assert.deepEqual((await store.secrets.getVersion(v.id, 'ALPHA', versionIds[2]!))?.ciphertext, sealed(2));
      assert.equal((await store.secrets.listVersions(v.id, 'alpha', 25, null)).items.length, 3);
      assert.equal((await store.secrets.getSummary(v.id, 'alpha'))?.version, versionIds[3]);
      assert.equal(await store.secrets.getVersion(v.id, 'beta', null), null, 'deleted stays deleted');
      assert.ok(await store.secrets.recover(v.id, 'beta'));
      assert.deepEqual((await store.secrets.getVersion(v.id, 'beta', null))?.ciphertext, sealed(1));

      const next = await store.secrets.insertVersion(versionRow(v.id, 'alpha'));
      assert.equal(next.seq, 4);
      assert.equal(next.name, 'Alpha');
      assert.equal((await store.secrets.getVersion(v.id, 'alpha', null))?.version, next.version);
    } finally {
      await store.close();
    }
    assert.deepEqual(recordedVersions(file), MIGRATIONS.map((m) => m.version));
    withRawDb(file, (db) => {
      const rows = db.prepare('SELECT id, version FROM secret_versions WHERE id <= 30 ORDER BY id').all() as Array<{ id: number; version: string }>;
      assert.deepEqual(rows, [10, 12, 20, 30].map((id, i) => ({ id, version: versionIds[i] })), 'row ids are kept');
      const indexes = db.prepare("SELECT name FROM pragma_index_list('secret_versions')").all();
      assert.equal(indexes.length, 1, 'only the version-id index is left');
    });
  });

  it('version 9 makes each refresh token stored before it a family of its own', async () => {
    const file = freshFile();
    withRawDb(file, (db) => {
      migrate(db, MIGRATIONS.filter((m) => m.version <= 8));
      const insert = db.prepare('INSERT INTO refresh_tokens (token_hash, object_id, client_id, scope, expires_at) VALUES (?, ?, ?, ?, ?)');
      for (const hash of ['old-1', 'old-2']) insert.run(hash, 'oid', 'cid', 'https://vault.localhost', 100);
    });
    const store = openSqliteStore({ file });
    try {
      assert.equal(await store.refreshTokens.revokeFamily('old-1', 'cid'), true);
      assert.equal((await store.refreshTokens.take('old-2', 'cid', 50))?.familyId, 'old-2', 'the other one is left');
    } finally {
      await store.close();
    }
  });

  it('refuses a database whose schema is newer than the code, with a clear error', () => {
    const file = freshFile();
    openSqliteDatabase(file).close();
    withRawDb(file, (db) => db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(latestKnown + 98));
    assert.throws(
      () => openSqliteStore({ file }),
      (err: unknown) => {
        assert.ok(err instanceof SchemaTooNewError);
        assert.equal(err.found, latestKnown + 98);
        assert.equal(err.known, latestKnown);
        assert.match(err.message, new RegExp(`coffer\\.db has schema version ${latestKnown + 98}, newer than this coffer understands`));
        return true;
      },
    );
    assert.deepEqual(recordedVersions(file), [...MIGRATIONS.map((m) => m.version), latestKnown + 98], 'the refused file is unchanged');
  });

  it('the database, -wal and -shm files are mode 0600', async () => {
    const file = freshFile();
    const store = openSqliteStore({ file });
    try {
      await store.settings.set('k', 'v');
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        assert.ok(existsSync(f), `${f} exists while the store is open`);
        assert.equal(statSync(f).mode & 0o777, 0o600, f);
      }
    } finally {
      await store.close();
    }
  });

  it('tightens the mode of an existing database file to 0600', async () => {
    const file = freshFile();
    openSqliteDatabase(file).close();
    chmodSync(file, 0o644);
    writeFileSync(`${file}-wal`, '');
    chmodSync(`${file}-wal`, 0o644);
    const store = openSqliteStore({ file });
    try {
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600);
    } finally {
      await store.close();
    }
  });

  it('a committed write survives the process being killed without closing the store', async () => {
    const file = freshFile();
    const v = vaultRow();
    const setup = openSqliteStore({ file });
    await insertVault(setup, v);
    await setup.close();

    const storeModule = new URL('../src/storage/sqlite/sqlite-store.ts', import.meta.url).href;
    const script = `
      const { openSqliteStore } = await import(${JSON.stringify(storeModule)});
      const store = openSqliteStore({ file: ${JSON.stringify(file)} });
      await store.secrets.insertVersion({ vaultId: ${JSON.stringify(v.id)}, name: 'survivor', version: 'v1', ciphertext: Buffer.from('sealed'),
        contentType: null, tags: null, enabled: true, nbf: null, exp: null, created: 1, updated: 1 });
      process.kill(process.pid, 'SIGKILL');`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.signal, 'SIGKILL', child.stderr);

    const store = openSqliteStore({ file });
    try {
      assert.deepEqual((await store.secrets.getVersion(v.id, 'survivor', null))?.ciphertext, Buffer.from('sealed'));
    } finally {
      await store.close();
    }
  });

  it('reads the latest version of a secret through indexes only', () => {
    const file = freshFile();
    const db = openSqliteDatabase(file);
    try {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${LATEST_VERSION_SQL}`).all('vault', 'name') as Array<{ detail: string }>).map((r) => r.detail);
      assert.equal(plan.length, 2, plan.join('\n'));
      for (const step of plan) assert.match(step, /^SEARCH .* USING (INTEGER PRIMARY KEY|PRIMARY KEY|INDEX|COVERING INDEX)/, plan.join('\n'));
    } finally {
      db.close();
    }
  });

  describe('secret reads share one read snapshot per turn of the event loop', () => {
    const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
    const latestCiphertext = async (store: ReturnType<typeof openSqliteStore>, vaultId: string, name: string) =>
      (await store.secrets.getVersion(vaultId, name, null))?.ciphertext.toString() ?? null;

    async function withSecret(fn: (store: ReturnType<typeof openSqliteStore>, file: string, vaultId: string) => Promise<void>): Promise<void> {
      const file = freshFile();
      const store = openSqliteStore({ file });
      const v = vaultRow();
      try {
        await insertVault(store, v);
        await store.secrets.insertVersion(versionRow(v.id, 'db', { ciphertext: Buffer.from('one') }));
        await nextTurn();
        await fn(store, file, v.id);
      } finally {
        await store.close();
      }
    }

    it('a commit the store was not told about shows from the next turn on', () =>
      withSecret(async (store, file, vaultId) => {
        assert.equal(await latestCiphertext(store, vaultId, 'db'), 'one');
        // Another connection commits a new latest version, as the writer thread does before its acknowledgement arrives.
        withRawDb(file, (db) => {
          const id = db
            .prepare(
              "INSERT INTO secret_versions (vault_id, name_key, version, seq, name, ciphertext, enabled, created, updated) VALUES (?, 'db', 'v2', 2, 'db', ?, 1, 3, 3)",
            )
            .run(vaultId, Buffer.from('two')).lastInsertRowid;
          db.prepare("UPDATE secrets SET latest_seq = 2, latest_id = ? WHERE vault_id = ? AND name_key = 'db'").run(id, vaultId);
        });
        assert.equal(await latestCiphertext(store, vaultId, 'db'), 'one', 'same turn: same snapshot');
        await nextTurn();
        assert.equal(await latestCiphertext(store, vaultId, 'db'), 'two');
      }));

    it('every change through the store shows on the next read, in the same turn', () =>
      withSecret(async (store, _file, vaultId) => {
        const visible = async (expected: string | null, what: string) => assert.equal(await latestCiphertext(store, vaultId, 'db'), expected, what);
        await visible('one', 'before');
        const version = (await store.secrets.getVersion(vaultId, 'db', null))!.version;
        await store.secrets.updateVersion(vaultId, 'db', version, { enabled: false, updated: 5 });
        assert.equal((await store.secrets.getVersion(vaultId, 'db', null))?.enabled, false, 'update');
        await store.secrets.markDeleted(vaultId, 'db', { deletedAt: 6, scheduledPurgeAt: 7 });
        await visible(null, 'soft delete');
        await store.secrets.recover(vaultId, 'db');
        await visible('one', 'recover');
        await store.secrets.markDeleted(vaultId, 'db', { deletedAt: 6, scheduledPurgeAt: 7 });
        await store.secrets.purgeExpired(8);
        await store.secrets.restore(vaultId, 'db', [versionRow(vaultId, 'db', { ciphertext: Buffer.from('restored') })]);
        await visible('restored', 'purge of expired, then restore');
        await store.secrets.purge(vaultId, 'db');
        await visible(null, 'purge');
        await store.secrets.restore(vaultId, 'db', [versionRow(vaultId, 'db', { ciphertext: Buffer.from('again') })]);
        await visible('again', 'restore');
        await store.vaults.purge(vaultId);
        await visible(null, 'purge of the vault');
      }));
  });

  it('empties a WAL that readers kept from starting over, once it passes its limit', async () => {
    const file = freshFile();
    const walLimit = 128 * 1024;
    const store = openSqliteStore({ file, walLimitBytes: walLimit });
    await keyAuditChain(store);
    // A reader inside the WAL: no checkpoint can finish and the WAL cannot start over while it stays.
    const reader = new Database(file, { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT COUNT(*) FROM settings').get();
      const big = (i: number) => ({ ...auditRecord(`op-${i}`), record: JSON.stringify({ pad: 'x'.repeat(2000), i }) });
      // These commits stay clear of the writer's first look at the WAL's size.
      const early = WAL_CHECK_EVERY_COMMITS - 24;
      for (let i = 0; i < early; i++) await store.audit.append([big(i)]);
      const grown = statSync(`${file}-wal`).size;
      assert.ok(grown > walLimit, `the WAL grew past its limit while the reader stayed (${grown} bytes)`);
      reader.exec('COMMIT');
      // The commit the writer looks after finds the WAL too big and empties it; one more starts it again.
      const total = WAL_CHECK_EVERY_COMMITS + 1;
      for (let i = early; i < total; i++) await store.audit.append([big(i)]);
      const size = statSync(`${file}-wal`).size;
      assert.ok(size < walLimit, `WAL of ${size} bytes`);
      assert.equal((await store.audit.range(1, 1000)).length, total);
    } finally {
      if (reader.inTransaction) reader.exec('COMMIT');
      reader.close();
      await store.close();
    }
  });

  it('keeps ciphertext in exactly one table, which has a name column (test/at-rest.test.ts relies on it)', () => {
    const file = freshFile();
    withRawDb(file, (db) => migrate(db));
    withRawDb(file, (db) => {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%ciphertext%'").all() as Array<{ name: string }>;
      assert.equal(tables.length, 1);
      const columns = (db.prepare(`PRAGMA table_info(${tables[0]!.name})`).all() as Array<{ name: string }>).map((c) => c.name);
      assert.ok(columns.includes('name') && columns.includes('ciphertext'), columns.join(', '));
    });
  });
});
