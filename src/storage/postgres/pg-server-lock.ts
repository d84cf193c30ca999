import pg from 'pg';
import { describeUrl, PG_TYPES } from './pg-support.js';
import type { StoreOutageWatcher } from '../store-session.js';

// Who serves a database. A server keeps in-memory caches (vaults, the
// authorization index) that another process's writes would not invalidate,
// unless it hears of them. So either one server holds the database alone (a
// session-level advisory lock, held on a dedicated connection for the
// store's life: a second server fails at boot, or as a hot standby waits for
// the first to go), or every server is a cluster member: it holds the lock
// in shared mode and LISTENs for the others' changes on the same connection
// (pg-change-feed.ts). The lock lives as long as its session: if the
// connection breaks (PostgreSQL restarted, the backend terminated, the
// network gone), another server may take over, and a member misses changes.
// Once the server watches the lock (ServerLock.watch), a break is survived:
// the watcher stops serving, a new session takes the lock again with a
// non-blocking try (held by another: the lock is lost) and LISTENs, and the
// watcher's resume decides whether the server may go on (pg-lock-renewal.ts).
// `lost` settles when it may not, or when the database stays away past the
// limit; the server exits on it.

/** The session lock's key ("coffer" in ASCII); distinct from MIGRATION_LOCK. */
export const STORE_LOCK = 0x636f_6666_6572;
/** How the lock's connection shows in pg_stat_activity. */
export const LOCK_APPLICATION_NAME = 'coffer server lock';
/** How often the lock's connection is checked, and how long a check may take before the lock counts as lost. */
const HEARTBEAT_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 10_000;

export class StoreLockedError extends Error {
  constructor(where: string, cluster = false) {
    super(
      cluster
        ? `${where} is in use by a coffer server that was not started with --cluster (it holds advisory lock ${STORE_LOCK} alone); ` +
            'a cluster shares a database only with other members: stop that server, or start it with --cluster too'
        : `${where} is in use by another coffer server (it holds advisory lock ${STORE_LOCK}); ` +
            'without --cluster coffer runs one server process per database ' +
            '(start this one with --standby to wait and take over when the other stops, or every server with --cluster to share the database)',
    );
    this.name = 'StoreLockedError';
  }
}

export interface ServerLock {
  /** Settles (never rejects) once the lock is lost for good: taken by another, refused by the watcher's resume, or the database away past the limit. */
  lost: Promise<Error>;
  release(): Promise<void>;
  /**
   * From now on a broken session is renewed instead of lost (with `reconnect`): `interrupted` is called at the break,
   * `resume` with the lock and LISTEN held again, before the server serves again.
   */
  watch(watcher: LockWatcher): void;
  /** Ends the current session as if it broke (the caller missed something the session should have told it). */
  interrupt(err: Error): void;
}

export type LockWatcher = StoreOutageWatcher;

/** Thrown by a LockWatcher's resume: what the server holds no longer matches the database, so it must not serve it. */
export { ResumeRefused as LockResumeRefused } from '../store-session.js';

export interface LockOptions {
  /** Wait for a server holding the lock to go, instead of failing. */
  wait?: boolean;
  /** Share the database with other cluster members: the lock in shared mode, and their announcements to `onAnnouncement`. */
  cluster?: { channel: string; onAnnouncement(payload: string): void };
  /** Called once when the lock is held elsewhere and `wait` is set. */
  onWaiting?: () => void;
  /** The heartbeat's period and timeout (--database-heartbeat-seconds: 5 s and 10 s by default). */
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** How a watched lock's broken session is renewed (pg-lock-renewal.ts); absent or a limit of 0: a break loses the lock. */
  reconnect?: ReconnectOptions;
}

export interface ReconnectOptions {
  /** How long the database may stay away before the lock counts as lost. */
  limitMs: number;
  /** Where the break, the renewal and a long outage are told (warn level). */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Awaited before each attempt (tests). */
  beforeAttempt?: () => Promise<void>;
}

/** One session holding the lock: its connection, and how it ends. */
export interface LockSession {
  /** The session's backend in PostgreSQL: it may outlive the connection a while, holding the lock (endOwnBackend). */
  backend: { pid: number; started: string };
  /** Settles once, when the connection breaks, stops answering, or is failed by `fail`. */
  broken: Promise<Error>;
  fail(err: Error): void;
  /** Unlocks and closes (the lock goes with the session anyway). */
  end(): Promise<void>;
}

