import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { StartView } from '../store-types.js';
import { createChainKeyHolder } from '../chain-key-holder.js';
import { sqliteAuditedWrites } from './sqlite-audit-store.js';
import { sqlitePrincipalStore, sqliteSettingsStore, sqliteSigningKeyStore } from './sqlite-identity-store.js';
import { sqliteGroupStore, sqliteRoleAssignmentStore, sqliteRoleDefinitionStore } from './sqlite-access-store.js';
import { migrate } from './sqlite-migrate.js';
import { sqliteVaultStore } from './sqlite-vault-store.js';

// A start's pre-flight view of the database (server/start-preflight.ts):
// its own connection, in one transaction that applies the pending migrations
// (so the checks read the schema they know) and is always rolled back, so a
// start refused here leaves the file as it was. No journal mode is set (a
// change of mode would be a write): coffer's databases are in WAL mode already.
// Without the file, the view is of a new, empty database in memory: a start
// the data dir's records refuse (they describe a database that is not there)
// is refused before the file is made, so it leaves no empty database behind
// for a later command to take as the deployment's.

const BUSY_TIMEOUT_MS = 5000;

/** Runs `check` against the database in `file` as migrated (a new one, without the file), then rolls everything back. */
export async function withSqliteStartView(file: string, check: (view: StartView) => Promise<void>): Promise<void> {
  const missing = !existsSync(file);
  let db: Database.Database;
  try {
    db = missing ? new Database(':memory:') : new Database(file, { fileMustExist: true });
    // The header is read on the first statement: a file that is not a database is refused here.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (err) {
    throw damaged(file, err);
  }
  try {
    db.exec('BEGIN IMMEDIATE');
    // Nested in this transaction, migrate's own is a savepoint: a too new schema is refused here too.
    migrate(db);
    const audited = sqliteAuditedWrites(db, createChainKeyHolder());
    // No digest guard here: nothing written in this view is kept.
    const unguarded = <T>(write: () => T): T => write();
    await check({
      settings: sqliteSettingsStore(db),
      principals: sqlitePrincipalStore(db, audited, unguarded),
      signingKeys: sqliteSigningKeyStore(db),
      vaults: sqliteVaultStore(db, (change) => change(), audited, unguarded),
      roleAssignments: sqliteRoleAssignmentStore(db, audited, unguarded),
      roleDefinitions: sqliteRoleDefinitionStore(db, audited, unguarded),
      groups: sqliteGroupStore(db, audited, unguarded),
    }).catch((err: unknown) => {
      if (!missing) throw err;
      throw new StartRefusedError(
        `${file} does not exist, and a start with a new, empty database is refused: ${(err as Error).message} If the deployment's database was lost or moved, put it back (coffer admin restore --file BACKUP); if the deployment keeps its data in PostgreSQL, start with --database-url.`,
      );
    });
  } catch (err) {
    throw damaged(file, err);
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}

/** A start refused with what to do, its message whole. */
export class StartRefusedError extends Error {}

/** SQLite's word that the file is not a sound database, said with the file's name and what to do; other errors as they are. */
function damaged(file: string, err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  if (code !== 'SQLITE_CORRUPT' && code !== 'SQLITE_NOTADB') return err;
  return new StartRefusedError(`the database ${file} is damaged (SQLite: ${(err as Error).message}): stop, and restore it from a backup (coffer admin restore --file BACKUP).`);
}
