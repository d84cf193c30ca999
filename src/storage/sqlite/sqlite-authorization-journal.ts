import type Database from 'better-sqlite3';
import type { JournalEntry } from '../authorization-digest-types.js';

// The authorization digest's journal (authorization/authorization-digest.ts):
// triggers on the five tables of sealed rows append, for every row added or
// removed (an UPDATE of its seal or of a column the seal covers: the row as it
// was removed, as it is added), what the seal covers of it and its stored
// seal. A write that changes those tables then folds only the journal into
// the record, instead of reading every row again; cascades (a principal
// deleted with its memberships and certificates, a vault purged) are in it
// too, as is whatever another writer did to those rows. The fold counts only
// rows whose seal matches, as a start that reads every row does.

type Table = { table: string; kind: string; covered: Record<string, string> };

// Per table: the digest's kind, and the JSON field of each column the seal covers (certificates as hex).
const TABLES: Table[] = [
  {
    table: 'role_assignments',
    kind: 'role assignments',
    covered: { id: 'id', scope: 'scope', roleDefinitionId: 'role_definition_id', principalId: 'principal_id', principalType: 'principal_type', endTime: 'end_time' },
  },
  { table: 'role_definitions', kind: 'custom roles', covered: { id: 'id', roleName: 'role_name', permissions: 'permissions', assignableScopes: 'assignable_scopes' } },
  { table: 'group_members', kind: 'group memberships', covered: { groupId: 'group_id', memberId: 'member_id' } },
  { table: 'key_credentials', kind: 'key credentials', covered: { keyId: 'key_id', objectId: 'object_id', certificate: 'certificate', startAt: 'start_at', endAt: 'end_at' } },
  { table: 'vaults', kind: 'vaults', covered: { id: 'id', name: 'name', subscriptionId: 'subscription_id', resourceGroup: 'resource_group', properties: 'properties' } },
  { table: 'federated_credentials', kind: 'federated credentials', covered: { id: 'id', objectId: 'object_id', issuer: 'issuer', subject: 'subject', audiences: 'audiences' } },
];

/** The table's three triggers, each as SQLite keeps its statement (sqlite_master.sql). */
function triggers({ table, kind, covered }: Table): Array<{ name: string; sql: string }> {
  const fields = (row: 'NEW' | 'OLD') =>
    `json_object(${[...Object.entries(covered), ['mac', 'mac']].map(([f, c]) => `'${f}', ${c === 'certificate' ? `hex(${row}.${c})` : `${row}.${c}`}`).join(', ')})`;
  const append = (row: 'NEW' | 'OLD', added: 0 | 1) => `INSERT INTO authorization_journal (kind, added, fields) VALUES ('${kind}', ${added}, ${fields(row)});`;
  // Only a change of what the seal covers, or of the seal: not a vault's tags, deletion date or wrapped key.
  const changed = [...Object.values(covered), 'mac'].map((c) => `OLD.${c} IS NOT NEW.${c}`).join(' OR ');
  const trigger = (event: string, when: string, body: string) => {
    const name = `authorization_journal_${table}_${event.toLowerCase()}`;
    return { name, sql: `CREATE TRIGGER ${name} AFTER ${event} ON ${table}${when} BEGIN ${body} END` };
  };
  return [
    trigger('INSERT', '', append('NEW', 1)),
    trigger('DELETE', '', append('OLD', 0)),
    trigger('UPDATE', ` WHEN ${changed}`, `${append('OLD', 0)} ${append('NEW', 1)}`),
  ];
}

const TRIGGERS = TABLES.flatMap(triggers);

/** The schema migration that adds the journal and its triggers. */
export const AUTHORIZATION_JOURNAL_SQL = `
  CREATE TABLE authorization_journal (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    added INTEGER NOT NULL,
    fields TEXT NOT NULL
  ) STRICT;
  ${TRIGGERS.map((t) => `${t.sql};`).join('\n  ')}
`;

/**
 * Puts back any trigger dropped or changed outside coffer (at open; returns their names). The rows changed meanwhile
 * are not in the journal, but the start that follows holds every row to the record, and refuses them.
 */
export function restoreJournalTriggers(db: Database.Database): string[] {
  const stored = db.prepare<[string], string>("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?").pluck();
  const wrong = TRIGGERS.filter((t) => stored.get(t.name) !== t.sql);
  if (wrong.length > 0) db.transaction(() => wrong.forEach((t) => db.exec(`DROP TRIGGER IF EXISTS ${t.name}; ${t.sql};`))).immediate();
  return wrong.map((t) => t.name);
}

/** Reads and empties the journal (in the caller's transaction). */
export function sqliteJournal(db: Database.Database): { take(): JournalEntry[]; clear(): void } {
  const all = db.prepare<[], { kind: string; added: number; fields: string }>('SELECT kind, added, fields FROM authorization_journal ORDER BY id');
  const clear = db.prepare('DELETE FROM authorization_journal');
  return {
    take() {
      const entries = all.all().map((e) => ({ kind: e.kind, added: e.added === 1, fields: e.fields }));
      if (entries.length > 0) clear.run();
      return entries;
    },
    clear: () => void clear.run(),
  };
}
