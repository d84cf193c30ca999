import pg from 'pg';
import type { StartView, Store } from '../store-types.js';
import { withPostgresStartView } from './pg-start-view.js';
import { pgGroupStore, pgRoleAssignmentStore, pgRoleDefinitionStore } from './pg-access-store.js';
import { pgAuditedWrites, pgAuditStore } from './pg-audit-store.js';
import { pgPrincipalStore, pgRefreshTokenStore, pgSettingsStore, pgSigningKeyStore } from './pg-identity-store.js';
import { migratePostgres } from './pg-migrations.js';
import { pgSecretStore } from './pg-secret-store.js';
import { pgSignInCodeStore } from './pg-sign-in-code-store.js';
import { pgSignInFailureStore } from './pg-sign-in-failure-store.js';
import { LockResumeRefused, type LockOptions } from './pg-server-lock.js';
import { takeServerLock } from './pg-lock-renewal.js';
import { randomUUID } from 'node:crypto';
import { CHANGE_CHANNEL, parseAnnouncement } from './pg-change-feed.js';
import { createChangeHub } from '../change-feed.js';
import { PG_TYPES } from './pg-support.js';
import { createPgWriter } from './pg-writer.js';
import { trackPoolConnections } from './pg-pool-cut.js';
import { pgAuthorizationDigest } from './pg-authorization-digest.js';
import { pgResourceGroupStore, pgVaultStore } from './pg-vault-store.js';

// The networked store: a PostgreSQL database reached through a connection
// pool. Commits are durable when PostgreSQL says so (its synchronous_commit
// and fsync settings), so an acknowledged write survives a coffer crash.
// One server per database, held by an advisory lock, or the members of a
// cluster, each told of the others' changes (pg-server-lock.ts).

export { STORE_LOCK, StoreLockedError } from './pg-server-lock.js';

const POOL_SIZE = 10;
/** Held while a server sets up (Store.setupLock); distinct from STORE_LOCK and the migration lock. */
const SETUP_LOCK = 0x636f_6666_7375;
const CHECK_CLIENT = 'SET client_connection_check_interval = 1000';
/**
 * How long a request waits for a row, table or advisory lock another session
 * holds (PostgreSQL's lock_timeout, set on every pooled connection), and for
 * a free pooled connection: past either it fails, and is answered 503
 * ServiceUnavailable, instead of waiting for as long as the other session
 * keeps its transaction open. The waits that must last (the setup and
 * migration locks) lift it for themselves. A lock_timeout set for coffer's
 * role or database (ALTER ROLE ... SET lock_timeout) is kept instead.
 */
export const LOCK_TIMEOUT_MS = 10_000;
export const POOL_WAIT_MS = 10_000;
/** How long a pooled connection stays idle before the OS probes whether the other end is still there. */
const KEEPALIVE_IDLE_MS = 30_000;
const LOCK_TIMEOUT = `SET lock_timeout = ${LOCK_TIMEOUT_MS}`;
/**
 * How long PostgreSQL lets one of coffer's sessions sit idle inside a
 * transaction before it ends the session (idle_in_transaction_session_timeout).
 * A write holds the audit chain's lock (and an authorization write the
 * digest's) for its transaction, across round trips to coffer: a member
 * frozen, or cut off by a partition that sends no reset, between two of its
 * statements held them until PostgreSQL's own TCP keepalive gave up (some two
 * hours), and every member's audited request waited for its lock_timeout and
 * failed meanwhile. coffer sends a transaction's statements back to back; a
 * pause this long means the member is gone or stuck, and its transaction is
 * rolled back. An operator's own setting for the role or database is kept.
 */
export const IDLE_IN_TRANSACTION_MS = 15_000;
/**
 * PostgreSQL's probes of a session's client (seconds): a member gone without
 * a word (a partition, a host lost) has its sessions, and their connection
 * slots, ended within about a minute instead of the OS default's two hours.
 * Not applied to Unix-socket connections (PostgreSQL ignores them there).
 */
