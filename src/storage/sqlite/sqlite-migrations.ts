import type { Migration } from '../schema-version.js';
import { LOCK_RUN_SQL, PASSWORD_GENERATION_SQL, REFRESH_TOKEN_OWNER_SQL, SEAL_COLUMNS_SQL } from '../store-support.js';
import { AUTHORIZATION_JOURNAL_SQL, VAULT_JOURNAL_V18_SQL } from './sqlite-authorization-journal.js';
import { SQLITE_FEDERATED_CREDENTIALS_SQL } from './sqlite-federated-credentials.js';

// Versioned schema, applied by sqlite-migrate.ts. Never edit a shipped
// migration: append the next version.
//
// Note: test/at-rest.test.ts finds the secret versions table as the only table
// whose CREATE statement mentions "ciphertext"; keep it that way.


export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE principals (
        object_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('ServicePrincipal', 'User', 'Group')),
        display_name TEXT NOT NULL,
        app_id TEXT,
        app_id_key TEXT UNIQUE,
        upn TEXT,
        upn_key TEXT UNIQUE,
        password_hash TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE client_secrets (
        key_id TEXT PRIMARY KEY,
        object_id TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
        secret_hash TEXT NOT NULL,
        hint TEXT NOT NULL,
        display_name TEXT,
        start_at INTEGER NOT NULL,
        end_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX client_secrets_by_principal ON client_secrets (object_id);

      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        public_jwk TEXT NOT NULL,
        private_sealed BLOB NOT NULL,
        master_key_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
      ) STRICT;

      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        object_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

      CREATE TABLE resource_groups (
        subscription_id TEXT NOT NULL,
        name_key TEXT NOT NULL,
        name TEXT NOT NULL,
        location TEXT NOT NULL,
        tags TEXT NOT NULL,
        PRIMARY KEY (subscription_id, name_key)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE vaults (
        id TEXT PRIMARY KEY,
        name_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        resource_group TEXT NOT NULL,
        resource_group_key TEXT NOT NULL,
        location TEXT NOT NULL,
        tags TEXT NOT NULL,
        properties TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        deleted_at INTEGER,
        scheduled_purge_at INTEGER,
        dek_wrapped BLOB NOT NULL,
        master_key_id TEXT NOT NULL,
        CHECK ((deleted_at IS NULL) = (scheduled_purge_at IS NULL))
      ) STRICT;
      CREATE INDEX vaults_by_group ON vaults (subscription_id, resource_group_key);
      CREATE INDEX vaults_by_purge_time ON vaults (scheduled_purge_at) WHERE deleted_at IS NOT NULL;

      CREATE TABLE secrets (
        vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        name_key TEXT NOT NULL,
        name TEXT NOT NULL,
        latest_seq INTEGER NOT NULL,
        deleted_at INTEGER,
        scheduled_purge_at INTEGER,
        PRIMARY KEY (vault_id, name_key),
        CHECK ((deleted_at IS NULL) = (scheduled_purge_at IS NULL))
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX secrets_by_purge_time ON secrets (scheduled_purge_at) WHERE deleted_at IS NOT NULL;

      CREATE TABLE secret_versions (
        vault_id TEXT NOT NULL,
        name_key TEXT NOT NULL,
        version TEXT NOT NULL,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        ciphertext BLOB NOT NULL,
        content_type TEXT,
        tags TEXT,
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        nbf INTEGER,
        exp INTEGER,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (vault_id, name_key, version),
        UNIQUE (vault_id, name_key, seq),
        FOREIGN KEY (vault_id, name_key) REFERENCES secrets (vault_id, name_key) ON DELETE CASCADE
      ) STRICT;
    `,
  },
  {
    version: 2,
    sql: `
      CREATE TABLE group_members (
        group_id TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
        member_id TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, member_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX group_members_member ON group_members (member_id);

      CREATE TABLE role_definitions (
        id TEXT PRIMARY KEY,
        role_name TEXT NOT NULL,
        role_name_key TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL,
        permissions TEXT NOT NULL,
        assignable_scopes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        created_by TEXT NOT NULL
      ) STRICT;

      CREATE TABLE role_assignments (
        id TEXT PRIMARY KEY,
        scope TEXT NOT NULL,
        role_definition_id TEXT NOT NULL,
        principal_id TEXT NOT NULL,
        principal_type TEXT NOT NULL,
        description TEXT,
        end_time INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        created_by TEXT NOT NULL
      ) STRICT;
      CREATE INDEX role_assignments_principal ON role_assignments (principal_id);
      CREATE INDEX role_assignments_end ON role_assignments (end_time) WHERE end_time IS NOT NULL;
    `,
  },
  {
    version: 3,
    sql: `
      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        vault TEXT,
        secret TEXT,
        principal TEXT,
        operation TEXT NOT NULL,
        result_type TEXT NOT NULL,
        http_status INTEGER NOT NULL,
        record TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_events_time ON audit_events (time);
      CREATE INDEX audit_events_vault ON audit_events (vault, seq);
      CREATE INDEX audit_events_principal ON audit_events (principal, seq);
    `,
  },
  {
    // Each new version wrote a page of the (vault_id, name_key, seq) index as
    // well as one of the version-id index; the latest version is now found
    // through secrets.latest_id, a stable row id (an INTEGER PRIMARY KEY
    // survives VACUUM), and that index is gone. Rebuilt because SQLite cannot
    // drop a table constraint; row ids are kept.
    version: 4,
    sql: `
      CREATE TABLE secret_versions_v4 (
        id INTEGER PRIMARY KEY,
        vault_id TEXT NOT NULL,
        name_key TEXT NOT NULL,
        version TEXT NOT NULL,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        ciphertext BLOB NOT NULL,
        content_type TEXT,
        tags TEXT,
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        nbf INTEGER,
        exp INTEGER,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        UNIQUE (vault_id, name_key, version),
        FOREIGN KEY (vault_id, name_key) REFERENCES secrets (vault_id, name_key) ON DELETE CASCADE
      ) STRICT;
      INSERT INTO secret_versions_v4 (id, vault_id, name_key, version, seq, name, ciphertext, content_type, tags, enabled, nbf, exp, created, updated)
        SELECT rowid, vault_id, name_key, version, seq, name, ciphertext, content_type, tags, enabled, nbf, exp, created, updated FROM secret_versions ORDER BY rowid;
      DROP TABLE secret_versions;
      ALTER TABLE secret_versions_v4 RENAME TO secret_versions;
      -- NULL only inside the transaction that creates a secret, before its first version exists.
      ALTER TABLE secrets ADD COLUMN latest_id INTEGER;
      UPDATE secrets SET latest_id =
        (SELECT v.id FROM secret_versions v WHERE v.vault_id = secrets.vault_id AND v.name_key = secrets.name_key AND v.seq = secrets.latest_seq);
    `,
  },
  {
    version: 5,
    sql: `
      -- The audit chain is keyed from this version on (src/audit/audit-chain.ts). Nothing in the
      -- tables changes: the version makes builds from before keying refuse the database, since the
      -- unkeyed records and unsealed anchors they would write break verification for good.
      SELECT 1;
    `,
  },
  {
    // ARM systemData: the kind of the creator, and who last changed the vault (null for rows from before).
    version: 6,
    sql: `
      ALTER TABLE vaults ADD COLUMN created_by_type TEXT;
      ALTER TABLE vaults ADD COLUMN modified_by TEXT;
      ALTER TABLE vaults ADD COLUMN modified_by_type TEXT;
    `,
  },
  {
    // Sign-ins in progress (device codes, authorization codes), kept in the database so that any
    // server can continue one. Codes are stored as hashes; user codes upper case, as typed-in keys.
    version: 7,
    sql: `
      CREATE TABLE device_codes (
        device_code_hash TEXT PRIMARY KEY,
        user_code TEXT NOT NULL UNIQUE,
        client_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        source TEXT NOT NULL,
        network TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        approved_by TEXT
      ) STRICT;
      CREATE INDEX device_codes_by_expiry ON device_codes (expires_at);
      CREATE INDEX device_codes_by_source ON device_codes (source, expires_at);
      CREATE INDEX device_codes_by_network ON device_codes (network, expires_at);

      CREATE TABLE auth_codes (
        code_hash TEXT PRIMARY KEY,
        object_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        scope TEXT NOT NULL,
        challenge TEXT NOT NULL,
        nonce TEXT,
        source TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        redeemed INTEGER NOT NULL DEFAULT 0 CHECK (redeemed IN (0, 1))
      ) STRICT;
      CREATE INDEX auth_codes_by_expiry ON auth_codes (expires_at);
      CREATE INDEX auth_codes_by_source ON auth_codes (source, expires_at) WHERE redeemed = 0;
    `,
  },
  {
    // Sign-in lockout counts (identity/sign-in-lockout.ts), kept where every server of a database sees them.
    version: 8,
    sql: `
      CREATE TABLE sign_in_failures (
        key TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        first_at INTEGER NOT NULL,
        locked_until INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sign_in_failures_by_end ON sign_in_failures (first_at);
    `,
  },
  {
    // Refresh-token families (identity/oauth-grants.ts): a used token is kept, so that its reuse revokes its
    // sign-in's tokens. A token from before is a family of its own.
    version: 9,
    sql: `
      ALTER TABLE refresh_tokens ADD COLUMN family_id TEXT NOT NULL DEFAULT '';
      ALTER TABLE refresh_tokens ADD COLUMN used_at INTEGER;
      UPDATE refresh_tokens SET family_id = token_hash;
      CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
    `,
  },
  {
    // A name's last wrong passwords, as keyed fingerprints (identity/sign-in-lockout.ts): a repeat is not counted again.
    version: 10,
    sql: `ALTER TABLE sign_in_failures ADD COLUMN recent TEXT NOT NULL DEFAULT '';`,
  },
  {
    // Renewed vault data keys (crypto/vault-keys.ts): the current key's generation, and the earlier generations,
    // which still open the values sealed with them.
    version: 11,
    sql: `
      ALTER TABLE vaults ADD COLUMN dek_generation INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE vault_earlier_keys (
        vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        generation INTEGER NOT NULL,
        dek_wrapped BLOB NOT NULL,
        master_key_id TEXT NOT NULL,
        PRIMARY KEY (vault_id, generation)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    // No table changes: marks a database whose audit key a master key rotation may renew (audit/audit-key.ts).
    // A build from before would go on MACing records under the key's first generation and break the chain
    // for good; with this version it refuses the database instead.
    version: 12,
    sql: `SELECT 1;`,
  },
  {
    // A group's mail nickname, as given at creation. Also: vault data keys and the backup key record the
    // master key they were made under, in their wrapping (crypto/vault-key-wrap.ts), and the credential
    // pepper has generations; a build from before would open none of them, and with this version it
    // refuses the database at start instead.
    version: 13,
    sql: `ALTER TABLE principals ADD COLUMN mail_nickname TEXT;`,
  },
  {
    // The authorization seal (authorization/authorization-seal.ts): a MAC on every row that grants access.
    // A build from before would store rows without one, which this version refuses, so it refuses the database.
    version: 14,
    sql: SEAL_COLUMNS_SQL,
  },
  {
    // Certificate credentials of service principals (identity/key-credentials.ts), each sealed as authorization data.
    version: 15,
    sql: `
      CREATE TABLE key_credentials (
        key_id TEXT PRIMARY KEY,
        object_id TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
        certificate BLOB NOT NULL,
        thumbprint_sha1 TEXT NOT NULL,
        thumbprint_sha256 TEXT NOT NULL,
        display_name TEXT,
        start_at INTEGER NOT NULL,
        end_at INTEGER NOT NULL,
        mac TEXT
      ) STRICT;
      CREATE INDEX key_credentials_by_principal ON key_credentials (object_id);
    `,
  },
  // Federated identity credentials of applications (identity/federated-credentials.ts), sealed as authorization data.
  { version: 16, sql: SQLITE_FEDERATED_CREDENTIALS_SQL },
  // The authorization digest's journal: triggers record the sealed rows added and removed (sqlite-authorization-journal.ts).
  { version: 17, sql: AUTHORIZATION_JOURNAL_SQL },
  // A vault's seal covers its deletion state (authorization-seal.ts): its triggers journal it. A build from before would
  // delete and recover vaults without sealing them, which this one refuses, so it refuses the database.
  { version: 18, sql: VAULT_JOURNAL_V18_SQL },
  // Sign-ins carry the user's password generation (identity/oauth-grants.ts): a password reset ends the sign-ins
  // made with the password before, also the ones whose tokens were still being written as it reset it.
  { version: 19, sql: PASSWORD_GENERATION_SQL },
  // A sign-in failure count keeps its run of locks: each lock in a run comes sooner and lasts longer (identity/sign-in-lockout.ts).
  { version: 20, sql: LOCK_RUN_SQL },
  // A user's refresh tokens for a client, found by owner for the per-user cap (RefreshTokenStore.insert).
  { version: 21, sql: REFRESH_TOKEN_OWNER_SQL },
];
