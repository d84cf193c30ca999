import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { LOCK_FILE } from '../src/server/data-dir-lock.js';
import { DEV_IDS } from '../src/identity/identity-types.js';
import { freePort, ROOT, runServerToEnd, startTestServer } from './support/server-fixture.js';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';

// A start that ends refused changes nothing (server/start-preflight.ts): the
// data dir of an older release (test/fixtures), under a condition this build
// refuses, is left byte for byte as it was, so the older build still opens
// it. Compared: the data dir's file names and every file's bytes (coffer.db
// included: a start that commits nothing leaves a WAL database's file as it
// was), and, read-only, the database's schema version and every table's rows,
// which say what changed when the bytes differ. Only the data dir's lock file
// (server.lock, data-dir-lock.ts) is new after the first start of a build with
// it: it is taken before anything else is read, and stays.

const FIXTURES = join(ROOT, 'test', 'fixtures');

function unpack(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-refused-'));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  writeFileSync(join(dir, 'coffer.db'), gunzipSync(readFileSync(join(dir, 'coffer.db.gz'))));
  for (const f of ['coffer.db.gz', 'manifest.json']) rmSync(join(dir, f));
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o600);
  chmodSync(dir, 0o700);
  return dir;
}

/** The data dir's files (tls/ included) and their hashes, but for the lock file, which every start writes. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(f.parentPath, f.name);
    if (f.isFile() && path !== join(dir, LOCK_FILE)) out[path.slice(dir.length + 1)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

/** The database's schema version and rows, read without writing. */
function contents(dir: string): { version: number; tables: Record<string, unknown[]> } {
  // Not a read-only connection: that one would leave the WAL's companion files behind, which the last
  // read-write connection removes on closing. query_only: it writes nothing.
  const db = new Database(join(dir, 'coffer.db'), { fileMustExist: true });
  try {
    db.pragma('query_only = ON');
    const version = db.prepare<[], { v: number }>('SELECT MAX(version) AS v FROM schema_migrations').get()!.v;
    const tables: Record<string, unknown[]> = { sqlite_master: db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all() };
    for (const { name } of db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()) {
      // Sorted here: WITHOUT ROWID tables have no rowid to order by.
      tables[name] = db.prepare(`SELECT * FROM "${name}"`).all().sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }
    return { version, tables };
  } finally {
    db.close();
  }
}

