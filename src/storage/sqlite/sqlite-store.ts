import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Store } from '../store-types.js';
import { sqlitePrincipalStore, sqliteRefreshTokenStore, sqliteSettingsStore, sqliteSigningKeyStore } from './sqlite-identity-store.js';
import { migrate } from './sqlite-migrate.js';
import { AUDIT_WRITE_SQL, sqliteAuditedWrites, sqliteAuditStore } from './sqlite-audit-store.js';
import { createChainKeyHolder } from '../chain-key-holder.js';
import { openReadSnapshot } from './sqlite-read-snapshot.js';
import { createWriter } from './sqlite-writer.js';
import { watchTestPageCap, type TestPageCap } from './sqlite-test-page-cap.js';
import { sqliteGroupStore, sqliteRoleAssignmentStore, sqliteRoleDefinitionStore } from './sqlite-access-store.js';
import { SECRET_WRITE_SQL, sqliteSecretStore } from './sqlite-secret-store.js';
import { sqliteSignInCodeStore } from './sqlite-sign-in-code-store.js';
import { sqliteSignInFailureStore } from './sqlite-sign-in-failure-store.js';
import { sqliteResourceGroupStore, sqliteVaultStore } from './sqlite-vault-store.js';
import { sqliteAuthorizationDigest } from './sqlite-authorization-digest.js';

// The embedded store: one SQLite file in WAL mode. synchronous=FULL syncs the
// WAL on every commit, so a write acknowledged to a client survives SIGKILL
// and power loss (NORMAL, the usual WAL pairing, may lose the last commits).

const PRIVATE = 0o600;
const BUSY_TIMEOUT_MS = 5000;

/** The database file and its WAL companions hold wrapped keys and ciphertext: owner only. */
function restrictModes(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(f)) chmodSync(f, PRIVATE);
  }
}

/**
 * Opens (creating if needed) and migrates the database with coffer's
 * connection settings. Exported for tests that inspect the connection.
 */
export function openSqliteDatabase(file: string): Database.Database {
  // Create the file ourselves so it never exists with a wider mode; SQLite
  // gives the -wal and -shm files it creates the main file's permissions.
  closeSync(openSync(file, 'a', PRIVATE));
  restrictModes(file);
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`${file}: SQLite could not switch to WAL mode (journal_mode is ${String(mode)})`);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  restrictModes(file);
  return db;
}

/** `walLimitBytes` (default WAL_LIMIT_BYTES) and `testPageCap` (default from the environment: sqlite-test-page-cap.ts) are for tests. */
export function openSqliteStore(opts: { file: string; walLimitBytes?: number; testPageCap?: TestPageCap }): Store {
  const db = openSqliteDatabase(opts.file);
  const writer = createWriter(opts.file, { ...SECRET_WRITE_SQL, ...AUDIT_WRITE_SQL }, opts.walLimitBytes);
  const reads = openReadSnapshot(opts.file, BUSY_TIMEOUT_MS);
  const auditKeys = createChainKeyHolder();
  const audited = sqliteAuditedWrites(db, auditKeys);
  const digest = sqliteAuthorizationDigest(db);
  const { guarded } = digest;
  const stopPageCap = watchTestPageCap(db, writer, opts.testPageCap);
  return {
    kind: 'sqlite',
    settings: sqliteSettingsStore(db),
    principals: sqlitePrincipalStore(db, audited, guarded),
    signingKeys: sqliteSigningKeyStore(db),
    refreshTokens: sqliteRefreshTokenStore(db),
    signInCodes: sqliteSignInCodeStore(db),
    signInFailures: sqliteSignInFailureStore(db),
    resourceGroups: sqliteResourceGroupStore(db, audited),
    vaults: sqliteVaultStore(db, reads.afterChange, audited, guarded),
    secrets: sqliteSecretStore(db, writer, reads, audited),
    groups: sqliteGroupStore(db, audited, guarded),
    audit: sqliteAuditStore(db, writer, auditKeys),
    roleDefinitions: sqliteRoleDefinitionStore(db, audited, guarded),
    roleAssignments: sqliteRoleAssignmentStore(db, audited, guarded),
    authorizationDigest: digest.host,
    async close() {
      stopPageCap();
      await writer.close();
      reads.close();
      if (db.open) db.close();
    },
  };
}
