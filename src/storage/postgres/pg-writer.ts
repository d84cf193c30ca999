import type pg from 'pg';
import { isDatabaseUnavailable, StoreConflictError, type AuditRecord, type SecretVersionRow } from '../store-types.js';
import { appendAuditIn, lockChain, recordRefused } from './pg-audit-store.js';
import { createChainKeyHolder, type ChainKeyHolder } from '../chain-key-holder.js';
import { asConflict, nameKey, rows, toJson, transaction, type PreparedSql } from './pg-support.js';

// Group commit for PostgreSQL's hot durable writes, as the SQLite store's
// writer thread does for SQLite: new secret versions (each with its audit
// record) and audit batches that arrive while a transaction commits go
// together in the next one. A version and its record commit at once, the
// chain's lock is taken once per batch instead of being held through each
// write's commit, and a burst of writes costs a few round trips and one
// commit instead of a transaction each.
//
// The versions of a batch are written by one statement per round (a round
// holds at most one write per secret, since one statement cannot move a
// secret's pointer twice), then all its records by one more. If a statement
// fails before the commit (a duplicate version id, a vault purged meanwhile,
// a record the database refuses), the batch is tried again with each write
// in its own savepoint (a version with its record, or an audit batch), so
// that only the failing write fails. A failed commit fails the whole batch:
// it does not say which write was at fault, nor whether anything was stored.

type NewVersion = Omit<SecretVersionRow, 'seq'>;
type Stored = { name: string; seq: number };

interface VersionJob {
  row: NewVersion;
  audit: AuditRecord | undefined;
  resolve: (value: Stored) => void;
  reject: (err: Error) => void;
}
interface AuditJob {
  records: readonly AuditRecord[];
  resolve: () => void;
  reject: (err: Error) => void;
}
type Job = VersionJob | AuditJob;
const isVersion = (job: Job): job is VersionJob => 'row' in job;

/** What became of each write of a batch: stored (a version's name and seq), or refused alone. */
type Outcome = Stored | typeof STORED | Error;
const STORED = Symbol('stored');

/** A statement of the batch failed before its commit: the transaction is gone, the batch goes again one write at a time. */
class BatchFailed extends Error {}

// Collation "C" as in the tables, so that the join below compares keys the way the primary keys do.
// Prepared once per connection (see PreparedSql).
const INSERT_VERSIONS: PreparedSql = {
  name: 'coffer-secret-versions-insert',
  text: `
  WITH input AS (
    SELECT i.vault_id, i.name_key COLLATE "C" AS name_key, i.name, i.version COLLATE "C" AS version, i.ciphertext,
           i.content_type, i.tags, i.enabled, i.nbf, i.exp, i.created, i.updated
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[], $7::text[], $8::boolean[],
                $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])
      AS i (vault_id, name_key, name, version, ciphertext, content_type, tags, enabled, nbf, exp, created, updated)
  ), moved AS (
    INSERT INTO secrets (vault_id, name_key, name, latest_seq)
    SELECT vault_id, name_key, name, 1 FROM input
    ON CONFLICT (vault_id, name_key) DO UPDATE SET latest_seq = secrets.latest_seq + 1 WHERE secrets.deleted_at IS NULL
    RETURNING vault_id, name_key, name, latest_seq
  )
  INSERT INTO secret_versions (vault_id, name_key, version, seq, name, ciphertext, content_type, tags, enabled, nbf, exp, created, updated)
  SELECT i.vault_id, i.name_key, i.version, m.latest_seq, m.name, i.ciphertext, i.content_type, i.tags, i.enabled, i.nbf, i.exp, i.created, i.updated
  FROM input i JOIN moved m ON m.vault_id = i.vault_id AND m.name_key = i.name_key
  RETURNING vault_id, name_key, name, seq`,
};

const keyOf = (row: NewVersion) => `${row.vaultId}\u0000${nameKey(row.name)}`;

