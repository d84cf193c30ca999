import type pg from 'pg';
import type { StartView } from '../store-types.js';
import { pgGroupStore, pgRoleAssignmentStore, pgRoleDefinitionStore } from './pg-access-store.js';
import { pgAuditedWrites } from './pg-audit-store.js';
import { pgPrincipalStore, pgSettingsStore, pgSigningKeyStore } from './pg-identity-store.js';
import { migrateIn } from './pg-migrations.js';
import { pgVaultStore } from './pg-vault-store.js';
import { createPgWriter } from './pg-writer.js';
import { unguardedWrites } from './pg-authorization-digest.js';

// A start's pre-flight view of the database (server/start-preflight.ts), as
// sqlite-start-view.ts: one connection, one transaction that applies the
// pending migrations (PostgreSQL's DDL is transactional) and is always rolled
// back. The stores run on that connection through a pool of one, whose own
// transactions become savepoints inside it.

const NESTED: Record<string, string> = { BEGIN: 'SAVEPOINT preflight', COMMIT: 'RELEASE SAVEPOINT preflight', ROLLBACK: 'ROLLBACK TO SAVEPOINT preflight' };

/** `c` as a pool that hands out only `c`, its BEGIN, COMMIT and ROLLBACK as a savepoint's. */
function poolOf(c: pg.PoolClient): pg.Pool {
  const query = (text: unknown, ...rest: unknown[]) => (c.query as (...a: unknown[]) => unknown)(typeof text === 'string' ? (NESTED[text] ?? text) : text, ...rest);
  const client = { query, release: () => undefined };
  return { query, connect: async () => client } as unknown as pg.Pool;
}

/** Runs `check` against the database as migrated, then rolls everything back. */
export async function withPostgresStartView(pool: pg.Pool, url: string, check: (view: StartView) => Promise<void>): Promise<void> {
  const c = await pool.connect();
  c.on('error', () => undefined);
  try {
    await c.query('BEGIN');
    await migrateIn(c, url);
    const one = poolOf(c);
    const audited = pgAuditedWrites(one, createPgWriter(one));
    const plain = unguardedWrites(one, audited);
    await check({
      settings: pgSettingsStore(one),
      principals: pgPrincipalStore(one, audited, plain),
      signingKeys: pgSigningKeyStore(one),
      vaults: pgVaultStore(one, audited, plain),
      roleAssignments: pgRoleAssignmentStore(one, plain),
      roleDefinitions: pgRoleDefinitionStore(one, plain),
      groups: pgGroupStore(one, plain),
    });
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    // Not back to the pool: statements it prepared name tables of the schema just rolled back.
    c.release(true);
  }
}