/** Connects and takes the lock; `wait` blocks behind a holder, otherwise a holder is a StoreLockedError. */
export async function openLockSession(url: string, opts: LockOptions, wait: boolean): Promise<LockSession> {
  const every = opts.heartbeatMs ?? HEARTBEAT_MS;
  const patience = opts.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
  // keepAlive: a silently dead connection is noticed by the OS too, not only by the heartbeat.
  // Through a partition a connection being made waits for the kernel's retries (minutes): given up after `patience`.
  const client = new pg.Client({ connectionString: url, types: PG_TYPES, keepAlive: true, application_name: LOCK_APPLICATION_NAME, connectionTimeoutMillis: patience });
  // A broken connection emits 'error', which would end the process unhandled; `broken` reports it.
  let broke: (err: Error) => void = () => undefined;
  client.on('error', (err) => broke(err));
  client.on('end', () => broke(new Error('the connection holding the lock closed')));
  try {
    await client.connect();
  } catch (err) {
    // Said plainly: callers would otherwise take a bare ECONNREFUSED for the coffer server's own port.
    throw new Error(`cannot connect to PostgreSQL at ${describeUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  const mode = opts.cluster ? '_shared' : '';
  let me: LockSession['backend'];
  // The session's setup statements, as the heartbeat's: unanswered after `patience`, the connection is ended (which fails
  // the statement at once), except while it waits by design behind another holder.
  let unanswered: NodeJS.Timeout | undefined;
  let gaveUp = false;
  const answerWithin = () => {
    clearTimeout(unanswered);
    unanswered = setTimeout(() => {
      gaveUp = true;
      void client.end().catch(() => undefined);
    }, patience);
  };
  try {
    answerWithin();
    const r = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock${mode}($1) AS locked`, [STORE_LOCK]);
    if (!r.rows[0]?.locked) {
      if (!wait) throw new StoreLockedError(describeUrl(url), opts.cluster !== undefined);
      opts.onWaiting?.();
      clearTimeout(unanswered);
      // Blocks until the holder's session ends; a broken connection meanwhile fails the start.
      await client.query(`SELECT pg_advisory_lock${mode}($1)`, [STORE_LOCK]);
      answerWithin();
    }
    if (opts.cluster) {
      const { channel, onAnnouncement } = opts.cluster;
      client.on('notification', (n) => {
        if (n.channel === channel && n.payload !== undefined) onAnnouncement(n.payload);
      });
      // Before the caller reads anything it caches: what changes after this is announced to it.
      await client.query(`LISTEN ${channel}`);
    }
    me = (await client.query<{ pid: number; started: string }>('SELECT pid, backend_start::text AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()')).rows[0]!;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw gaveUp ? new Error(`PostgreSQL at ${describeUrl(url)} did not answer within ${patience / 1000} s`, { cause: err }) : err;
  } finally {
    clearTimeout(unanswered);
  }

  let over = false;
  let timer: NodeJS.Timeout | undefined;
  const broken = new Promise<Error>((resolve) => {
    broke = (err) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      resolve(err);
      client.end().catch(() => undefined);
    };
  });
  const beat = () => {
    timer = setTimeout(() => {
      const stuck = setTimeout(() => broke(new Error(`the connection holding it did not answer within ${patience / 1000} s`)), patience);
      client.query('SELECT 1').then(
        () => {
          clearTimeout(stuck);
          if (!over) beat();
        },
        (err: Error) => {
          clearTimeout(stuck);
          broke(err);
        },
      );
    }, every);
    timer.unref();
  };
  beat();
  return {
    backend: me,
    broken,
    fail: (err) => broke(err),
    async end() {
      if (over) return;
      over = true;
      clearTimeout(timer);
      // Ending the session releases the lock too; unlocking first also covers a connection kept open by a proxy.
      await client.query(`SELECT pg_advisory_unlock${mode}($1)`, [STORE_LOCK]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/**
 * Ends a broken session's backend if PostgreSQL still runs it (it still holds the lock then: a lock goes only
 * with its backend, so no other server took it). After a cut connection PostgreSQL may keep the backend until
 * its TCP keepalive gives up, and a terminated one takes a moment to go. Returns whether it was still there.
 */
export async function endOwnBackend(url: string, backend: { pid: number; started: string }): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, types: PG_TYPES });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const r = await client.query<{ ended: boolean }>('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE pid = $1 AND backend_start::text = $2', [backend.pid, backend.started]);
    return r.rows.length > 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}
