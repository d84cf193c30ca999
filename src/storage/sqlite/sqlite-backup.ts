import { closeSync, existsSync, fsyncSync, linkSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './sqlite-migrations.js';

// Backups of the embedded store, taken while the server runs: `VACUUM INTO`
// writes the database as one read transaction sees it (a consistent
// snapshot, whatever commits meanwhile; WAL readers do not block the
// server's writer), compacted, into a file of its own. Copying coffer.db
// itself is not a backup: its last commits may still be in coffer.db-wal.

const PRIVATE = 0o600;
const BUSY_TIMEOUT_MS = 5000;

export class BackupFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupFileError';
  }
}

/** What a backup holds, as far as an operator needs to tell one from another. */
export interface BackupSummary {
  file: string;
  bytes: number;
  schemaVersion: number;
  /** The last audit record in it: the backup holds everything up to it. */
  auditRecords: { lastSeq: number; lastTime: string | null };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const NEWEST_SCHEMA = Math.max(...MIGRATIONS.map((m) => m.version));

/** Syncs a file (`r+`) or a directory's entries (`r`) to disk. */
export function fsyncPath(path: string, flags: 'r' | 'r+'): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function summarize(db: Database.Database, file: string): BackupSummary {
  const has = (table: string) => db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(table)!.n > 0;
  if (!has('schema_migrations') || !has('settings') || !has('audit_events')) throw new BackupFileError(`${file} is not a coffer database`);
  const schemaVersion = db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').get()?.v ?? 0;
  const last = db.prepare<[], { seq: number; time: string }>('SELECT seq, time FROM audit_events ORDER BY seq DESC LIMIT 1').get();
  // Both end up in the restore's audit record: only a number and a time, whatever a file's rows hold.
  const lastSeq = Number.isSafeInteger(last?.seq) ? last!.seq : 0;
  const lastTime = typeof last?.time === 'string' && ISO_TIME.test(last.time) ? last.time : null;
  return { file, bytes: statSync(file).size, schemaVersion, auditRecords: { lastSeq, lastTime } };
}

function openReadOnly(file: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Reading the header is what tells a database from any other file.
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
  } catch (err) {
    throw new BackupFileError(`${file} cannot be read as a SQLite database (${(err as Error).message})`);
  }
  return db;
}

/**
 * Copies the database `from` into `to` (a new, owner-only, synced file) through SQLite: one read transaction, and
 * what it reads includes a WAL beside the file. `place` puts the synced copy at `to` (it starts as a partial file).
 */
function copyDatabase(from: string, to: string, place: (partial: string) => void): void {
  const partial = `${to}.partial-${process.pid}`;
  // VACUUM INTO takes an empty file as it finds it: made here first, so that it is never readable by others.
  closeSync(openSync(partial, 'wx', PRIVATE));
  try {
    const db = openReadOnly(from);
    try {
      summarize(db, from);
      db.prepare('VACUUM INTO ?').run(partial);
    } catch (err) {
      throw err instanceof BackupFileError ? err : new BackupFileError(`the copy of ${from} could not be written (${(err as Error).message})`);
    } finally {
      db.close();
    }
    fsyncPath(partial, 'r+');
    place(partial);
    fsyncPath(dirname(to), 'r');
  } finally {
    rmSync(partial, { force: true });
  }
}

/**
 * Writes a consistent copy of the database `source` to `target` (a new file,
 * owner-only; never over an existing one) and describes it.
 */
export function backupDatabase(source: string, target: string): BackupSummary {
  if (existsSync(target)) throw new BackupFileError(`${target} already exists: name a new file`);
  // Said of the directory the file was named in, not of the partial file written there first.
  if (!existsSync(dirname(target))) throw new BackupFileError(`${dirname(target)} does not exist: create the directory first, or name a file in another one`);
  // A hard link refuses an existing name (rename would replace it): a backup never overwrites a file.
  copyDatabase(source, target, (partial) => linkSync(partial, target));
  return inspectBackup(target, { thorough: false });
}

/**
 * What a backup file holds; refused if it is not a coffer database this build
 * can open, or (`thorough`) if SQLite's integrity check finds it damaged.
 */
export function inspectBackup(file: string, opts: { thorough: boolean }): BackupSummary {
  if (!existsSync(file)) throw new BackupFileError(`${file} does not exist`);
  const db = openReadOnly(file);
  try {
    if (opts.thorough) {
      const problems = db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>;
      if (problems.length !== 1 || problems[0]!.integrity_check !== 'ok') {
        throw new BackupFileError(`${file} is damaged: ${problems.slice(0, 3).map((p) => p.integrity_check).join('; ')}`);
      }
    }
    const summary = summarize(db, file);
    if (summary.schemaVersion > NEWEST_SCHEMA) {
      throw new BackupFileError(`${file} was written by a newer coffer (schema ${summary.schemaVersion}; this build knows up to ${NEWEST_SCHEMA}): restore it with that version`);
    }
    return summary;
  } catch (err) {
    throw err instanceof BackupFileError ? err : new BackupFileError(`${file} cannot be read as a coffer database (${(err as Error).message})`);
  } finally {
    db.close();
  }
}

/** Copies the database `from` to `to` (owner-only, put in place in one rename) and syncs it. */
export function copyPrivate(from: string, to: string): void {
  copyDatabase(from, to, (partial) => renameSync(partial, to));
}
