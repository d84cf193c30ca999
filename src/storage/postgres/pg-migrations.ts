import type pg from 'pg';
import { SchemaTooNewError, type Migration } from '../schema-version.js';
import { describeUrl, one, transaction } from './pg-support.js';
import { PG_AUTHORIZATION_JOURNAL_MIGRATION, PG_VAULT_JOURNAL_MIGRATION } from './pg-authorization-journal.js';
import { CHANGE_FEED_MIGRATION, PRINCIPALS_FEED_MIGRATION, SETTINGS_FEED_MIGRATION } from './pg-change-feed.js';
import { LOCK_RUN_SQL, PASSWORD_GENERATION_SQL, REFRESH_TOKEN_OWNER_SQL, SEAL_COLUMNS_SQL } from '../store-support.js';
import { PG_FEDERATED_CREDENTIALS_SQL } from './pg-federated-credentials.js';

// Versioned schema, the PostgreSQL twin of sqlite-migrations.ts. Pending
// migrations run in one transaction under a transaction-level advisory lock,
// so two processes opening the same database never both apply them, and a
// failed migration leaves the database as it was (PostgreSQL DDL is
// transactional). Never edit a shipped migration: append the next version.
//
// Keys that are ordered or paged on (name keys, versions, times) use the "C"
// collation: byte order, as SQLite compares, whatever the database's locale.
// Ciphertext lives only in secret_versions (test/server-postgres.test.ts reads it).

