import type Database from 'better-sqlite3';

// Versioned schema migrations, applied in order inside one transaction at
// open and recorded in schema_migrations. Never edit a shipped migration:
// add the next one.

export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE principals (
        object_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('ServicePrincipal', 'User', 'Group')),
        display_name TEXT NOT NULL,
        app_id TEXT UNIQUE,
        upn_key TEXT UNIQUE,
        upn TEXT,
        password_hash TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE client_secrets (
        key_id TEXT PRIMARY KEY,
        object_id TEXT NOT NULL REFERENCES principals(object_id) ON DELETE CASCADE,
        secret_hash TEXT NOT NULL,
        hint TEXT NOT NULL,
        display_name TEXT,
        start_at INTEGER NOT NULL,
        end_at INTEGER NOT NULL
      );
      CREATE INDEX client_secrets_object ON client_secrets(object_id);
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        public_jwk TEXT NOT NULL,
        private_sealed BLOB NOT NULL,
        master_key_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
      );
      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        object_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE TABLE resource_groups (
        subscription_id TEXT NOT NULL,
        name_key TEXT NOT NULL,
        name TEXT NOT NULL,
        location TEXT NOT NULL,
        tags TEXT NOT NULL,
        PRIMARY KEY (subscription_id, name_key)
      );
      CREATE TABLE vaults (
        id TEXT PRIMARY KEY,
        name_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        resource_group TEXT NOT NULL,
        location TEXT NOT NULL,
        tags TEXT NOT NULL,
        properties TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        deleted_at INTEGER,
        scheduled_purge_at INTEGER,
        dek_wrapped BLOB NOT NULL,
        master_key_id TEXT NOT NULL
      );
      CREATE TABLE secrets (
        vault_id TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
        name_key TEXT NOT NULL,
        name TEXT NOT NULL,
        latest_seq INTEGER NOT NULL,
        deleted_at INTEGER,
        scheduled_purge_at INTEGER,
        PRIMARY KEY (vault_id, name_key)
      ) WITHOUT ROWID;
      CREATE INDEX secrets_purge ON secrets(scheduled_purge_at) WHERE deleted_at IS NOT NULL;
      CREATE TABLE secret_versions (
        vault_id TEXT NOT NULL,
        name_key TEXT NOT NULL,
        version TEXT NOT NULL,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        ciphertext BLOB NOT NULL,
        content_type TEXT,
        tags TEXT,
        enabled INTEGER NOT NULL,
        nbf INTEGER,
        exp INTEGER,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (vault_id, name_key, version),
        UNIQUE (vault_id, name_key, seq),
        FOREIGN KEY (vault_id, name_key) REFERENCES secrets(vault_id, name_key) ON DELETE CASCADE
      );
    `,
  },
];

export function migrate(db: Database.Database, migrations: Migration[] = MIGRATIONS): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const current = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (current > known) {
    throw new Error(`the database schema is version ${current}, newer than this coffer understands (${known}); upgrade coffer`);
  }
  const pending = migrations.filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  db.transaction(() => {
    for (const m of pending) {
      db.exec(m.sql);
      record.run(m.version, Math.floor(Date.now() / 1000));
    }
  })();
  return known;
}
