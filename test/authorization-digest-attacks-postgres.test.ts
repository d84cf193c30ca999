import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { pgPutBack, pgQuery, pgRow } from './support/pg-rows.js';
import { assertLogged, refusedStart } from './support/server-fixture.js';
import { postgresScratch } from './support/pg-scratch.js';

// authorization-digest-attacks.test.ts's writer's own trigger on PostgreSQL (storage/postgres/pg-schema-check.ts):
// code of a database writer's that runs inside coffer's next authorization write (a trigger, a rule, coffer's
// change-feed function replaced, a column default) adds the journal entry of a row put back, for the write to seal.

const pg = postgresScratch('coffer-digest-attack-pg-');
const start = pg.start;

/** Replays the entries kept aside into the journal, once: what each plant below runs inside coffer's write. */
const REPLAY = 'INSERT INTO authorization_journal (kind, added, fields) SELECT kind, added, fields FROM kept; DELETE FROM kept;';

/**
 * A revoked role assignment put back with its journal entry kept aside, `plant` run, then coffer adds another
 * assignment: the write must be refused (naming `named`), and the start after the plant is removed must refuse the row.
 */
async function plantedWriteRefused(name: string, plant: string, named: RegExp, unplant: string): Promise<void> {
  const { url, dir } = await pg.fresh();
  const s = await start(dir, url);
  try {
    const sp = await newServicePrincipal(s, `${name}-reader`);
    const other = await newServicePrincipal(s, `${name}-other`);
    const scope = `/subscriptions/${s.bootstrap.subscriptionId}`;
    const put = await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], sp.id);
    assert.equal(put.status, 201);
    const saved = await pgRow(url, 'SELECT * FROM role_assignments WHERE principal_id = $1', sp.id);
    assert.equal((await api(s, 'DELETE', `${put.body!.id}?api-version=2022-04-01`)).status, 200);
    await pgPutBack(url, 'role_assignments', saved);
    await pgQuery(url, 'CREATE TABLE kept AS SELECT kind, added, fields FROM authorization_journal');
    await pgQuery(url, 'DELETE FROM authorization_journal');
    await pgQuery(url, plant);
    assert.equal((await assignRole(s, scope, ROLE_IDS['Key Vault Reader'], other.id)).status, 500, 'the write is refused');
    await assertLogged(s, new RegExp(`refused authorization rows: the authorization digest: its journal was changed outside coffer \\(.*${named.source}`));
    assert.equal(Number((await pgRow(url, 'SELECT count(*) AS n FROM kept')).n), 1, 'the entry was not replayed');
    await s.stop();
    // Tracks covered: only the row is left, and the record does not count it.
    await pgQuery(url, `${unplant}; DROP TABLE kept`);
    assert.match(await refusedStart(dir, ['--database-url', url]), /role assignments in the database are not those coffer last sealed/);
  } finally {
    await s.stop();
  }
}

