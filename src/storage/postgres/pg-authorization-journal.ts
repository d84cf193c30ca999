import type pg from 'pg';
import { JOURNAL_TABLES, JOURNAL_TABLES_V17, VAULTS, type JournalTable } from '../authorization-journal-tables.js';
import type { JournalEntry } from '../authorization-digest-types.js';
import { rows, transaction, type Queryable } from './pg-support.js';

// The authorization digest's journal on PostgreSQL, as SQLite's
// (sqlite-authorization-journal.ts): per table of sealed rows, a plpgsql
// function run by an AFTER INSERT OR DELETE OR UPDATE trigger FOR EACH ROW
// appends every row added or removed (an UPDATE only when a covered column
// or the seal changes: the row as it was removed, as it is added) in the
// JSON SQLite writes, so that one fold (authorization-digest.ts) reads both:
// JSON columns stay text (they are text columns), a certificate is hex.
// Foreign-key cascades (a principal's memberships and certificates) fire the
// triggers too. Rows changed by a session that skips triggers
// (session_replication_role = replica) are not in it: the start that holds
// every row to the record finds them.


const nameOf = (table: string) => `authorization_journal_${table}`;

/** The trigger function's body, exactly as pg_proc.prosrc keeps it (compared at open). */
function body({ kind, covered }: JournalTable): string {
  const fields = (row: 'NEW' | 'OLD') =>
    `json_build_object(${[...Object.entries(covered), ['mac', 'mac']].map(([f, c]) => `'${f}', ${c === 'certificate' ? `encode(${row}.${c}, 'hex')` : `${row}.${c}`}`).join(', ')})::text`;
  const append = (row: 'NEW' | 'OLD', added: boolean) => `INSERT INTO authorization_journal (kind, added, fields) VALUES ('${kind}', ${added}, ${fields(row)});`;
  const changed = [...Object.values(covered), 'mac'].map((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`).join(' OR ');
  // Nested IFs: before PostgreSQL 11, naming OLD in an INSERT's trigger is an error, even where AND would skip it.
  return `
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NOT (${changed}) THEN RETURN NULL; END IF;
  END IF;
  IF TG_OP <> 'INSERT' THEN ${append('OLD', false)} END IF;
  IF TG_OP <> 'DELETE' THEN ${append('NEW', true)} END IF;
  RETURN NULL;
END
`;
}

const functionSql = (t: JournalTable) => `CREATE OR REPLACE FUNCTION ${nameOf(t.table)}() RETURNS trigger LANGUAGE plpgsql AS $journal$${body(t)}$journal$`;
// EXECUTE PROCEDURE (not FUNCTION) for PostgreSQL before 11, as pg-change-feed.ts.
const triggerSql = (t: JournalTable) => `CREATE TRIGGER ${nameOf(t.table)} AFTER INSERT OR DELETE OR UPDATE ON ${t.table} FOR EACH ROW EXECUTE PROCEDURE ${nameOf(t.table)}()`;

/** The schema migration (version 17) that adds the journal and its triggers. */
export const PG_AUTHORIZATION_JOURNAL_MIGRATION = {
  version: 17,
  sql: `
    CREATE TABLE authorization_journal (
      id bigserial PRIMARY KEY,
      kind text NOT NULL,
      added boolean NOT NULL,
      fields text NOT NULL
    );
    ${JOURNAL_TABLES_V17.map((t) => `${functionSql(t)};\n    ${triggerSql(t)};`).join('\n    ')}
  `,
};

/** Version 18: the vaults' trigger function journals their deletion state too (their seal covers it from then on). */
export const PG_VAULT_JOURNAL_MIGRATION = { version: 18, sql: functionSql(VAULTS) };

/** AFTER (no BEFORE bit), FOR EACH ROW (1), INSERT (4), DELETE (8), UPDATE (16): pg_trigger.tgtype. */
const TRIGGER_TYPE = 1 | 4 | 8 | 16;

/** The journal's triggers as coffer makes them (held to the schema's by pg-schema-check.ts): each calls a function of its name. */
export const JOURNAL_TRIGGERS = JOURNAL_TABLES.map((t) => ({ name: nameOf(t.table), table: t.table, tgtype: TRIGGER_TYPE, src: body(t) }));

/**
 * Puts back any trigger (or its function) dropped, disabled or changed outside coffer; returns the triggers' names.
 * Rows changed meanwhile are not in the journal, but the start holds every row to the record, and refuses them.
 */
export async function restorePgJournalTriggers(pool: pg.Pool): Promise<string[]> {
  const found = await rows<{ name: string; tgtype: number; tgenabled: string; qual: boolean; attrs: string; fn: string | null; src: string | null; lang: string | null }>(
    pool,
    `SELECT t.tgname AS name, t.tgtype, t.tgenabled, t.tgqual IS NOT NULL AS qual, t.tgattr::text AS attrs, p.proname AS fn, p.prosrc AS src, l.lanname AS lang
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     LEFT JOIN pg_proc p ON p.oid = t.tgfoid LEFT JOIN pg_language l ON l.oid = p.prolang
     WHERE c.relnamespace = current_schema()::regnamespace AND t.tgname LIKE 'authorization\\_journal\\_%' AND c.relname = substr(t.tgname, 23)`,
  );
  const intact = (t: JournalTable) => {
    const f = found.find((r) => r.name === nameOf(t.table));
    return f && f.tgtype === TRIGGER_TYPE && f.tgenabled === 'O' && !f.qual && f.attrs === '' && f.fn === nameOf(t.table) && f.src === body(t) && f.lang === 'plpgsql';
  };
  const wrong = JOURNAL_TABLES.filter((t) => !intact(t));
  if (wrong.length > 0) {
    await transaction(pool, async (c) => {
      for (const t of wrong) {
        await c.query(`DROP TRIGGER IF EXISTS ${nameOf(t.table)} ON ${t.table}`);
        await c.query(functionSql(t));
        await c.query(triggerSql(t));
      }
    });
  }
  return wrong.map((t) => nameOf(t.table));
}

/** Reads and empties the journal in the caller's transaction (in the order written). */
export async function takeJournal(c: Queryable): Promise<JournalEntry[]> {
  const taken = await rows<{ id: number; kind: string; added: boolean; fields: string }>(c, 'DELETE FROM authorization_journal RETURNING id, kind, added, fields');
  return taken.sort((a, b) => a.id - b.id).map((e) => ({ kind: e.kind, added: e.added, fields: e.fields }));
}
