import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Store } from '../store-types.js';
import { migrate } from './sqlite-migrations.js';
import { sqlitePrincipals, sqliteRefreshTokens, sqliteSettings, sqliteSigningKeys } from './sqlite-identity-store.js';
import { sqliteSecrets } from './sqlite-secret-store.js';
import { sqliteResourceGroups, sqliteVaults } from './sqlite-vault-store.js';

// The embedded store: one SQLite file in WAL mode. synchronous=FULL makes a
// commit durable before it returns, so an acknowledged write survives a crash.

function restrict(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}

export function openSqliteStore(opts: { file: string }): Store {
  // Create the file ourselves so it never exists with a wider mode.
  if (!existsSync(opts.file)) closeSync(openSync(opts.file, 'a', 0o600));
  const db = new Database(opts.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  restrict(opts.file);
  return {
    kind: 'sqlite',
    settings: sqliteSettings(db),
    principals: sqlitePrincipals(db),
    signingKeys: sqliteSigningKeys(db),
    refreshTokens: sqliteRefreshTokens(db),
    resourceGroups: sqliteResourceGroups(db),
    vaults: sqliteVaults(db),
    secrets: sqliteSecrets(db),
    async close() {
      db.close();
      restrict(opts.file);
    },
  };
}