/**
 * Writes one round (at most one version per secret); the outcome per job. A
 * job whose secret is soft-deleted gets a conflict; a failing statement throws.
 */
async function writeRound(c: pg.PoolClient, jobs: readonly VersionJob[]): Promise<Outcome[]> {
  const versions = jobs.map((j) => j.row);
  const written = await rows<{ vault_id: string; name_key: string; name: string; seq: number }>(c, INSERT_VERSIONS, [
    versions.map((r) => r.vaultId),
    versions.map((r) => nameKey(r.name)),
    versions.map((r) => r.name),
    versions.map((r) => r.version),
    versions.map((r) => r.ciphertext),
    versions.map((r) => r.contentType),
    versions.map((r) => (r.tags === null ? null : toJson(r.tags))),
    versions.map((r) => r.enabled),
    versions.map((r) => r.nbf),
    versions.map((r) => r.exp),
    versions.map((r) => r.created),
    versions.map((r) => r.updated),
  ]);
  const stored = new Map(written.map((r) => [`${r.vault_id}\u0000${r.name_key}`, { name: r.name, seq: r.seq }]));
  return versions.map((row) => stored.get(keyOf(row)) ?? new StoreConflictError('deleted', `secret ${row.name} is deleted but recoverable`));
}

/** Splits versions into rounds in arrival order: a secret's second write goes in the next round, and so on. */
function rounds(jobs: readonly VersionJob[]): VersionJob[][] {
  const out: VersionJob[][] = [];
  const seen: Array<Set<string>> = [];
  for (const job of jobs) {
    const key = keyOf(job.row);
    let i = 0;
    while (seen[i]?.has(key)) i++;
    (out[i] ??= []).push(job);
    (seen[i] ??= new Set()).add(key);
  }
  return out;
}

/** Whether a job adds to the audit chain: its transaction takes the chain's lock first (see lockChain). */
const appends = (job: Job): boolean => !isVersion(job) || job.audit !== undefined;

const refusedAlone = (job: VersionJob, err: unknown): Error =>
  asConflict(`version ${job.row.version} of secret ${job.row.name}`, err) ?? (err instanceof Error ? err : new Error(String(err)));

/**
 * A batch's statements carry its rows as array parameters, which the driver
 * builds as text (binary values in hex): a backlog after a stall is written
 * in transactions of bounded size rather than as one statement of any size.
 */
export const BATCH_MAX_WRITES = 512;
export const BATCH_MAX_BYTES = 8 * 1024 * 1024;

const recordBytes = (r: AuditRecord) => r.record.length + 256;
const sizeOf = (job: Job): number =>
  isVersion(job) ? 2 * job.row.ciphertext.length + 512 + (job.audit ? recordBytes(job.audit) : 0) : job.records.reduce((n, r) => n + recordBytes(r), 0);

export interface PgWriter {
  insertVersion(row: NewVersion, audit?: AuditRecord): Promise<Stored>;
  appendAudit(records: readonly AuditRecord[]): Promise<void>;
  /** The audit chain's MAC keys, for every record stored from now on; other stores append their records in their own transactions with them too. */
  readonly auditKeys: ChainKeyHolder;
  /** Waits for every write already requested; later ones are refused. */
  close(): Promise<void>;
}

