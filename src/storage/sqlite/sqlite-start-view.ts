import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { StartView } from '../store-types.js';
import { createChainKeyHolder } from '../chain-key-holder.js';
import { sqliteAuditedWrites } from './sqlite-audit-store.js';
import { sqlitePrincipalStore, sqliteSettingsStore, sqliteSigningKeyStore } from './sqlite-identity-store.js';
import { sqliteGroupStore, sqliteRoleAssignmentStore, sqliteRoleDefinitionStore } from './sqlite-access-store.js';
import { migrate } from './sqlite-migrate.js';
import { sqliteVaultStore } from './sqlite-vault-store.js';

// A start's pre-flight view of an existing database (server/start-preflight.ts):
// its own connection, in one transaction that applies the pending migrations
// (so the checks read the schema they know) and is always rolled back, so a
// start refused here leaves the file as it was. No journal mode is set (a
// change of mode would be a write): coffer's databases are in WAL mode already.

const BUSY_TIMEOUT_MS = 5000;

/** Runs `check` against the database in `file` as migrated, then rolls everything back; nothing to check without the file. */
export async function withSqliteStartView(file: string, check: (view: StartView) => Promise<void>): Promise<void> {
  if (!existsSync(file)) return;
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
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
    });
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}
