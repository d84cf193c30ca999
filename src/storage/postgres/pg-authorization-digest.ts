import type pg from 'pg';
import type { AuditRecord, PrincipalStore, VaultRow, VaultStore } from '../store-types.js';
import type { AuthorizationDigestHost, DigestGuard, HeldKind } from '../authorization-digest-types.js';
import { appendAuditIn, lockChain, recordRefused, type PgAuditedWrite } from './pg-audit-store.js';
import type { ChainKeyHolder } from '../chain-key-holder.js';
import { restorePgJournalTriggers, takeJournal } from './pg-authorization-journal.js';
import { pgHeldSeals } from './pg-held-seals.js';
import { dropForeignPgTriggers, pgSchemaProblems } from './pg-schema-check.js';
import { one, transaction, type Queryable } from './pg-support.js';

// The authorization digest (authorization/authorization-digest.ts) kept by
// the PostgreSQL store, as sqlite-authorization-digest.ts: every write that
// changes a table of sealed rows runs through `guarded`, in one transaction
// that first takes the digest's lock and the record's row (FOR UPDATE), so
// that writers, other cluster members' too, go one after the other and each
// finds the journal the one before emptied; then it opens the record, folds
// the journal found (another writer's changes must leave it as it was, else
// the write is refused), writes, folds what it wrote and stores the record
// as write n+1.
//
// The seals of the vault and certificate rows the record counts are held in
// memory (pg-held-seals.ts); a cluster member's reads of those rows reload
// them when another member's writes have left them behind (`heldReads`).

/** Held by every guarded write, and by a start while it holds the rows to the record (`exclusive`). */
export const DIGEST_LOCK = 0x636f_6666_6467;
const RECORD_KEY = 'authorizationDigest';
const SET_RECORD = 'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

/** Runs a write in the digest's transaction when there is a guard (else on the pool, or in a transaction if `inTransaction`). */
export type PgGuarded = <T>(write: (db: Queryable) => Promise<T>, inTransaction?: boolean) => Promise<T>;

/** A store's writes of sealed tables: bare, or with their audit record (as PgAuditedWrite). */
export interface PgSealedWrites {
  run: PgGuarded;
  audited: PgAuditedWrite;
}

type Held = Array<{ kind: HeldKind; added: boolean; mac: string }>;

/** The store's reads of vault and certificate rows, each reloading the held seals first where a cluster member needs to. */
export type HeldReads = (stores: { vaults: VaultStore; principals: PrincipalStore }) => { vaults: VaultStore; principals: PrincipalStore };

type Refresh = (kind: HeldKind, macs: ReadonlyArray<string | null | undefined>) => Promise<boolean>;
/** Whether a kind's rows are still being changed by other cluster members past the held seals (HeldSeals.moving). */
type Moving = (kind: HeldKind) => boolean;

/** Reads a row changed by a write committed meanwhile: the held seals follow the write, not the row read before it. */
const REREADS = 2;

/**
 * Rows of a kind that other cluster members change faster than this member's
 * held seals reload (at most once a second): each reload is checked whole
 * against the record, so a row put back outside coffer is refused there, but
 * a row written after the reload's snapshot is only newer, not tampered. The
 * request is refused as a serialization failure (503, Retry-After), which a
 * retry gets past once the writes slow down; the row is not used.
 */
export class HeldRowsMovingError extends Error {
  readonly code = '40001';
  constructor(kind: HeldKind) {
    super(`the ${kind} rows read changed again while this server reloaded their seals; try again`);
  }
}

/**
 * `read`, again while a seal it returns is not held (a write replaced the row between the read and the check).
 * Still not held then: the row is refused where it is used (a row put back), unless the last look at the record
 * found other cluster members' writes past the held set: the request is refused as rows still moving.
 */
export async function heldRead<R extends { mac?: string | null }>(kind: HeldKind, refresh: Refresh, read: () => Promise<R[]>, moving: Moving): Promise<R[]> {
  let found = await read();
  for (let i = 0; ; i++) {
    if (await refresh(kind, found.map((r) => r.mac))) return found;
    if (i === REREADS) break;
    found = await read();
  }
  if (moving(kind)) throw new HeldRowsMovingError(kind);
  return found;
}

function withVaultsHeld(vaults: VaultStore, refresh: Refresh, moving: Moving): VaultStore {
  const one = async (read: () => Promise<VaultRow | null>) => (await heldRead('vaults', refresh, async () => [await read()].filter((r) => r !== null), moving))[0] ?? null;
  const many = (read: () => Promise<VaultRow[]>) => heldRead('vaults', refresh, read, moving);
  return {
    ...vaults,
    getByName: (name) => one(() => vaults.getByName(name)),
    getById: (id) => one(() => vaults.getById(id)),
    list: (filter) => many(() => vaults.list(filter)),
    listDeleted: (sub) => many(() => vaults.listDeleted(sub)),
  };
}