/** Held only while migrating; distinct from the store's session lock (pg-store.ts). */
export const MIGRATION_LOCK = 0x636f6666_6d;

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE settings (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);

      CREATE TABLE principals (
        object_id text COLLATE "C" PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('ServicePrincipal', 'User', 'Group')),
        display_name text NOT NULL,
        app_id text,
        app_id_key text UNIQUE,
        upn text,
        upn_key text UNIQUE,
        password_hash text,
        created_at bigint NOT NULL
      );

      CREATE TABLE client_secrets (
        key_id text COLLATE "C" PRIMARY KEY,
        object_id text NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
        secret_hash text NOT NULL,
        hint text NOT NULL,
        display_name text,
        start_at bigint NOT NULL,
        end_at bigint NOT NULL
      );
      CREATE INDEX client_secrets_by_principal ON client_secrets (object_id);

      CREATE TABLE signing_keys (
        kid text COLLATE "C" PRIMARY KEY,
        public_jwk text NOT NULL,
        private_sealed bytea NOT NULL,
        master_key_id text NOT NULL,
        created_at bigint NOT NULL,
        retired_at bigint
      );

      CREATE TABLE refresh_tokens (
        token_hash text PRIMARY KEY,
        object_id text NOT NULL,
        client_id text NOT NULL,
        scope text NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

      CREATE TABLE resource_groups (
        subscription_id text NOT NULL,
        name_key text COLLATE "C" NOT NULL,
        name text NOT NULL,
        location text NOT NULL,
        tags text NOT NULL,
        PRIMARY KEY (subscription_id, name_key)
      );

      CREATE TABLE vaults (
        id text COLLATE "C" PRIMARY KEY,
        name_key text COLLATE "C" NOT NULL UNIQUE,
        name text NOT NULL,
        subscription_id text NOT NULL,
        resource_group text NOT NULL,
        resource_group_key text NOT NULL,
        location text NOT NULL,
        tags text NOT NULL,
        properties text NOT NULL,
        created_by text NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        deleted_at bigint,
        scheduled_purge_at bigint,
        dek_wrapped bytea NOT NULL,
        master_key_id text NOT NULL,
        CHECK ((deleted_at IS NULL) = (scheduled_purge_at IS NULL))
      );
      CREATE INDEX vaults_by_group ON vaults (subscription_id, resource_group_key);
      CREATE INDEX vaults_by_purge_time ON vaults (scheduled_purge_at) WHERE deleted_at IS NOT NULL;

      CREATE TABLE secrets (
        vault_id text NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        name_key text COLLATE "C" NOT NULL,
        name text NOT NULL,
        latest_seq integer NOT NULL,
        deleted_at bigint,
        scheduled_purge_at bigint,
        PRIMARY KEY (vault_id, name_key),
        CHECK ((deleted_at IS NULL) = (scheduled_purge_at IS NULL))
      );
      CREATE INDEX secrets_by_purge_time ON secrets (scheduled_purge_at) WHERE deleted_at IS NOT NULL;

      CREATE TABLE secret_versions (
        vault_id text NOT NULL,
        name_key text COLLATE "C" NOT NULL,
        version text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        name text NOT NULL,
        ciphertext bytea NOT NULL,
        content_type text,
        tags text,
        enabled boolean NOT NULL,
        nbf bigint,
        exp bigint,
        created bigint NOT NULL,
        updated bigint NOT NULL,
        PRIMARY KEY (vault_id, name_key, version),
        UNIQUE (vault_id, name_key, seq),
        FOREIGN KEY (vault_id, name_key) REFERENCES secrets (vault_id, name_key) ON DELETE CASCADE
      );

      CREATE TABLE group_members (
        group_id text COLLATE "C" NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
        member_id text COLLATE "C" NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, member_id)
      );
      CREATE INDEX group_members_member ON group_members (member_id);

      CREATE TABLE role_definitions (
        id text COLLATE "C" PRIMARY KEY,
        role_name text NOT NULL,
        role_name_key text COLLATE "C" NOT NULL UNIQUE,
        description text NOT NULL,
        permissions text NOT NULL,
        assignable_scopes text NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        created_by text NOT NULL
      );

      CREATE TABLE role_assignments (
        id text COLLATE "C" PRIMARY KEY,
        scope text NOT NULL,
        role_definition_id text NOT NULL,
        principal_id text NOT NULL,
        principal_type text NOT NULL,
        description text,
        end_time bigint,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        created_by text NOT NULL
      );
      CREATE INDEX role_assignments_principal ON role_assignments (principal_id);
      CREATE INDEX role_assignments_end ON role_assignments (end_time) WHERE end_time IS NOT NULL;

      CREATE TABLE audit_events (
        seq bigint PRIMARY KEY,
        time text COLLATE "C" NOT NULL,
        vault text,
        secret text,
        principal text,
        operation text NOT NULL,
        result_type text NOT NULL,
        http_status integer NOT NULL,
        record text NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL
      );
      CREATE INDEX audit_events_time ON audit_events (time);
      CREATE INDEX audit_events_vault ON audit_events (vault, seq);
      CREATE INDEX audit_events_principal ON audit_events (principal, seq);
    `,
  },
  {
    version: 2,
    sql: `
      -- The audit chain is keyed from this version on (src/audit/audit-chain.ts). Nothing in the
      -- tables changes: the version makes builds from before keying refuse the database, since the
      -- unkeyed records and unsealed anchors they would write break verification for good.
      SELECT 1;
    `,
  },
  {
    // ARM systemData: the kind of the creator, and who last changed the vault (null for rows from before).
    version: 3,
    sql: `
      ALTER TABLE vaults ADD COLUMN created_by_type text;
      ALTER TABLE vaults ADD COLUMN modified_by text;
      ALTER TABLE vaults ADD COLUMN modified_by_type text;
    `,
  },
  {
    // Sign-ins in progress (device codes, authorization codes), kept in the database so that any
    // server can continue one. Codes are stored as hashes; user codes upper case, as typed-in keys.
    version: 4,
    sql: `
      CREATE TABLE device_codes (
        device_code_hash text COLLATE "C" PRIMARY KEY,
        user_code text COLLATE "C" NOT NULL UNIQUE,
        client_id text NOT NULL,
        scope text NOT NULL,
        source text COLLATE "C" NOT NULL,
        network text COLLATE "C" NOT NULL,
        expires_at bigint NOT NULL,
        approved_by text
      );
      CREATE INDEX device_codes_by_expiry ON device_codes (expires_at);
      CREATE INDEX device_codes_by_source ON device_codes (source, expires_at);
      CREATE INDEX device_codes_by_network ON device_codes (network, expires_at);

      CREATE TABLE auth_codes (
        code_hash text COLLATE "C" PRIMARY KEY,
        object_id text NOT NULL,
        client_id text NOT NULL,
        redirect_uri text NOT NULL,
        scope text NOT NULL,
        challenge text NOT NULL,
        nonce text,
        source text COLLATE "C" NOT NULL,
        expires_at bigint NOT NULL,
        redeemed boolean NOT NULL DEFAULT false
      );
      CREATE INDEX auth_codes_by_expiry ON auth_codes (expires_at);
      CREATE INDEX auth_codes_by_source ON auth_codes (source, expires_at) WHERE NOT redeemed;
    `,
  },
  // Announcements of changes to what servers cache, for clusters (pg-change-feed.ts).
  CHANGE_FEED_MIGRATION,
  {
    // Sign-in lockout counts (identity/sign-in-lockout.ts), shared by a cluster's members.
    version: 6,
    sql: `
      CREATE TABLE sign_in_failures (
        key text COLLATE "C" PRIMARY KEY,
        count integer NOT NULL,
        first_at bigint NOT NULL,
        locked_until bigint NOT NULL
      );
      CREATE INDEX sign_in_failures_by_end ON sign_in_failures (first_at);
    `,
  },
  {
    // Refresh-token families (identity/oauth-grants.ts), as SQLite's version 9.
    version: 7,
    sql: `
      ALTER TABLE refresh_tokens ADD COLUMN family_id text COLLATE "C" NOT NULL DEFAULT '';
      ALTER TABLE refresh_tokens ADD COLUMN used_at bigint;
      UPDATE refresh_tokens SET family_id = token_hash;
      CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
    `,
  },
  {
    // A name's last wrong passwords, as SQLite's version 10.
    version: 8,
    sql: `ALTER TABLE sign_in_failures ADD COLUMN recent text NOT NULL DEFAULT '';`,
  },
  {
    // Renewed vault data keys, as SQLite's version 11.
    version: 9,
    sql: `
      ALTER TABLE vaults ADD COLUMN dek_generation integer NOT NULL DEFAULT 0;
      CREATE TABLE vault_earlier_keys (
        vault_id text COLLATE "C" NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        generation integer NOT NULL,
        dek_wrapped bytea NOT NULL,
        master_key_id text NOT NULL,
        PRIMARY KEY (vault_id, generation)
      );
    `,
  },
  {
    // Renewable audit keys, as SQLite's version 12: builds from before refuse the database.
    version: 10,
    sql: `SELECT 1`,
  },
  {
    // Groups' mail nicknames; keys that record their master key and pepper generations: as SQLite's version 13.
    version: 11,
    sql: `ALTER TABLE principals ADD COLUMN mail_nickname text`,
  },
  // The credential pepper's row announced to a cluster's members (PostgreSQL only).
  SETTINGS_FEED_MIGRATION,
  {
    // The authorization seal: as SQLite's version 14.
    version: 13,
    sql: SEAL_COLUMNS_SQL,
  },
  {
    // Certificate credentials: as SQLite's version 15.
    version: 14,
    sql: `
      CREATE TABLE key_credentials (
        key_id text COLLATE "C" PRIMARY KEY,
        object_id text NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
        certificate bytea NOT NULL,
        thumbprint_sha1 text NOT NULL,
        thumbprint_sha256 text NOT NULL,
        display_name text,
        start_at bigint NOT NULL,
        end_at bigint NOT NULL,
        mac text
      );
      CREATE INDEX key_credentials_by_principal ON key_credentials (object_id);
    `,
  },
  // Principals deleted announced to a cluster's members (PostgreSQL only).
  PRINCIPALS_FEED_MIGRATION,
  {
    // Federated identity credentials: as SQLite's version 16.
    version: 16,
    sql: PG_FEDERATED_CREDENTIALS_SQL,
  },
  // The authorization digest's journal: as SQLite's version 17.
  PG_AUTHORIZATION_JOURNAL_MIGRATION,
  // A vault's seal covers its deletion state: as SQLite's version 18.
  PG_VAULT_JOURNAL_MIGRATION,
  // Sign-ins carry the user's password generation: as SQLite's version 19.
  { version: 19, sql: PASSWORD_GENERATION_SQL },
  // A sign-in failure count keeps its run of locks: as SQLite's version 20.
  { version: 20, sql: LOCK_RUN_SQL },
  // The per-user refresh token cap's index: as SQLite's version 21.
  { version: 21, sql: REFRESH_TOKEN_OWNER_SQL },
];

/** Brings the database to the newest known schema; returns that version. */
export async function migratePostgres(pool: pg.Pool, url: string, migrations: readonly Migration[] = PG_MIGRATIONS): Promise<number> {
  return transaction(pool, (c) => migrateIn(c, url, migrations));
}

/** migratePostgres in the caller's transaction on `c` (a start's pre-flight rolls it back: pg-start-view.ts). */
export async function migrateIn(c: pg.PoolClient, url: string, migrations: readonly Migration[] = PG_MIGRATIONS): Promise<number> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const known = ordered.at(-1)?.version ?? 0;
  // Another process's migration may take longer than the pool's lock_timeout: this wait (and the migration's own) is meant to last.
  await c.query('SET LOCAL lock_timeout = 0');
  await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
  // Read under the lock: another process may have migrated meanwhile.
  const current = (await one<{ v: number | null }>(c, 'SELECT MAX(version) AS v FROM schema_migrations'))?.v ?? 0;
  if (current > known) throw new SchemaTooNewError(describeUrl(url), current, known);
  for (const m of ordered.filter((x) => x.version > current)) {
    await c.query(m.sql);
    await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Math.floor(Date.now() / 1000)]);
  }
  return known;
}
