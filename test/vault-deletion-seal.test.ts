import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { statusOf, vaultWithReader, vaultsWithReader } from './support/access-kit.js';
import { armClient, createVault, credential, secretClient } from './support/clients.js';
import { assertLogged, refusedStart, scratchDataDirs, startTestServer } from './support/server-fixture.js';
import { sealOfStoredKey } from '../src/authorization/authorization-key.js';
import { DIGEST_SETTING, resealedRecord } from '../src/authorization/authorization-digest.js';
import { loadKeyring } from '../src/crypto/keyring.js';
import { AUTHORIZATION_JOURNAL_SQL } from '../src/storage/sqlite/sqlite-authorization-journal.js';
import { toVault, type VaultRecord } from '../src/storage/sqlite/sqlite-vault-store.js';

// A vault's seal covers its deletion state (authorization-seal.ts): an
// operator deletes a vault to cut everyone off, and a database writer who
// sets `deleted_at` back to NULL does not make it live again. Its access
// policies grant nothing (its data plane answers 500), the next start
// refuses the row, and the vault is recovered and purged through ARM as
// before, sealed at each step.

const scratch = scratchDataDirs('coffer-vault-deletion-');
after(() => scratch.removeAll());

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

describe('a soft-deleted vault made live again with SQL', () => {
  it('grants nothing, stops the next start; recovered through ARM it grants again, and purges', async () => {
    const dir = scratch.make();
    let s = await startTestServer({ dataDir: dir });
    try {
      const { sp } = await vaultWithReader(s, 'deletion-seal', 'deletion-reader');
      const asSp = () => secretClient(s, 'deletion-seal', credential(s, sp.appId, sp.secret));
      assert.equal((await asSp().getSecret('db')).value, 'v');

      await armClient(s).vaults.delete('rg-test', 'deletion-seal');
      const deleted = sqlGet<{ deleted_at: number; scheduled_purge_at: number; mac: string }>(dir, 'SELECT deleted_at, scheduled_purge_at, mac FROM vaults WHERE name = ?', 'deletion-seal');
      assert.ok(deleted.deleted_at > 0 && deleted.mac.startsWith('a2.'), JSON.stringify(deleted));
      assert.equal(sqlGet<{ n: number }>(dir, 'SELECT count(*) AS n FROM authorization_journal').n, 0, 'the delete folded the journal');

      // The writer's step: the vault live again, with the access policies it had.
      assert.equal(sqlRun(dir, "UPDATE vaults SET deleted_at = NULL, scheduled_purge_at = NULL WHERE name = 'deletion-seal'"), 1);
      assert.equal(await statusOf(asSp().getSecret('db')), 500);
      await assertLogged(s, /a vault in the database does not match its seal/);
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

/**
 * The database as a build before schema 18 leaves it: every vault sealed by the rule before (`a1.`, no deletion
 * state), the digest's record counting those seals, the vaults' journal triggers of version 17, no version 18.
 */
function asBeforeSchema18(dataDir: string): void {
  const db = new Database(join(dataDir, 'coffer.db'));
  try {
    const get = (key: string) => db.prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck().get(key)!;
    const seal = sealOfStoredKey(get('authorizationKey'), loadKeyring({ file: join(dataDir, 'master.key') }).keyring);
    const swaps = db
      .prepare<[], VaultRecord>('SELECT * FROM vaults')
      .all()
      .map(toVault)
      .map((v) => ({ id: v.id, from: v.mac!, to: seal.legacyVault(v) }));
    const v17Triggers = AUTHORIZATION_JOURNAL_SQL.match(/CREATE TRIGGER authorization_journal_vaults_\w+ .*? END;/g)!;
    assert.equal(v17Triggers.length, 3);
    db.transaction(() => {
      for (const { id, to } of swaps) db.prepare('UPDATE vaults SET mac = ? WHERE id = ?').run(to, id);
      db.prepare('UPDATE settings SET value = ? WHERE key = ?').run(resealedRecord(seal, get(DIGEST_SETTING), 'vaults', swaps), DIGEST_SETTING);
      for (const event of ['insert', 'delete', 'update']) db.exec(`DROP TRIGGER authorization_journal_vaults_${event}`);
      v17Triggers.forEach((t) => db.exec(t));
      db.exec('DELETE FROM authorization_journal; DELETE FROM schema_migrations WHERE version = 18');
    })();
  } finally {
    db.close();
  }
}

describe('vaults sealed by a build before schema 18', () => {
  it('are sealed again with their deletion state at the first start: served as before, and a deleted one made live again grants nothing', async () => {
    const dir = scratch.make();
    let s = await startTestServer({ dataDir: dir });
    try {
      const { sp } = await vaultsWithReader(s, ['upgrade-live', 'upgrade-deleted'], 'upgrade-reader', (name) => name);
      await armClient(s).vaults.delete('rg-test', 'upgrade-deleted');
      await s.stop();
      asBeforeSchema18(dir);
      assert.equal(sqlGet<{ n: number }>(dir, "SELECT count(*) AS n FROM vaults WHERE mac LIKE 'a1.%'").n, 2);

      s = await startTestServer({ dataDir: dir });
      assert.match(s.logs(), /"rows":2.*sealed the vaults again, with their deletion state/);
      assert.equal(sqlGet<{ n: number }>(dir, "SELECT count(*) AS n FROM vaults WHERE mac LIKE 'a2.%'").n, 2);
      const asSp = (name: string) => secretClient(s, name, credential(s, sp.appId, sp.secret));
      assert.equal((await asSp('upgrade-live').getSecret('db')).value, 'upgrade-live');
      // The upgrade is once: the next start seals nothing again, and its check of the digest passes.
      await s.stop();
      s = await startTestServer({ dataDir: dir });
      assert.doesNotMatch(s.logs(), /sealed the vaults again/);
      assert.equal((await asSp('upgrade-live').getSecret('db')).value, 'upgrade-live');
      sqlRun(dir, "UPDATE vaults SET deleted_at = NULL, scheduled_purge_at = NULL WHERE name = 'upgrade-deleted'");
      assert.equal(await statusOf(asSp('upgrade-deleted').getSecret('db')), 500);
    } finally {
      await s.stop();
    }
  });
});