export function createPgWriter(pool: pg.Pool): PgWriter {
  const queue: Job[] = [];
  let running: Promise<void> | null = null;
  let closed = false;
  const auditKeys = createChainKeyHolder();

  /**
   * All at once: the versions by rounds, then the records of the batch (its
   * audit batches', and those of the versions stored) in arrival order. Any
   * failure before the commit throws BatchFailed.
   */
  async function writeTogether(c: pg.PoolClient, batch: readonly Job[]): Promise<Map<Job, Outcome>> {
    const outcomes = new Map<Job, Outcome>();
    try {
      if (batch.some(appends)) await lockChain(c);
      for (const round of rounds(batch.filter(isVersion))) {
        const written = await writeRound(c, round);
        round.forEach((job, i) => outcomes.set(job, written[i]!));
      }
      const records = batch.flatMap((job) => {
        if (!isVersion(job)) return job.records;
        return job.audit && !(outcomes.get(job) instanceof Error) ? [job.audit] : [];
      });
      await appendAuditIn(c, records, auditKeys, true);
    } catch (err) {
      // The database unavailable (a lock not granted in time, the connection lost) fails every write alike:
      // redone one by one, each would wait as long again.
      if (isDatabaseUnavailable(err)) throw err;
      throw new BatchFailed((err as Error).message);
    }
    for (const job of batch) if (!isVersion(job)) outcomes.set(job, STORED);
    return outcomes;
  }

  /** One write at a time, each (a version with its record, or an audit batch) in its own savepoint. */
  async function writeOneByOne(c: pg.PoolClient, batch: readonly Job[]): Promise<Map<Job, Outcome>> {
    const outcomes = new Map<Job, Outcome>();
    if (batch.some(appends)) await lockChain(c);
    for (const job of batch) {
      await c.query('SAVEPOINT write');
      try {
        if (isVersion(job)) {
          const outcome = (await writeRound(c, [job]))[0]!;
          if (job.audit && !(outcome instanceof Error)) await appendAuditIn(c, [job.audit], auditKeys, true).catch(recordRefused);
          outcomes.set(job, outcome);
        } else {
          await appendAuditIn(c, job.records, auditKeys, true);
          outcomes.set(job, STORED);
        }
        await c.query('RELEASE SAVEPOINT write');
      } catch (err) {
        await c.query('ROLLBACK TO SAVEPOINT write');
        outcomes.set(job, isVersion(job) ? refusedAlone(job, err) : err instanceof Error ? err : new Error(String(err)));
      }
    }
    return outcomes;
  }

  async function run(batch: Job[]): Promise<void> {
    let outcomes: Map<Job, Outcome>;
    try {
      try {
        outcomes = await transaction(pool, (c) => writeTogether(c, batch));
      } catch (err) {
        // A failed commit says nothing of which write was at fault: only a failure before it is retried.
        if (!(err instanceof BatchFailed)) throw err;
        outcomes = await transaction(pool, (c) => writeOneByOne(c, batch));
      }
    } catch (err) {
      for (const job of batch) job.reject(err as Error);
      return;
    }
    for (const job of batch) {
      const outcome = outcomes.get(job)!;
      if (outcome instanceof Error) job.reject(outcome);
      else if (isVersion(job)) job.resolve(outcome as Stored);
      else job.resolve();
    }
  }

  /** The oldest queued writes, up to the batch limits (at least one write). */
  function takeBatch(): Job[] {
    let bytes = 0;
    let n = 0;
    while (n < queue.length && n < BATCH_MAX_WRITES && bytes < BATCH_MAX_BYTES) bytes += sizeOf(queue[n++]!);
    return queue.splice(0, n);
  }

  function schedule(): void {
    if (running) return;
    // Everything requested in this turn of the event loop, and while a batch commits, goes in one batch.
    running = new Promise<void>((r) => setImmediate(r))
      .then(async () => {
        while (queue.length > 0) await run(takeBatch());
      })
      .finally(() => {
        running = null;
        if (queue.length > 0) schedule();
      });
  }

  function enqueue<T>(make: (resolve: (value: T) => void, reject: (err: Error) => void) => Job): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (closed) return reject(new Error('the PostgreSQL store is closed'));
      queue.push(make(resolve, reject));
      schedule();
    });
  }

  return {
    insertVersion: (row, audit) => enqueue<Stored>((resolve, reject) => ({ row, audit, resolve, reject })),
    appendAudit: (records) =>
      records.length === 0 ? Promise.resolve() : enqueue<void>((resolve, reject) => ({ records, resolve: () => resolve(), reject })),
    auditKeys,
    async close() {
      closed = true;
      while (running) await running;
    },
  };
}
