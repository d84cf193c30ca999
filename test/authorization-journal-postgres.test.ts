import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createAuthorizationSeal } from '../src/authorization/authorization-seal.js';
import { createDigestGuard, DIGEST_SETTING, digestsOf, makeRecord } from '../src/authorization/authorization-digest.js';
import type { JournalEntry } from '../src/storage/authorization-digest-types.js';
import { pgHeldSeals } from '../src/storage/postgres/pg-held-seals.js';
import { openPostgresStore } from '../src/storage/postgres/pg-store.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { startFreezableProxy } from './support/freezable-proxy.js';
import { pgQuery } from './support/pg-rows.js';
import { until } from './support/until.js';

// The authorization digest's journal on PostgreSQL (storage/postgres/pg-authorization-journal.ts), held to
// SQLite's: the same rows written to both stores give entries the one fold (authorization-digest.ts) reads
// alike, and a trigger dropped, disabled or changed outside coffer is put back as the store opens.

const seal = createAuthorizationSeal(createSecretKey(randomBytes(32)));
const dir = mkdtempSync(join(tmpdir(), 'coffer-journal-pg-'));
let db: TestDatabase;
before(async () => {
  db = await startPostgres();
});
after(async () => {
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const certificate = Buffer.from('3082010a0282010100ff', 'hex');
const assignment = { id: 'a', scope: '/subscriptions/s', roleDefinitionId: 'r', principalId: 'p', principalType: 'User', endTime: 7 };
const role = { id: 'd', roleName: 'Reader of things', permissions: [{ actions: ['x/read'], notActions: [], dataActions: [], notDataActions: [] }], assignableScopes: ['/subscriptions/s'] };
const vault = { id: 'v', name: 'kv', subscriptionId: 's', resourceGroup: 'rg', properties: { tenantId: 't', accessPolicies: [], enableRbacAuthorization: true } };
const credential = { keyId: 'k', objectId: 'o', certificate, startAt: 1, endAt: 2 };
const macs = {
  assignment: seal.assignment(assignment as never),
  role: seal.definition(role as never),
  membership: seal.membership('g', 'm'),
  vault: seal.vault(vault as never),
  credential: seal.keyCredential(credential as never),
};

/** The same statements on both stores (positional parameters: `?` for SQLite, `$n` for PostgreSQL). */
const STATEMENTS: Array<[string, unknown[]]> = [
  ...['o', 'g', 'm'].map((id): [string, unknown[]] => ["INSERT INTO principals (object_id, kind, display_name, created_at) VALUES (?, 'User', 'n', 1)", [id]]),
  [
    `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, description, end_time, created_at, updated_at, created_by, mac)
     VALUES (?, ?, ?, ?, ?, 'first', ?, 1, 1, 'x', ?)`,
    [assignment.id, assignment.scope, assignment.roleDefinitionId, assignment.principalId, assignment.principalType, assignment.endTime, macs.assignment],
  ],
  ["UPDATE role_assignments SET description = 'second', updated_at = 2", []],
  [
    `INSERT INTO role_definitions (id, role_name, role_name_key, description, permissions, assignable_scopes, created_at, updated_at, created_by, mac)
     VALUES (?, ?, ?, 'd', ?, ?, 1, 1, 'x', ?)`,
    [role.id, role.roleName, role.roleName.toLowerCase(), JSON.stringify(role.permissions), JSON.stringify(role.assignableScopes), macs.role],
  ],
  ["INSERT INTO group_members (group_id, member_id, mac) VALUES ('g', 'm', ?)", [macs.membership]],
  [
    `INSERT INTO key_credentials (key_id, object_id, certificate, thumbprint_sha1, thumbprint_sha256, display_name, start_at, end_at, mac)
     VALUES ('k', 'o', ?, 't1', 't256', NULL, 1, 2, ?)`,
    [certificate, macs.credential],
  ],
  [
    `INSERT INTO vaults (id, name_key, name, subscription_id, resource_group, resource_group_key, location, tags, properties, created_by, created_at, updated_at,
       dek_wrapped, master_key_id, mac) VALUES ('v', 'kv', 'kv', 's', 'rg', 'rg', 'here', '{}', ?, 'x', 1, 1, ?, 'm', ?)`,
    [JSON.stringify(vault.properties), Buffer.alloc(4), macs.vault],
  ],
  ["UPDATE vaults SET tags = '{\"a\":\"b\"}'", []],
  ['DELETE FROM group_members', []],
];

const parsed = (entries: JournalEntry[]) => entries.map((e) => ({ ...e, fields: JSON.parse(e.fields) as Record<string, unknown> }));
const folded = (entries: JournalEntry[]) => {
  const zero = digestsOf(seal, { assignments: [], definitions: [], memberships: [], keyCredentials: [], vaults: [], federatedCredentials: [] });
  const guard = createDigestGuard(() => seal, 0, () => undefined, () => undefined);
  return guard.fold(zero, entries);
};

describe('the authorization journal on PostgreSQL', () => {
  let url: string;
  let sqliteEntries: JournalEntry[];
  let pgEntries: JournalEntry[];

  it('records what SQLite records, in the JSON the one fold reads alike', async () => {
    const file = join(dir, 'coffer.db');
    await openSqliteStore({ file }).close();
    const lite = new Database(file);
    for (const [sql, params] of STATEMENTS) lite.prepare(sql).run(...params);
    sqliteEntries = (lite.prepare('SELECT kind, added, fields FROM authorization_journal ORDER BY id').all() as Array<{ kind: string; added: number; fields: string }>).map((e) => ({
      kind: e.kind,
      added: e.added === 1,
      fields: e.fields,
    }));
    lite.close();

    url = await freshPostgresDatabase(db);
    await (await openPostgresStore(url)).close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query('BEGIN');
      for (const [sql, params] of STATEMENTS) {
        let i = 0;
        await c.query(sql.replace(/\?/g, () => `$${++i}`), params);
      }
      pgEntries = (await c.query<{ kind: string; added: boolean; fields: string }>('SELECT kind, added, fields FROM authorization_journal ORDER BY id')).rows;
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
    // SQLite's hex() writes capitals, PostgreSQL's encode() small letters: the fold reads the bytes either way.
    const lower = (entries: JournalEntry[]) =>
      parsed(entries).map((e) => (typeof e.fields.certificate === 'string' ? { ...e, fields: { ...e.fields, certificate: e.fields.certificate.toLowerCase() } } : e));
    assert.deepEqual(lower(pgEntries), lower(sqliteEntries));
    assert.equal(sqliteEntries.length, 6, 'the description and tags changes are not in it');
    const fromPg = folded(pgEntries);
    assert.deepEqual(fromPg, folded(sqliteEntries));
    // Every row counted: each seal matched what the fold read of its entry.
    assert.equal(fromPg.held.length, 2);
    const all = digestsOf(seal, {
      assignments: [{ ...assignment, mac: macs.assignment } as never],
      definitions: [{ ...role, mac: macs.role } as never],
      memberships: [],
      keyCredentials: [{ ...credential, mac: macs.credential }],
      vaults: [{ ...vault, mac: macs.vault } as never],
      federatedCredentials: [],
    });
    assert.deepEqual(fromPg.digests, all);
  });

  it('has a trigger dropped, disabled or changed outside coffer put back when a store opens', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query('DROP TRIGGER authorization_journal_group_members ON group_members');
      await c.query('ALTER TABLE vaults DISABLE TRIGGER authorization_journal_vaults');
      await c.query("CREATE OR REPLACE FUNCTION authorization_journal_key_credentials() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$");
      const store = await openPostgresStore(url);
      assert.deepEqual([...store.authorizationDigest!.restoredTriggers].sort(), [
        'authorization_journal_group_members',
        'authorization_journal_key_credentials',
        'authorization_journal_vaults',
      ]);
      await store.close();
      const again = await openPostgresStore(url);
      assert.deepEqual(again.authorizationDigest!.restoredTriggers, []);
      await again.close();
      await c.query("INSERT INTO principals (object_id, kind, display_name, created_at) VALUES ('g', 'Group', 'g', 1), ('m', 'User', 'm', 1)");
      await c.query("INSERT INTO group_members (group_id, member_id, mac) VALUES ('g', 'm', 'a1.0.g')");
      const journal = (await c.query<{ kind: string; fields: string }>('SELECT kind, fields FROM authorization_journal')).rows;
      assert.deepEqual(journal.map((e) => ({ kind: e.kind, fields: JSON.parse(e.fields) as unknown })), [{ kind: 'group memberships', fields: { groupId: 'g', memberId: 'm', mac: 'a1.0.g' } }]);
    } finally {
      await c.end();
    }
  });
});

