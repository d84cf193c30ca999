import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LOCK_FILE } from '../src/server/data-dir-lock.js';
import { createVault } from './support/clients.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { freePort, runServerToEnd, startTestServer } from './support/server-fixture.js';

// A refused start on PostgreSQL changes nothing (server/start-preflight.ts,
// storage/postgres/pg-start-view.ts): a database whose authorization rows are
// unsealed and whose key is gone (as one from before the seal), started from
// a data dir that never served it, is refused before the start makes a key
// for it. Compared: the settings rows, the vaults' seals, the schema version
// and the new data dir's files.

async function snapshot(url: string): Promise<unknown> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return {
      version: (await c.query('SELECT MAX(version) AS v FROM schema_migrations')).rows[0],
      settings: (await c.query('SELECT key, value FROM settings ORDER BY key')).rows,
      vaults: (await c.query('SELECT id, mac, dek_wrapped, master_key_id FROM vaults ORDER BY id')).rows,
    };
  } finally {
    await c.end();
  }
}

describe('a refused start on PostgreSQL changes neither the database nor the data dir', () => {
  let db: TestDatabase;
  let url: string;
  let masterKey: Buffer;
  const dirs: string[] = [];

  before(async () => {
    db = await startPostgres();
    url = await freshPostgresDatabase(db);
    const server = await startTestServer({ args: ['--database-url', url] });
    masterKey = readFileSync(join(server.dataDir, 'master.key'));
    await createVault(server, 'sealed-vault');
    await server.stop();
    // As a database from before the authorization seal: rows without one, and no key.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query("DELETE FROM settings WHERE key = 'authorizationKey'");
    await c.query('UPDATE vaults SET mac = NULL');
    await c.end();
  });
  after(async () => {
    await db?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('rows unsealed and no key, from a data dir that did not serve the database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'coffer-refused-pg-'));
    dirs.push(dataDir);
    writeFileSync(join(dataDir, 'master.key'), masterKey, { mode: 0o600 });
    const before = await snapshot(url);
    const { code, output } = await runServerToEnd(['--dev', '--database-url', url, '--data-dir', dataDir, '--port', String(await freePort())]);
    assert.equal(code, 1, output);
    assert.match(output, /holds \d+ role assignments, custom roles, memberships or vaults without a seal, and no authorization key/);
    assert.deepEqual(await snapshot(url), before, 'the database changed');
    assert.deepEqual(readdirSync(dataDir).filter((f) => f !== LOCK_FILE), ['master.key'], 'the data dir changed');
  });
});