describe("a writer's own code run by coffer's authorization write on PostgreSQL", () => {
  it('a trigger: the write is refused, the row put back is not sealed', async () => {
    await plantedWriteRefused(
      'pg-trigger',
      `CREATE FUNCTION plant() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${REPLAY} RETURN NULL; END $$;
       CREATE TRIGGER plant AFTER INSERT ON role_assignments FOR EACH ROW EXECUTE PROCEDURE plant()`,
      /trigger plant on role_assignments/,
      'DROP TRIGGER plant ON role_assignments; DROP FUNCTION plant()',
    );
  });

  it('a rule: the write is refused', async () => {
    await plantedWriteRefused(
      'pg-rule',
      `CREATE RULE plant AS ON INSERT TO role_assignments DO ALSO (${REPLAY.replace(/;\s*$/, '')})`,
      /rule plant on role_assignments/,
      'DROP RULE plant ON role_assignments',
    );
  });

  it("the change feed's function replaced: the write is refused", async () => {
    await plantedWriteRefused(
      'pg-feed',
      `CREATE OR REPLACE FUNCTION coffer_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${REPLAY} RETURN NULL; END $$`,
      /trigger coffer_role_assignments_changed on role_assignments/,
      // Put back as the migration made it: the start below is refused for the row alone.
      'SELECT 1',
    );
  });

  it('a column default that calls a function: the write is refused', async () => {
    await plantedWriteRefused(
      'pg-default',
      `CREATE FUNCTION plant() RETURNS text LANGUAGE plpgsql AS $$ BEGIN ${REPLAY} RETURN 'x'; END $$;
       ALTER TABLE role_assignments ADD COLUMN planted text;
       ALTER TABLE role_assignments ALTER COLUMN planted SET DEFAULT plant()`,
      /default value for column planted of table role_assignments uses function plant\(\)/,
      'ALTER TABLE role_assignments DROP COLUMN planted; DROP FUNCTION plant()',
    );
  });

  it("a writer's trigger and rule made while coffer was stopped are dropped at the start, and named in its warning", async () => {
    const { url, dir } = await pg.fresh();
    let s = await start(dir, url);
    try {
      await s.stop();
      await pgQuery(
        url,
        `CREATE FUNCTION plant() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
         CREATE TRIGGER plant AFTER INSERT ON group_members FOR EACH ROW EXECUTE PROCEDURE plant();
         CREATE RULE planted AS ON INSERT TO role_definitions DO ALSO NOTIFY planted;
         ALTER TABLE vaults ENABLE ALWAYS TRIGGER coffer_vaults_changed`,
      );
      s = await start(dir, url);
      await assertLogged(s, /put back the authorization journal's triggers/);
      const warning = s.logs().split('\n').find((l) => l.includes("put back the authorization journal's triggers"))!;
      for (const n of ['plant', 'rule planted on role_definitions', 'coffer_vaults_changed']) assert.ok(warning.includes(`"${n}"`), `${n} in ${warning}`);
      assert.equal(Number((await pgRow(url, "SELECT count(*) AS n FROM pg_trigger WHERE tgname = 'plant'")).n), 0);
      assert.equal(Number((await pgRow(url, "SELECT count(*) AS n FROM pg_rewrite WHERE rulename = 'planted'")).n), 0);
      assert.equal((await pgRow(url, "SELECT tgenabled FROM pg_trigger WHERE tgname = 'coffer_vaults_changed'")).tgenabled, 'O');
      // Clean again: an authorization write goes through.
      const sp = await newServicePrincipal(s, 'pg-restart-reader');
      assert.equal((await assignRole(s, `/subscriptions/${s.bootstrap.subscriptionId}`, ROLE_IDS['Key Vault Reader'], sp.id)).status, 201);
    } finally {
      await s.stop();
    }
  });
  it("a search_path that puts a writer's schema before pg_catalog does not hide their trigger from coffer", async () => {
    const { url, dir } = await pg.fresh();
    let s = await start(dir, url);
    try {
      await s.stop();
      // The catalog coffer reads, as coffer's unqualified names would find it: with no trigger in it.
      const database = url.slice(url.lastIndexOf('/') + 1);
      await pgQuery(
        url,
        `CREATE SCHEMA evil;
         CREATE VIEW evil.pg_trigger AS SELECT * FROM pg_catalog.pg_trigger WHERE false;
         CREATE FUNCTION plant() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
         CREATE TRIGGER plant AFTER INSERT ON role_assignments FOR EACH ROW EXECUTE PROCEDURE plant();
         ALTER DATABASE ${database} SET search_path = public, evil, pg_catalog`,
      );
      s = await start(dir, url);
      await assertLogged(s, /put back the authorization journal's triggers/);
      const warning = s.logs().split('\n').find((l) => l.includes("put back the authorization journal's triggers"))!;
      assert.deepEqual(JSON.parse(warning.slice(warning.indexOf('{'))).triggers, ['plant'], 'only the writer\'s trigger, the journal\'s found as they are');
      assert.equal(Number((await pgRow(url, "SELECT count(*) AS n FROM pg_trigger WHERE tgname = 'plant'")).n), 0);
    } finally {
      await s.stop();
    }
  });
});