/** Writes as they are, without the digest (a start's pre-flight view). */
export const unguardedWrites = (pool: pg.Pool, audited: PgAuditedWrite): PgSealedWrites => ({
  run: (write, inTransaction = false) => (inTransaction ? transaction(pool, write) : write(pool)),
  audited,
});

export async function pgAuthorizationDigest(
  pool: pg.Pool,
  audited: PgAuditedWrite,
  auditKeys: ChainKeyHolder,
  opts: { cluster: boolean },
): Promise<{ host: AuthorizationDigestHost; writes: PgSealedWrites; heldReads: HeldReads }> {
  const restored = [...(await restorePgJournalTriggers(pool)), ...(await dropForeignPgTriggers(pool))];
  // Coffer's schema as it opens: each guarded write is pinned to it (pgSchemaProblems).
  const schema = (await one<{ schema: string }>(pool, 'SELECT pg_catalog.current_schema() AS schema'))!.schema;
  let guard: DigestGuard | null = null;
  const held = pgHeldSeals(pool, opts.cluster);

  async function sealedWrite<T>(g: DigestGuard, write: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const { result, n, held: changed } = await transaction(pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [DIGEST_LOCK]);
      // Before anything is folded (and the search_path pinned): a trigger, rule or default of another writer's could add entries to the journal as the write runs.
      const problems = await pgSchemaProblems(c, schema);
      if (problems.length > 0) g.tampered(`its journal was changed outside coffer (${problems.join(', ')})`);
      const record = await one<{ value: string }>(c, 'SELECT value FROM settings WHERE key = $1 FOR UPDATE', [RECORD_KEY]);
      const { n, digests } = g.open(record?.value ?? null);
      const before = g.fold(digests, await takeJournal(c));
      g.unchanged(digests, before.digests);
      const result = await write(c);
      const after = g.fold(before.digests, await takeJournal(c));
      await c.query(SET_RECORD, [RECORD_KEY, g.record(after.digests, n + 1)]);
      return { result, n: n + 1, held: [...before.held, ...after.held] as Held };
    });
    // Committed: the held seals follow.
    held.follow(changed);
    g.sealed(n);
    return result;
  }

  const run: PgGuarded = (write, inTransaction = false) => {
    const g = guard;
    if (g) return sealedWrite(g, write);
    return inTransaction ? transaction(pool, write) : write(pool);
  };
  const auditedIn = async <T>(c: Queryable, audit: AuditRecord | undefined, write: (db: Queryable) => Promise<T>): Promise<T> => {
    // The chain's lock before any row (pg-audit-store.ts's lockChain); the digest's lock is taken before both.
    if (audit) await lockChain(c);
    const result = await write(c);
    if (audit && result !== false && result !== null) await appendAuditIn(c as pg.PoolClient, [audit], auditKeys, true).catch(recordRefused);
    return result;
  };
  const holds = (kind: HeldKind, mac: string | null | undefined): boolean => {
    const g = guard;
    if (!g) return true;
    return (typeof mac === 'string' && held.has(kind, mac)) || g.refuse(kind);
  };

  const refresh: Refresh = async (kind, macs) => {
    const g = guard;
    return g ? held.refresh(g, kind, macs) : true;
  };
  return {
    heldReads: (stores) => ({
      vaults: withVaultsHeld(stores.vaults, refresh, held.moving),
      principals: {
        ...stores.principals,
        listKeyCredentials: (id) => heldRead('key credentials', refresh, () => stores.principals.listKeyCredentials(id), held.moving),
        listFederatedCredentials: (id) => heldRead('federated credentials', refresh, () => stores.principals.listFederatedCredentials(id), held.moving),
      },
    }),
    host: {
      async use(g) {
        guard = null;
        // Loaded before the guard is given: meanwhile (a start, a renewal) rows are taken as they are.
        await held.load(g);
        guard = g;
      },
      get guard() {
        return guard;
      },
      journalEmpty: async () => (await pool.query('SELECT 1 FROM authorization_journal LIMIT 1')).rowCount === 0,
      reset: async () => void (await pool.query('DELETE FROM authorization_journal')),
      restoredTriggers: restored,
      vaultHolds: (row) => holds('vaults', row.mac),
      keyCredentialHolds: (row) => holds('key credentials', row.mac),
      federatedCredentialHolds: (row) => holds('federated credentials', row.mac),
      async exclusive(fn) {
        // A session lock on a connection of its own: the check's reads (and the record it may store) go through the pool.
        const c = await pool.connect();
        c.on('error', () => undefined);
        try {
          await c.query('SET lock_timeout = 0');
          await c.query('SELECT pg_advisory_lock($1)', [DIGEST_LOCK]);
          try {
            return await fn();
          } finally {
            await c.query('SELECT pg_advisory_unlock($1)', [DIGEST_LOCK]);
          }
        } finally {
          c.release(true);
        }
      },
    },
    writes: {
      run,
      audited: (audit, write, inTransaction = false) => {
        const g = guard;
        if (g) return sealedWrite(g, (c) => auditedIn(c, audit, write));
        return audited(audit, write, inTransaction);
      },
    },
  };
}