describe("a cluster member's look at the digest's record (pg-held-seals.ts)", () => {
  it("takes a record read while the member's own write sealed a later one as older than that write, not as a database put back", async () => {
    const url = await freshPostgresDatabase(db);
    await (await openPostgresStore(url)).close();
    const record = (n: number) => makeRecord(seal, digestsOf(seal, { assignments: [], definitions: [], memberships: [], keyCredentials: [], vaults: [], federatedCredentials: [] }), n);
    const setRecord = (n: number) => pgQuery(url, 'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [DIGEST_SETTING, record(n)]);
    await setRecord(5);
    // The member reads the record through a proxy that holds the answer while write 6 commits and is sealed.
    const target = new URL(url);
    const proxy = await startFreezableProxy(Number(target.port), target.hostname);
    target.port = String(proxy.port);
    const pool = new pg.Pool({ connectionString: target.toString() });
    const refused: string[] = [];
    const guard = createDigestGuard(() => seal, 5, () => undefined, (err) => refused.push(err.message));
    try {
      proxy.freezeOnceSent(DIGEST_SETTING, 'SELECT value FROM settings');
      const looking = pgHeldSeals(pool, true).refresh(guard, 'vaults', ['a seal no row has']);
      await until('the look has read the record, its answer held', () => proxy.frozen());
      await setRecord(6);
      guard.sealed(6);
      proxy.thaw();
      // The row is refused for what it is (no counted row has its seal), and nothing is taken for a put-back.
      assert.equal(await looking, false);
      assert.ok(refused.every((m) => !m.includes('put back')), refused.join('\n'));
    } finally {
      proxy.thaw();
      await pool.end();
      await proxy.close();
    }
  });
});
