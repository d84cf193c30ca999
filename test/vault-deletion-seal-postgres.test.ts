import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { statusOf, vaultWithReader, vaultsWithReader } from './support/access-kit.js';
import { armClient, createVault, credential, secretClient } from './support/clients.js';
import { pgQuery, pgRow } from './support/pg-rows.js';
import { assertLogged, refusedStart } from './support/server-fixture.js';
import { postgresScratch } from './support/pg-scratch.js';
import { sealOfStoredKey } from '../src/authorization/authorization-key.js';
import { DIGEST_SETTING, resealedRecord } from '../src/authorization/authorization-digest.js';
import { loadKeyring } from '../src/crypto/keyring.js';
import { PG_AUTHORIZATION_JOURNAL_MIGRATION } from '../src/storage/postgres/pg-authorization-journal.js';
import { openPostgresStore } from '../src/storage/postgres/pg-store.js';

// vault-deletion-seal.test.ts on PostgreSQL: a soft-deleted vault made live again with SQL grants nothing,
// stops the next start, and is recovered and purged through ARM, sealed at each step.

const pg = postgresScratch('coffer-vault-deletion-pg-');
const start = pg.start;

const journalSize = async (url: string) => Number((await pgRow(url, 'SELECT count(*) AS n FROM authorization_journal')).n);

describe('a soft-deleted vault made live again with SQL, on PostgreSQL', () => {
  it('grants nothing, stops the next start; recovered through ARM it grants again, and purges', async () => {
    const { url, dir } = await pg.fresh();
    let s = await start(dir, url);
    try {
      const { sp } = await vaultWithReader(s, 'deletion-pg', 'deletion-pg-reader');
      const asSp = () => secretClient(s, 'deletion-pg', credential(s, sp.appId, sp.secret));
      assert.equal((await asSp().getSecret('db')).value, 'v');

      await armClient(s).vaults.delete('rg-test', 'deletion-pg');
      const deleted = await pgRow(url, 'SELECT deleted_at, scheduled_purge_at, mac FROM vaults WHERE name = $1', 'deletion-pg');
      assert.ok(deleted.deleted_at !== null && String(deleted.mac).startsWith('a2.'), JSON.stringify(deleted));
      assert.equal(await journalSize(url), 0, 'the delete folded the journal');

      await pgQuery(url, "UPDATE vaults SET deleted_at = NULL, scheduled_purge_at = NULL WHERE name = 'deletion-pg'");
      assert.equal(await statusOf(asSp().getSecret('db')), 500);
      await assertLogged(s, /a vault in the database does not match its seal/);
      await s.stop();
      assert.match(await refusedStart(dir, ['--database-url', url]), /vaults in the database are not those coffer last sealed/);

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

/**
 * The database as a build before schema 18 leaves it (vault-deletion-seal.test.ts's asBeforeSchema18 on PostgreSQL):
 * every vault sealed by the rule before (`a1.`), the digest's record counting those seals, the vaults' journal
 * function of version 17, no version 18.
 */
async function asBeforeSchema18(dataDir: string, url: string): Promise<void> {
  const store = await openPostgresStore(url);
  let swaps: Array<{ id: string; from: string; to: string }>;
  let record: string;
  try {
    const seal = sealOfStoredKey((await store.settings.get('authorizationKey'))!, loadKeyring({ file: join(dataDir, 'master.key') }).keyring);
    const rows = await Promise.all((await store.vaults.listKeys()).filter((k) => k.current).map((k) => store.vaults.getById(k.id)));
    swaps = rows.map((v) => ({ id: v!.id, from: v!.mac!, to: seal.legacyVault(v!) }));
    record = resealedRecord(seal, (await store.settings.get(DIGEST_SETTING))!, 'vaults', swaps);
  } finally {
    await store.close();
  }
  const v17Function = /CREATE OR REPLACE FUNCTION authorization_journal_vaults\(\) RETURNS trigger LANGUAGE plpgsql AS \$journal\$.*?\$journal\$/s.exec(PG_AUTHORIZATION_JOURNAL_MIGRATION.sql)![0];
  for (const { id, to } of swaps) await pgQuery(url, 'UPDATE vaults SET mac = $1 WHERE id = $2', [to, id]);
  await pgQuery(url, 'UPDATE settings SET value = $1 WHERE key = $2', [record, DIGEST_SETTING]);
  await pgQuery(url, v17Function);
  await pgQuery(url, 'DELETE FROM authorization_journal');
  await pgQuery(url, 'DELETE FROM schema_migrations WHERE version = 18');
}

describe('vaults sealed by a build before schema 18, on PostgreSQL', () => {
  it('are sealed again with their deletion state at the first start, the digest following: served as before, and a deleted one made live again grants nothing', async () => {
    const { url, dir } = await pg.fresh();
    let s = await start(dir, url);
    try {
      const { sp } = await vaultsWithReader(s, ['upgrade-pg-live', 'upgrade-pg-deleted'], 'upgrade-pg-reader', (name) => name);
      await armClient(s).vaults.delete('rg-test', 'upgrade-pg-deleted');
      await s.stop();
      await asBeforeSchema18(dir, url);
      const sealedAs = async (format: string) => Number((await pgRow(url, 'SELECT count(*) AS n FROM vaults WHERE mac LIKE $1', `${format}.%`)).n);
      assert.equal(await sealedAs('a1'), 2);

      s = await start(dir, url);
      assert.match(s.logs(), /"rows":2.*sealed the vaults again, with their deletion state/);
      assert.equal(await sealedAs('a2'), 2);
      const asSp = (name: string) => secretClient(s, name, credential(s, sp.appId, sp.secret));
      assert.equal((await asSp('upgrade-pg-live').getSecret('db')).value, 'upgrade-pg-live');
      // Once: the next start seals nothing again, and its check of the digest passes.
      await s.stop();
      s = await start(dir, url);
      assert.doesNotMatch(s.logs(), /sealed the vaults again/);
      await pgQuery(url, "UPDATE vaults SET deleted_at = NULL, scheduled_purge_at = NULL WHERE name = 'upgrade-pg-deleted'");
      assert.equal(await statusOf(asSp('upgrade-pg-deleted').getSecret('db')), 500);
    } finally {
      await s.stop();
    }
  });
});
