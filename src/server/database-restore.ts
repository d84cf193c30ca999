import { existsSync, linkSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Keyring } from '../crypto/keyring.js';
import { checkKeysOpen, keyIdsInUse } from '../crypto/master-key-rotation.js';
import { AUTHORIZATION_KEY_FILE, AUTHORIZATION_KEY_SETTING } from '../authorization/authorization-key.js';
import { DIGEST_FILE } from './authorization-digest-start.js';
import { PEPPER_RECORD_FILE } from '../identity/credential-pepper.js';
import { CREDENTIAL_PEPPER_SETTING } from '../identity/credential-pepper-row.js';
import { AUDIT_KEY_SETTING } from '../audit/audit-chain.js';
import type { SettingsStore } from '../storage/store-types.js';
import { writeRestoreNote, type RestoreNote } from '../audit/restore-note.js';
import { BackupFileError, copyPrivate, inspectBackup, type BackupSummary } from '../storage/sqlite/sqlite-backup.js';
import { openSqliteStore } from '../storage/sqlite/sqlite-store.js';

// Puts a backup in place of a data dir's SQLite database, with no server
// running (the caller holds the data dir's lock). The database it replaces
// is kept, with the files that describe it (the audit head, the fingerprints
// of its keys): those describe the database, not the data dir, and would
// refuse the restored copy as a database put back. The next start records
// them afresh from the restored database, and records the restore in its
// audit trail (restore-note.ts).

export const DATABASE_FILE = 'coffer.db';
/** SQLite's companions of the database file. */
const COMPANION_FILES = [`${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`];
/** The data dir's records of the database it ran against (what a start holds the database to). */
const RECORD_FILES = ['audit-head.json', 'audit-key.json', 'signing-keys-retired.json', PEPPER_RECORD_FILE, AUTHORIZATION_KEY_FILE, DIGEST_FILE];

export interface RestoreResult {
  restoredFrom: BackupSummary;
  /** The database it replaced (its last audit record), or null if the data dir had none. */
  replaced: { lastAuditSeq: number | null; keptIn: string } | null;
}

/** Removes a file SQLite made and its companions (a staged copy of an earlier, interrupted restore). */
function removeDatabaseFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) rmSync(f, { force: true });
}

/**
 * What every database a coffer server has started on holds: the credential pepper with its conversion done,
 * the authorization key bound (every row sealed), the audit key. The next start reads the restored database
 * with no record of it in the data dir, as a new cluster member reads one; a database missing one of these
 * would have that start make it and trust what it finds (hashes to key, rows to seal): a backup edited by a
 * database writer to plant a credential or a grant. Refused instead.
 */
async function checkSettled(settings: Pick<SettingsStore, 'get'>, backupFile: string): Promise<void> {
  const state = async (key: string) => {
    const raw = await settings.get(key);
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as { converted?: unknown; bound?: unknown };
    } catch {
      return {};
    }
  };
  const pepper = await state(CREDENTIAL_PEPPER_SETTING);
  const authorization = await state(AUTHORIZATION_KEY_SETTING);
  const missing = [
    pepper === null ? 'its credential pepper' : pepper.converted !== true ? 'a finished conversion of its credential pepper' : null,
    authorization === null ? 'its authorization key' : authorization.bound !== true ? 'its authorization key bound' : null,
    (await settings.get(AUDIT_KEY_SETTING)) === null ? 'its audit key' : null,
  ].filter((m) => m !== null);
  if (missing.length > 0) {
    throw new BackupFileError(
      `${backupFile} lacks ${missing.join(', ')}, which every database a coffer server has started on holds: it was altered (or is not a backup of a started server). Nothing was changed.`,
    );
  }
}

