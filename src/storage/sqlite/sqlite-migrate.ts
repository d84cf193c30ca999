import type Database from 'better-sqlite3';
import { SchemaTooNewError, type Migration } from '../schema-version.js';
import { MIGRATIONS } from './sqlite-migrations.js';

// Pending migrations run in one IMMEDIATE transaction at open, so two
// processes opening the same file cannot both apply them, and a failed
// migration leaves the file as it was.

/** Brings the database to the newest known schema; returns that version. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const known = ordered.at(-1)?.version ?? 0;
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  const currentVersion = db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  const record = db.prepare<[number, number]>('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');

  const apply = db.transaction(() => {
    // Read inside the write transaction: another process may have migrated meanwhile.
    const current = currentVersion.get()?.v ?? 0;
    if (current > known) throw new SchemaTooNewError(db.name, current, known);
    for (const m of ordered.filter((x) => x.version > current)) {
      db.exec(m.sql);
      record.run(m.version, Math.floor(Date.now() / 1000));
    }
  });
  apply.immediate();
  return known;
}
