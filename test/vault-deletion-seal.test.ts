import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { newServicePrincipal, setPolicy, statusOf } from './support/access-kit.js';
import { armClient, createVault, credential, secretClient } from './support/clients.js';
import { freePort, runServerToEnd, startTestServer, type TestServer } from './support/server-fixture.js';

// A vault's seal covers its deletion state (authorization-seal.ts): an
// operator deletes a vault to cut everyone off, and a database writer who
// sets `deleted_at` back to NULL does not make it live again. Its access
// policies grant nothing (its data plane answers 500), the next start
// refuses the row, and the vault is recovered and purged through ARM as
// before, sealed at each step.

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function sqlRun(dataDir: string, statement: string, params: Record<string, unknown> = {}): number {
  const db = new Database(join(dataDir, 'coffer.db'));
  try {
    return db.prepare(statement).run(params).changes;
  } finally {
    db.close();
  }
}
function sqlGet<T>(dataDir: string, query: string, ...params: unknown[]): T {
  const db = new Database(join(dataDir, 'coffer.db'));
  try {
    return db.prepare(query).get(...params) as T;
  } finally {
    db.close();
  }
}

async function refusedStart(dataDir: string): Promise<string> {
  const { code, output } = await runServerToEnd(['--port', String(await freePort()), '--data-dir', dataDir, '--dev', '--log-level', 'warn']);
  assert.notEqual(code, 0, `the start was not refused:\n${output}`);
  return output;
}

async function logged(s: TestServer, re: RegExp): Promise<void> {
  while (!re.test(s.logs())) await new Promise((r) => setTimeout(r, 50));
}

describe('a soft-deleted vault made live again with SQL', () => {
  it('grants nothing, stops the next start; recovered through ARM it grants again, and purges', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-vault-deletion-'));
    dirs.push(dir);
    let s = await startTestServer({ dataDir: dir });
    try {
      const sp = await newServicePrincipal(s, 'deletion-reader');
      const vault = await createVault(s, 'deletion-seal');
      await secretClient(s, 'deletion-seal').setSecret('db', 'v');
      assert.equal((await setPolicy(s, vault.id!, 'add', sp.id, ['get'])).status, 200);
      const asSp = () => secretClient(s, 'deletion-seal', credential(s, sp.appId, sp.secret));
      assert.equal((await asSp().getSecret('db')).value, 'v');

      await armClient(s).vaults.delete('rg-test', 'deletion-seal');
      const deleted = sqlGet<{ deleted_at: number; scheduled_purge_at: number; mac: string }>(dir, 'SELECT deleted_at, scheduled_purge_at, mac FROM vaults WHERE name = ?', 'deletion-seal');
      assert.ok(deleted.deleted_at > 0 && deleted.mac.startsWith('a2.'), JSON.stringify(deleted));
      assert.equal(sqlGet<{ n: number }>(dir, 'SELECT count(*) AS n FROM authorization_journal').n, 0, 'the delete folded the journal');

      // The writer's step: the vault live again, with the access policies it had.
      assert.equal(sqlRun(dir, "UPDATE vaults SET deleted_at = NULL, scheduled_purge_at = NULL WHERE name = 'deletion-seal'"), 1);
      assert.equal(await statusOf(asSp().getSecret('db')), 500);
      await logged(s, /a vault in the database does not match its seal/);
      await s.stop();
      assert.match(await refusedStart(dir), /vaults in the database are not those coffer last sealed/);

      // Put back as coffer left it (from a backup, say): the start passes, and the vault is still deleted.
      sqlRun(dir, "UPDATE vaults SET deleted_at = @deleted_at, scheduled_purge_at = @scheduled_purge_at WHERE name = 'deletion-seal'", {
        deleted_at: deleted.deleted_at,
        scheduled_purge_at: deleted.scheduled_purge_at,
      });
      s = await startTestServer({ dataDir: dir });
      assert.equal(await statusOf(asSp().getSecret('db')), 404);

      // A deleted vault whose purge date was moved is refused too: recover answers 500 and changes nothing.
      sqlRun(dir, "UPDATE vaults SET scheduled_purge_at = scheduled_purge_at + 86400 WHERE name = 'deletion-seal'");
      await assert.rejects(createVault(s, 'deletion-seal', { createMode: 'recover' }), (err: { statusCode?: number }) => err.statusCode === 500);
      assert.notEqual(sqlGet<{ deleted_at: number | null }>(dir, "SELECT deleted_at FROM vaults WHERE name = 'deletion-seal'").deleted_at, null);
      sqlRun(dir, "UPDATE vaults SET scheduled_purge_at = @p WHERE name = 'deletion-seal'", { p: deleted.scheduled_purge_at });

      await createVault(s, 'deletion-seal', { createMode: 'recover' });
      assert.equal((await asSp().getSecret('db')).value, 'v');
      assert.equal(sqlGet<{ n: number }>(dir, 'SELECT count(*) AS n FROM authorization_journal').n, 0, 'the recover folded the journal');
      await s.stop();
      s = await startTestServer({ dataDir: dir });
      assert.equal((await asSp().getSecret('db')).value, 'v');

      await armClient(s).vaults.delete('rg-test', 'deletion-seal');
      await armClient(s).vaults.beginPurgeDeletedAndWait('deletion-seal', 'local');
      assert.equal(sqlGet<{ n: number }>(dir, "SELECT count(*) AS n FROM vaults WHERE name = 'deletion-seal'").n, 0);
      await s.stop();
      s = await startTestServer({ dataDir: dir });
    } finally {
      await s.stop();
    }
  });
});