const SERVER_KEEPALIVES = 'SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3';

/** Prepares a pooled connection's session (before it is first handed out). */
export async function setUpSession(client: pg.ClientBase, idleInTransactionMs = IDLE_IN_TRANSACTION_MS): Promise<void> {
  // Coffer's schema alone on the path, pg_catalog searched first: a search_path set for the role or database
  // (ALTER ROLE ... SET, which coffer's own credentials may do) that names a schema before pg_catalog would have
  // coffer's unqualified names (functions, operators, the catalogs pg-schema-check.ts reads) find a writer's.
  await client.query("SELECT pg_catalog.set_config('search_path', pg_catalog.quote_ident(pg_catalog.current_schema()), false)");
  await client.query(CHECK_CLIENT).catch(() => undefined);
  await client.query(SERVER_KEEPALIVES).catch(() => undefined);
  // A lock_timeout or idle_in_transaction_session_timeout the operator set for the role or database (ALTER ROLE ... SET) stays.
  const set = await client.query<{ lock: string; idle: string }>(
    "SELECT current_setting('lock_timeout') AS lock, current_setting('idle_in_transaction_session_timeout') AS idle",
  );
  if (set.rows[0]?.lock === '0') await client.query(LOCK_TIMEOUT);
  if (set.rows[0]?.idle === '0') await client.query(`SET idle_in_transaction_session_timeout = ${Math.max(1, Math.floor(idleInTransactionMs))}`);
}
/**
 * The settings row naming the server that took the one-server lock last: each one writes its own id after
 * taking it, so a server that takes it again after a break sees whether another held it meanwhile (a standby
 * that took over, wrote, and stopped), whose writes its memory would not know of.
 */
const LOCK_HOLDER_SETTING = 'serverLockHolder';

export interface PostgresStoreOptions extends Omit<LockOptions, 'cluster'> {
  /** Share the database with other servers opened with `cluster` (Store.changes). */
  cluster?: boolean;
  /** Checks the database as it would be migrated, before the migration (pg-start-view.ts): a refusal leaves it as it was. */
  preflight?: (view: StartView) => Promise<void>;
}

