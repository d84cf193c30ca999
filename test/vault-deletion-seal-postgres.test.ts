import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newServicePrincipal, setPolicy, statusOf } from './support/access-kit.js';
import { armClient, createVault, credential, secretClient } from './support/clients.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { pgQuery, pgRow } from './support/pg-rows.js';
import { freePort, runServerToEnd, startTestServer, type TestServer } from './support/server-fixture.js';

// vault-deletion-seal.test.ts on PostgreSQL: a soft-deleted vault made live again with SQL grants nothing,
// stops the next start, and is recovered and purged through ARM, sealed at each step.

const dirs: string[] = [];
let db: TestDatabase;
before(async () => {
  db = await startPostgres();
});
after(async () => {
  await db?.stop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const start = (dataDir: string, url: string) => startTestServer({ dataDir, args: ['--database-url', url] });

async function refusedStart(dataDir: string, url: string): Promise<string> {
  const { code, output } = await runServerToEnd(['--port', String(await freePort()), '--data-dir', dataDir, '--dev', '--log-level', 'warn', '--database-url', url]);
  assert.notEqual(code, 0, `the start was not refused:\n${output}`);
  return output;
}

async function logged(s: TestServer, re: RegExp): Promise<void> {
  while (!re.test(s.logs())) await new Promise((r) => setTimeout(r, 50));
}

const journalSize = async (url: string) => Number((await pgRow(url, 'SELECT count(*) AS n FROM authorization_journal')).n);

describe('a soft-deleted vault made live again with SQL, on PostgreSQL', () => {
  it('grants nothing, stops the next start; recovered through ARM it grants again, and purges', async () => {
    const url = await freshPostgresDatabase(db);
    const dir = mkdtempSync(join(tmpdir(), 'coffer-vault-deletion-pg-'));
    dirs.push(dir);
    let s = await start(dir, url);
    try {
      const sp = await newServicePrincipal(s, 'deletion-pg-reader');
      const vault = await createVault(s, 'deletion-pg');
      await secretClient(s, 'deletion-pg').setSecret('db', 'v');
      assert.equal((await setPolicy(s, vault.id!, 'add', sp.id, ['get'])).status, 200);
      const asSp = () => secretClient(s, 'deletion-pg', credential(s, sp.appId, sp.secret));
      assert.equal((await asSp().getSecret('db')).value, 'v');

      await armClient(s).vaults.delete('rg-test', 'deletion-pg');
      const deleted = await pgRow(url, 'SELECT deleted_at, scheduled_purge_at, mac FROM vaults WHERE name = $1', 'deletion-pg');
      assert.ok(deleted.deleted_at !== null && String(deleted.mac).startsWith('a2.'), JSON.stringify(deleted));
      assert.equal(await journalSize(url), 0, 'the delete folded the journal');

      await pgQuery(url, "UPDATE vaults SET deleted_at = NULL, scheduled_purge_at = NULL WHERE name = 'deletion-pg'");
      assert.equal(await statusOf(asSp().getSecret('db')), 500);
      await logged(s, /a vault in the database does not match its seal/);
      await s.stop();
      assert.match(await refusedStart(dir, url), /vaults in the database are not those coffer last sealed/);

      await pgQuery(url, "UPDATE vaults SET deleted_at = $1, scheduled_purge_at = $2 WHERE name = 'deletion-pg'", [deleted.deleted_at, deleted.scheduled_purge_at]);
      s = await start(dir, url);
      assert.equal(await statusOf(asSp().getSecret('db')), 404);
      await createVault(s, 'deletion-pg', { createMode: 'recover' });
      assert.equal((await asSp().getSecret('db')).value, 'v');
      assert.equal(await journalSize(url), 0, 'the recover folded the journal');
      await s.stop();
      s = await start(dir, url);
      assert.equal((await asSp().getSecret('db')).value, 'v');

      await armClient(s).vaults.delete('rg-test', 'deletion-pg');
      await armClient(s).vaults.beginPurgeDeletedAndWait('deletion-pg', 'local');
      assert.equal(Number((await pgRow(url, "SELECT count(*) AS n FROM vaults WHERE name = 'deletion-pg'")).n), 0);
      await s.stop();
      s = await start(dir, url);
    } finally {
      await s.stop();
    }
  });
});
