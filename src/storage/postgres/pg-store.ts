import pg from 'pg';
import type { Store } from '../store-types.js';
import { pgGroupStore, pgRoleAssignmentStore, pgRoleDefinitionStore } from './pg-access-store.js';
import { pgAuditStore } from './pg-audit-store.js';
import { pgPrincipalStore, pgRefreshTokenStore, pgSettingsStore, pgSigningKeyStore } from './pg-identity-store.js';
import { migratePostgres } from './pg-migrations.js';
import { pgSecretStore } from './pg-secret-store.js';
import { describeUrl, PG_TYPES } from './pg-support.js';
import { createPgWriter } from './pg-writer.js';
import { pgResourceGroupStore, pgVaultStore } from './pg-vault-store.js';

// The networked store: a PostgreSQL database reached through a connection
// pool. Commits are durable when PostgreSQL says so (its synchronous_commit
// and fsync settings), so an acknowledged write survives a coffer crash.
//
// One coffer server per database: the server keeps in-memory caches (vaults,
// the authorization index) that another process's writes would not
// invalidate. A session-level advisory lock, held on a dedicated connection
// for the store's life, makes a second server fail at boot instead.

/** The session lock's key ("coffer" in ASCII); distinct from MIGRATION_LOCK. */
export const STORE_LOCK = 0x636f_6666_6572;

export class StoreLockedError extends Error {
  constructor(where: string) {
    super(
      `${where} is in use by another coffer server (it holds advisory lock ${STORE_LOCK}); ` +
        'coffer supports one server process per database, because its caches are not shared between processes',
    );
    this.name = 'StoreLockedError';
  }
}

const POOL_SIZE = 10;
const CHECK_CLIENT = 'SET client_connection_check_interval = 1000';

/** Takes the single-server lock on its own connection, which then holds it. */
async function lockDatabase(url: string): Promise<pg.Client> {
  // keepAlive: a silently dead connection (and so a lost lock) is noticed by the OS rather than never.
  const client = new pg.Client({ connectionString: url, types: PG_TYPES, keepAlive: true });
  try {
    await client.connect();
  } catch (err) {
    // Said plainly: callers would otherwise take a bare ECONNREFUSED for the coffer server's own port.
    throw new Error(`cannot connect to PostgreSQL at ${describeUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const r = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [STORE_LOCK]);
    if (!r.rows[0]?.locked) throw new StoreLockedError(describeUrl(url));
  } catch (err) {
    await client.end();
    throw err;
  }
  return client;
}

export async function openPostgresStore(url: string): Promise<Store> {
  const lock = await lockDatabase(url);
  // A broken connection emits 'error', which would end the process unhandled. The pool drops a
  // broken idle connection and opens another on the next query; a broken lock connection loses the lock.
  lock.on('error', () => undefined);
  const pool = new pg.Pool({ connectionString: url, types: PG_TYPES, max: POOL_SIZE });
  pool.on('error', () => undefined);
  // Queued ahead of the connection's first query. Without it, a statement still waiting for a lock when
  // coffer dies (or gives up at shutdown) runs once the lock goes, with no coffer left to audit it:
  // PostgreSQL (14 and later) then checks the client every second and cancels the orphan. Older servers
  // refuse the setting, and keep the old behaviour.
  pool.on('connect', (client) => void client.query(CHECK_CLIENT).catch(() => undefined));
  try {
    await migratePostgres(pool, url);
  } catch (err) {
    await pool.end();
    await lock.end();
    throw err;
  }
  const writer = createPgWriter(pool);
  let closed = false;
  return {
    kind: 'postgres',
    settings: pgSettingsStore(pool),
    principals: pgPrincipalStore(pool),
    signingKeys: pgSigningKeyStore(pool),
    refreshTokens: pgRefreshTokenStore(pool),
    resourceGroups: pgResourceGroupStore(pool),
    vaults: pgVaultStore(pool),
    secrets: pgSecretStore(pool, writer),
    groups: pgGroupStore(pool),
    audit: pgAuditStore(pool, writer),
    roleDefinitions: pgRoleDefinitionStore(pool),
    roleAssignments: pgRoleAssignmentStore(pool),
    async close() {
      if (closed) return;
      closed = true;
      await writer.close();
      await pool.end();
      // Ending the session releases the lock too; unlocking first also covers a connection kept open by a proxy.
      await lock.query('SELECT pg_advisory_unlock($1)', [STORE_LOCK]).catch(() => undefined);
      await lock.end().catch(() => undefined);
    },
  };
}
