import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';

// The authorization digest's journal (storage/sqlite/sqlite-authorization-journal.ts): what its triggers record of
// the sealed tables, and that a store put in use puts back a trigger changed outside coffer. The digest's use of it
// is in authorization-digest.test.ts and authorization-replay.test.ts.

const dir = mkdtempSync(join(tmpdir(), 'coffer-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'coffer.db');

function withDb<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  // Rows without their principals: only the triggers are under test.
  db.pragma('foreign_keys = OFF');
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
const journal = (db: Database.Database) =>
  (db.prepare('SELECT kind, added, fields FROM authorization_journal ORDER BY id').all() as Array<{ kind: string; added: number; fields: string }>).map((e) => ({
    kind: e.kind,
    added: e.added === 1,
    fields: JSON.parse(e.fields) as Record<string, unknown>,
  }));

describe('the authorization journal', () => {
  it("records each row added and removed with what its seal covers; an update only of the seal's columns", async () => {
    await openSqliteStore({ file }).close();
    withDb((db) => {
      db.prepare(
        `INSERT INTO role_assignments (id, scope, role_definition_id, principal_id, principal_type, description, end_time, created_at, updated_at, created_by, mac)
         VALUES ('a', '/subscriptions/s', 'r', 'p', 'User', 'first', NULL, 1, 1, 'x', 'a1.0.m')`,
      ).run();
      db.prepare("UPDATE role_assignments SET description = 'second', updated_at = 2 WHERE id = 'a'").run();
      db.prepare("UPDATE role_assignments SET end_time = 5, mac = 'a1.0.n' WHERE id = 'a'").run();
      db.prepare("INSERT INTO key_credentials VALUES ('k', 'o', x'0102ff', 't1', 't256', NULL, 1, 2, 'a1.0.k')").run();
      db.prepare('DELETE FROM role_assignments').run();
      const covered = { id: 'a', scope: '/subscriptions/s', roleDefinitionId: 'r', principalId: 'p', principalType: 'User' };
      assert.deepEqual(journal(db), [
        { kind: 'role assignments', added: true, fields: { ...covered, endTime: null, mac: 'a1.0.m' } },
        // The description's change is not in it: the seal does not cover it.
        { kind: 'role assignments', added: false, fields: { ...covered, endTime: null, mac: 'a1.0.m' } },
        { kind: 'role assignments', added: true, fields: { ...covered, endTime: 5, mac: 'a1.0.n' } },
        { kind: 'key credentials', added: true, fields: { keyId: 'k', objectId: 'o', certificate: '0102FF', startAt: 1, endAt: 2, mac: 'a1.0.k' } },
        { kind: 'role assignments', added: false, fields: { ...covered, endTime: 5, mac: 'a1.0.n' } },
      ]);
    });
  });

  it('has a trigger dropped or changed outside coffer put back when a store opens', async () => {
    withDb((db) => {
      db.exec('DELETE FROM authorization_journal; DROP TRIGGER authorization_journal_group_members_insert');
      db.exec('DROP TRIGGER authorization_journal_vaults_update; CREATE TRIGGER authorization_journal_vaults_update AFTER UPDATE ON vaults BEGIN SELECT 1; END');
    });
    const store = openSqliteStore({ file });
    assert.deepEqual([...store.authorizationDigest!.restoredTriggers].sort(), ['authorization_journal_group_members_insert', 'authorization_journal_vaults_update']);
    await store.close();
    const again = openSqliteStore({ file });
    assert.deepEqual(again.authorizationDigest!.restoredTriggers, []);
    await again.close();
    withDb((db) => {
      db.prepare("INSERT INTO group_members (group_id, member_id, mac) VALUES ('g', 'm', 'a1.0.g')").run();
      assert.deepEqual(journal(db), [{ kind: 'group memberships', added: true, fields: { groupId: 'g', memberId: 'm', mac: 'a1.0.g' } }]);
    });
  });

  it("has a trigger that is not the journal's (a writer's own, on any table) dropped when a store opens", async () => {
    withDb((db) => db.exec(`CREATE TRIGGER "plant ""x""" AFTER INSERT ON settings BEGIN INSERT INTO authorization_journal (kind, added, fields) VALUES ('vaults', 1, '{}'); END`));
    const store = openSqliteStore({ file });
    assert.deepEqual(store.authorizationDigest!.restoredTriggers, ['plant "x"']);
    await store.close();
    withDb((db) => assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'plant%'").get() as { n: number }).n, 0));
  });
});
