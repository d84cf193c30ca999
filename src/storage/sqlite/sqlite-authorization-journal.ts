import type Database from 'better-sqlite3';
import { JOURNAL_TABLES, JOURNAL_TABLES_V17, VAULTS, type JournalTable } from '../authorization-journal-tables.js';
import type { JournalEntry } from '../authorization-digest-types.js';

// The authorization digest's journal (authorization/authorization-digest.ts):
// triggers on the six tables of sealed rows append, for every row added or
// removed (an UPDATE of its seal or of a column the seal covers: the row as it
// was removed, as it is added), what the seal covers of it and its stored
// seal. A write that changes those tables then folds only the journal into
// the record, instead of reading every row again; cascades (a principal
// deleted with its memberships and certificates, a vault purged) are in it
// too, as is whatever another writer did to those rows. The fold counts only
// rows whose seal matches, as a start that reads every row does.


/** The table's three triggers, each as SQLite keeps its statement (sqlite_master.sql). */
function triggers({ table, kind, covered }: JournalTable): Array<{ name: string; sql: string }> {
  const fields = (row: 'NEW' | 'OLD') =>
    `json_object(${[...Object.entries(covered), ['mac', 'mac']].map(([f, c]) => `'${f}', ${c === 'certificate' ? `hex(${row}.${c})` : `${row}.${c}`}`).join(', ')})`;
  const append = (row: 'NEW' | 'OLD', added: 0 | 1) => `INSERT INTO authorization_journal (kind, added, fields) VALUES ('${kind}', ${added}, ${fields(row)});`;
  // Only a change of what the seal covers, or of the seal: not a vault's tags or wrapped key.
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

const TRIGGERS = JOURNAL_TABLES.flatMap(triggers);

/** The schema migration (version 17) that adds the journal and its triggers, as that version made them. */
export const AUTHORIZATION_JOURNAL_SQL = `
  CREATE TABLE authorization_journal (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    added INTEGER NOT NULL,
    fields TEXT NOT NULL
  ) STRICT;
  ${JOURNAL_TABLES_V17.flatMap(triggers).map((t) => `${t.sql};`).join('\n  ')}
`;

/** Version 18: the vaults' triggers journal their deletion state too, which their seal covers from then on. */
export const VAULT_JOURNAL_V18_SQL = triggers(VAULTS)
  .map((t) => `DROP TRIGGER IF EXISTS ${t.name}; ${t.sql};`)
  .join('\n');

/**
 * Puts back any trigger dropped or changed outside coffer (at open; returns their names). The rows changed meanwhile
 * are not in the journal, but the start that follows holds every row to the record, and refuses them.
 */
export function restoreJournalTriggers(db: Database.Database): string[] {
  const stored = db.prepare<[string], string>("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?").pluck();
  const wrong = TRIGGERS.filter((t) => stored.get(t.name) !== t.sql);
  // Coffer has no trigger but the journal's: any other is a writer's (journalSchemaCheck), and goes.
  const ours = new Set(TRIGGERS.map((t) => t.name));
  const foreign = db
    .prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    .pluck()
    .all()
    .filter((n) => !ours.has(n));
  const quoted = (n: string) => `"${n.replace(/"/g, '""')}"`;
  if (wrong.length + foreign.length > 0) {
    db.transaction(() => {
      foreign.forEach((n) => db.exec(`DROP TRIGGER ${quoted(n)}`));
      wrong.forEach((t) => db.exec(`DROP TRIGGER IF EXISTS ${t.name}; ${t.sql};`));
    }).immediate();
  }
  return [...wrong.map((t) => t.name), ...foreign];
}

/**
 * What is wrong with the journal's schema now (empty: nothing): every trigger in the database must be one of the
 * journal's, as coffer made it, and the journal a table. A trigger of a writer's own (on any table, or on a view put
 * in the journal's place) would run inside coffer's write and could add to the journal the entry of a row put back,
 * which the write would then seal. Checked in each write's transaction: a few rows of sqlite_master.
 */
export function journalSchemaCheck(db: Database.Database): () => string[] {
  const rows = db.prepare<[], { type: string; name: string; sql: string | null }>(
    "SELECT type, name, sql FROM sqlite_master WHERE type = 'trigger' OR name = 'authorization_journal'",
  );
  const expected = new Map(TRIGGERS.map((t) => [t.name, t.sql]));
  return () =>
    rows.all().flatMap((r) => {
      if (r.name === 'authorization_journal') return r.type === 'table' ? [] : [`authorization_journal is a ${r.type}`];
      return expected.get(r.name) === r.sql ? [] : [`trigger ${r.name}`];
    });
}

/** Reads and empties the journal (in the caller's transaction). */
export function sqliteJournal(db: Database.Database): { take(): JournalEntry[]; clear(): void; empty(): boolean } {
  const all = db.prepare<[], { kind: string; added: number; fields: string }>('SELECT kind, added, fields FROM authorization_journal ORDER BY id');
  const any = db.prepare<[], number>('SELECT EXISTS (SELECT 1 FROM authorization_journal)').pluck();
  const clear = db.prepare('DELETE FROM authorization_journal');
  return {
    take() {
      const entries = all.all().map((e) => ({ kind: e.kind, added: e.added === 1, fields: e.fields }));
      if (entries.length > 0) clear.run();
      return entries;
    },
    clear: () => void clear.run(),
    empty: () => any.get() === 0,
  };
}