/** Starts this build on `fixture`, changed by `prepare`: refused with `refusal`, the data dir as prepared. */
async function refusedUnchanged(fixture: string, prepare: (dir: string) => void, refusal: RegExp, args: string[] = ['--dev']) {
  const dir = unpack(fixture);
  try {
    prepare(dir);
    const before = { files: files(dir), contents: contents(dir) };
    const { code, output } = await runServerToEnd([...args, '--data-dir', dir, '--port', String(await freePort())]);
    assert.equal(code, 1, output);
    assert.match(output, refusal);
    assert.deepEqual(files(dir), before.files, 'the data dir changed');
    assert.ok(existsSync(join(dir, LOCK_FILE)), 'the data dir lock was taken');
    assert.deepEqual(contents(dir), before.contents, 'the database changed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const remove = (...names: string[]) => (dir: string) => names.forEach((f) => rmSync(join(dir, f)));

describe('a refused start changes neither the database nor the data dir', () => {
  const unsealed = /holds \d+ role assignments, custom roles, memberships or vaults without a seal, and no authorization key/;

  it('an old database in a data dir that did not serve it (no bootstrap.json)', () => refusedUnchanged('upgrade-from-98efba0', remove('bootstrap.json'), unsealed));

  it('a database an audit-keyed build served, in a data dir that lost its records', () => refusedUnchanged('upgrade-from-5033529', remove('audit-key.json'), unsealed));

  it("another deployment's master key", () =>
    refusedUnchanged(
      'upgrade-from-5033529',
      (dir) => cpSync(join(FIXTURES, 'upgrade-from-98efba0', 'master.key'), join(dir, 'master.key')),
      /the database's keys are wrapped by master key \S+, which this server does not have/,
    ));

  it('no master key: none is made for a database it would not open', () =>
    refusedUnchanged('upgrade-from-5033529', remove('master.key'), /the database's keys are wrapped by master key \S+, which this server does not have/));

  it('a data dir that recorded a credential pepper the database does not have', () =>
    refusedUnchanged(
      'upgrade-from-5033529',
      (dir) => writeFileSync(join(dir, 'credential-pepper.json'), JSON.stringify({ fingerprint: 'f'.repeat(32), generation: 0, converted: true }) + '\n', { mode: 0o600 }),
      /the database's credential pepper is missing, but this data dir recorded one/,
    ));

  it('a data dir that recorded another audit key', () =>
    refusedUnchanged(
      'upgrade-from-5033529',
      (dir) => {
        const file = join(dir, 'audit-key.json');
        const recorded = JSON.parse(readFileSync(file, 'utf8')) as { fingerprint: string };
        writeFileSync(file, JSON.stringify({ ...recorded, fingerprint: '0'.repeat(recorded.fingerprint.length) }) + '\n', { mode: 0o600 });
      },
      /the database's audit key is another/,
    ));

  it('a TLS certificate it cannot read', () =>
    refusedUnchanged('upgrade-from-5033529', () => undefined, /cannot read the TLS certificate/, ['--dev', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem']));

  it('a --dev data dir started without --dev', () => refusedUnchanged('upgrade-from-5033529', () => undefined, /this data dir was created with --dev/, []));

});

describe('a refused start with a master key rotation at start changes nothing', () => {
  it("the administrator's row changed outside coffer: refused before the keys are rewrapped under the new master key", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-refused-'));
    const [oldKey, newKey] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    try {
      const server = await startTestServer({ dataDir: dir, env: { COFFER_MASTER_KEY: oldKey } });
      await server.stop();
      const db = new Database(join(dir, 'coffer.db'));
      db.prepare("UPDATE settings SET value = ? WHERE key = 'adminObjectId'").run(DEV_IDS.userObjectId);
      db.close();
      const before = { files: files(dir), contents: contents(dir) };
      const env = { COFFER_MASTER_KEY: newKey, COFFER_PREVIOUS_MASTER_KEYS: oldKey };
      const { code, output } = await runServerToEnd(['--dev', '--data-dir', dir, '--port', String(await freePort())], 30_000, env);
      assert.equal(code, 1, output);
      assert.match(output, /the deployment administrator's object id .* does not match its seal/);
      assert.deepEqual(files(dir), before.files, 'the data dir changed');
      assert.deepEqual(contents(dir), before.contents, 'the database changed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a start refused by the authorization digest changes nothing', () => {
  it("a role assignment put back with the journal's triggers dropped: refused before the triggers are put back", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-refused-'));
    try {
      const server = await startTestServer({ dataDir: dir });
      const reader = await newServicePrincipal(server, 'refused-reader');
      const scope = `/subscriptions/${server.bootstrap.subscriptionId}`;
      const put = await assignRole(server, scope, ROLE_IDS['Key Vault Secrets User'], reader.id);
      assert.equal(put.status, 201);
      const db = new Database(join(dir, 'coffer.db'));
      const saved = db.prepare('SELECT * FROM role_assignments WHERE principal_id = ?').get(reader.id) as Record<string, unknown>;
      db.close();
      assert.equal((await api(server, 'DELETE', `${scope}/providers/Microsoft.Authorization/roleAssignments/${String(saved.id).split('/').pop()}?api-version=2022-04-01`)).status, 200);
      await server.stop();
      // A writer who knows of the journal drops its trigger and puts the revoked row back.
      const writer = new Database(join(dir, 'coffer.db'));
      writer.exec('DROP TRIGGER authorization_journal_role_assignments_insert');
      writer.prepare(`INSERT INTO role_assignments (${Object.keys(saved).join(', ')}) VALUES (${Object.keys(saved).map((k) => `@${k}`).join(', ')})`).run(saved);
      writer.close();
      const before = { files: files(dir), contents: contents(dir) };
      const { code, output } = await runServerToEnd(['--dev', '--data-dir', dir, '--port', String(await freePort())]);
      assert.equal(code, 1, output);
      assert.match(output, /role assignments in the database are not those coffer last sealed/);
      assert.deepEqual(files(dir), before.files, 'the data dir changed');
      assert.deepEqual(contents(dir), before.contents, 'the database changed (the dropped trigger was put back)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