/** The backup, copied into the data dir and checked to open under the keyring (migrated as a start would). */
async function stage(backupFile: string, staged: string, keyring: Keyring): Promise<void> {
  removeDatabaseFiles(staged);
  copyPrivate(backupFile, staged);
  try {
    const store = openSqliteStore({ file: staged });
    try {
      const inUse = [...(await keyIdsInUse(store, keyring))];
      const missing = inUse.filter((id) => !keyring.has(id));
      // Some keys under a held master key and some under another: taken while a master key rotation ran.
      if (missing.length > 0 && missing.length < inUse.length) {
        throw new BackupFileError(
          `${backupFile} was made under master keys ${inUse.join(' and ')} (taken while a master key rotation ran, it holds keys under both); this data dir's keyring holds only ${inUse.filter((id) => keyring.has(id)).join(', ')}. ` +
            `Restore it with all of them: COFFER_MASTER_KEY set to one of them and COFFER_PREVIOUS_MASTER_KEYS to the others (a master.key file's key: its entry under "keys"); restore, start, then rotate again. Nothing was changed.`,
        );
      }
      if (missing.length > 0) {
        throw new BackupFileError(
          `${backupFile} was made under master key ${missing.join(', ')}, which this data dir's keyring (master key ${keyring.primaryId}) does not hold: ` +
            'a backup made before a master key rotation opens only with the master key of its time. Put that master.key in the data dir ' +
            '(or set COFFER_MASTER_KEY to it), restore, start, then rotate again. Nothing was changed.',
        );
      }
      await checkSettled(store.settings, backupFile);
      await checkKeysOpen(store, keyring).catch((err: Error) => {
        throw new BackupFileError(`${backupFile} holds keys that do not open under this data dir's master keyring (damaged or altered): ${err.message}`);
      });
    } finally {
      await store.close();
    }
    // Self-contained before it is renamed into place: no WAL of its own left beside it.
    const db = new Database(staged);
    try {
      db.pragma('journal_mode = DELETE');
    } finally {
      db.close();
    }
  } catch (err) {
    removeDatabaseFiles(staged);
    throw err;
  }
}

/** The last audit record of the database being replaced, with its WAL folded in; null if it cannot be read. */
function settle(file: string): number | null {
  try {
    const db = new Database(file, { fileMustExist: true });
    try {
      const last = db.prepare<[], { seq: number }>('SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1').get();
      // Its WAL moves aside with it below; folded in first, the kept file is whole on its own.
      db.pragma('wal_checkpoint(TRUNCATE)');
      return last?.seq ?? 0;
    } finally {
      db.close();
    }
  } catch {
    return null; // damaged: kept as it is, its WAL beside it
  }
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '');

export async function restoreDatabase(opts: { dataDir: string; backupFile: string; keyring: Keyring; now?: Date }): Promise<RestoreResult> {
  const now = opts.now ?? new Date();
  const summary = inspectBackup(opts.backupFile, { thorough: true });
  const live = join(opts.dataDir, DATABASE_FILE);
  const staged = join(opts.dataDir, `${DATABASE_FILE}.restoring`);
  await stage(opts.backupFile, staged, opts.keyring);

  let replaced: RestoreResult['replaced'] = null;
  const hadDatabase = existsSync(live);
  const present = (files: string[]) => files.filter((f) => existsSync(join(opts.dataDir, f)));
  const records = present(RECORD_FILES);
  if (hadDatabase || records.length > 0 || present(COMPANION_FILES).length > 0) {
    const keptIn = join(opts.dataDir, `before-restore-${stamp(now)}`);
    // Its WAL folded in first: the kept file is whole on its own, and no WAL of it is left beside the restored one.
    const lastAuditSeq = hadDatabase ? settle(live) : null;
    mkdirSync(keptIn, { mode: 0o700 });
    if (hadDatabase) linkSync(live, join(keptIn, DATABASE_FILE));
    for (const f of present(COMPANION_FILES)) renameSync(join(opts.dataDir, f), join(keptIn, f));
    replaced = { lastAuditSeq, keptIn };
  }
  // The restored database in place in one rename, before the records of the replaced one go: a crash in between
  // leaves the restored database held to the replaced one's records (a start refuses what they do not match),
  // never the replaced database without its records, which a start would take as found.
  renameSync(staged, live);
  for (const f of records) renameSync(join(opts.dataDir, f), join(replaced!.keptIn, f));
  const note: RestoreNote = {
    restoredAt: now.toISOString(),
    backupFile: summary.file,
    backupLastAuditSeq: summary.auditRecords.lastSeq,
    backupLastAuditTime: summary.auditRecords.lastTime,
    replacedLastAuditSeq: replaced?.lastAuditSeq ?? null,
    replacedKeptIn: replaced?.keptIn ?? null,
  };
  writeRestoreNote(opts.dataDir, note);
  return { restoredFrom: summary, replaced };
}