export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const { cluster, preflight, ...lockOptions } = options;
  const changes = cluster ? createChangeHub() : undefined;
  const lock = await takeServerLock(url, {
    ...lockOptions,
    cluster: changes && {
      channel: CHANGE_CHANNEL,
      onAnnouncement(payload) {
        const change = parseAnnouncement(payload);
        if (change) changes.emit(change);
      },
    },
  });
  // onConnect runs before a new connection is handed out. Without it, a statement still waiting for a
  // lock when coffer dies (or gives up at shutdown) runs once the lock goes, with no coffer left to audit
  // it: PostgreSQL (14 and later) then checks the client every second and cancels the orphan. Older
  // servers refuse the setting, and keep the old behaviour. (Not a 'connect' listener: its query would
  // queue behind the caller's, which pg deprecates.)
  const pool = new pg.Pool({
    connectionString: url,
    types: PG_TYPES,
    max: POOL_SIZE,
    connectionTimeoutMillis: POOL_WAIT_MS,
    // An idle connection the network lost without a word (no reset) is found by the OS's probes, not at the next query.
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    onConnect: (client) => setUpSession(client),
  });
  // A broken connection emits 'error', which would end the process unhandled. The pool drops a
  // broken idle connection and opens another on the next query.
  pool.on('error', () => undefined);
  // The pool listens only to idle connections: one checked out between two statements (a transaction, a group
  // commit) that breaks (PostgreSQL restarted) would emit 'error' with no listener and end the process. Its next
  // statement fails instead (503), and the pool drops it when it is released.
  pool.on('connect', (client) => void client.on('error', () => undefined));
  const connections = trackPoolConnections(pool);
  const writer = createPgWriter(pool);
  const audited = pgAuditedWrites(pool, writer);
  let digest: Awaited<ReturnType<typeof pgAuthorizationDigest>>;
  try {
    if (preflight) await withPostgresStartView(pool, url, preflight);
    await migratePostgres(pool, url);
    // After the pre-flight: a start it refuses leaves the journal's triggers as found.
    digest = await pgAuthorizationDigest(pool, audited, writer.auditKeys, { cluster: cluster === true });
  } catch (err) {
    await pool.end();
    await lock.release();
    throw err;
  }
  const holder = randomUUID();
  if (!cluster) {
    try {
      await pool.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [LOCK_HOLDER_SETTING, holder]);
    } catch (err) {
      await pool.end();
      await lock.release();
      throw err;
    }
  }
  const sealed = digest.writes;
  // Vault and certificate rows read reload the digest's held seals first where another cluster member wrote them,
  // and are read again where a write replaced them between the read and the check.
  const heldParts = digest.heldReads({ principals: pgPrincipalStore(pool, audited, sealed), vaults: pgVaultStore(pool, audited, sealed) });
  let closed = false;
  /** The break the server asked for (Store.session.interrupt), if any. */
  let asked: Error | undefined;
  return {
    kind: 'postgres',
    lost: lock.lost,
    changes,
    session: {
      interrupt(err) {
        asked = err;
        lock.interrupt(err);
      },
      watch(w) {
        lock.watch({
          interrupted(err) {
            // First not serving, so that a request failed here and sent again is refused too.
            w.interrupted(err);
            // A statement in flight through a partition would wait for the kernel (15+ minutes): failed now, answered 503.
            // Not when the server asked for the break (a change it missed): the database still answers.
            if (err !== asked) connections.cut();
          },
          async resume() {
            if (!cluster) {
              const r = await pool.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [LOCK_HOLDER_SETTING]);
              if (r.rows[0]?.value !== holder) throw new LockResumeRefused('another coffer server held the database while this one was disconnected');
            }
            await w.resume();
          },
        });
      },
    },
    async setupLock() {
      const c = await pool.connect();
      // Checked out, the connection has no pool listener: one that breaks during setup must not end the
      // process unhandled (the setup's own queries fail, and the start with them).
      c.on('error', () => undefined);
      try {
        // Another member's setup may take longer than lock_timeout: this wait is meant to last.
        const was = (await c.query<{ t: string }>("SELECT current_setting('lock_timeout') AS t")).rows[0]?.t ?? '0';
        await c.query('SET lock_timeout = 0');
        await c.query('SELECT pg_advisory_lock($1)', [SETUP_LOCK]);
        await c.query("SELECT set_config('lock_timeout', $1, false)", [was]);
      } catch (err) {
        c.release(err as Error);
        throw err;
      }
      let held = true;
      return async () => {
        if (!held) return;
        held = false;
        // A failed unlock ends the connection instead: the session's lock goes with it.
        await c.query('SELECT pg_advisory_unlock($1)', [SETUP_LOCK]).then(() => c.release(), (err: Error) => c.release(err));
      };
    },
    settings: pgSettingsStore(pool),
    principals: heldParts.principals,
    signingKeys: pgSigningKeyStore(pool),
    refreshTokens: pgRefreshTokenStore(pool),
    signInCodes: pgSignInCodeStore(pool),
    signInFailures: pgSignInFailureStore(pool),
    resourceGroups: pgResourceGroupStore(pool, audited),
    vaults: heldParts.vaults,
    secrets: pgSecretStore(pool, writer, audited),
    groups: pgGroupStore(pool, sealed),
    audit: pgAuditStore(pool, writer),
    roleDefinitions: pgRoleDefinitionStore(pool, sealed),
    roleAssignments: pgRoleAssignmentStore(pool, sealed),
    authorizationDigest: digest.host,
    async close() {
      if (closed) return;
      closed = true;
      await writer.close();
      await pool.end();
      await lock.release();
    },
  };
}
