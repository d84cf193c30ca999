import { setTimeout as sleep } from 'node:timers/promises';
import { endOwnBackend, LockResumeRefused, openLockSession, StoreLockedError, type LockOptions, type LockSession, type LockWatcher, type ServerLock } from './pg-server-lock.js';

// The server lock over time. Until the server watches it (once it has built
// what it serves from), a broken session loses the lock, as a failed start
// would. Watched, a break is an outage: the watcher stops serving, and new
// sessions are tried with growing pauses until one holds the lock again
// (with a non-blocking try: a server that holds it meanwhile, a standby that
// took over, keeps it, and this one's lock is lost) and LISTENs; the
// watcher's resume then checks and reloads what it holds and serves again.
// A database away past the limit, or a resume refused, loses the lock.

/** The first pause between attempts, doubled each time up to the last. */
const FIRST_PAUSE_MS = 250;
const LONGEST_PAUSE_MS = 5_000;
/** How often a long outage is told again. */
const TELL_EVERY_MS = 60_000;

export async function takeServerLock(url: string, opts: LockOptions = {}): Promise<ServerLock> {
  let session: LockSession = await openLockSession(url, opts, opts.wait === true);
  let watcher: LockWatcher | undefined;
  let over = false;
  let lose: (err: Error) => void = () => undefined;
  const lost = new Promise<Error>((resolve) => (lose = resolve));
  const giveUp = (err: Error) => {
    if (over) return;
    over = true;
    lose(new Error(`lost the database lock: ${err.message}`));
    void session.end();
  };

  const follow = (s: LockSession) => {
    void s.broken.then((err) => {
      if (over || s !== session) return;
      const limit = opts.reconnect?.limitMs ?? 0;
      if (!watcher || limit <= 0) giveUp(err);
      else void renew(err, watcher, limit);
    });
  };

  async function renew(cause: Error, w: LockWatcher, limitMs: number): Promise<void> {
    const warn = opts.reconnect!.warn;
    const broken = session;
    w.interrupted(cause);
    warn(`the database connection holding the lock broke; not serving until it is held again (for at most ${limitMs / 1000} s)`, { err: cause.message });
    const started = Date.now();
    let told = started;
    let pause = FIRST_PAUSE_MS;
    for (let attempt = 1; !over; attempt++) {
      await opts.reconnect!.beforeAttempt?.();
      let next: LockSession | undefined;
      try {
        next = await openLockSession(url, opts, false);
        if (over) return void (await next.end());
        session = next;
        await w.resume();
        warn('the database lock is held again; serving', { attempts: attempt, outageSeconds: Math.round((Date.now() - started) / 1000) });
        follow(next);
        return;
      } catch (err) {
        const e = err as Error;
        // This server's own broken session may still hold the lock: ended, and tried again.
        const own = e instanceof StoreLockedError && (await endOwnBackend(url, broken.backend).catch(() => true));
        // Another server holds the lock (a standby took over), or what this one holds no longer matches the database.
        if (!own && (e instanceof StoreLockedError || e instanceof LockResumeRefused)) return giveUp(e);
        await next?.end();
        if (Date.now() + pause - started > limitMs) return giveUp(new Error(`the database stayed away for ${limitMs / 1000} s: ${e.message}`));
        if (Date.now() - told >= TELL_EVERY_MS) {
          told = Date.now();
          warn('still reconnecting to the database', { attempts: attempt, err: e.message });
        }
      }
      // Unreferenced: a server closing meanwhile (release) is not kept alive by the pause.
      await sleep(pause, undefined, { ref: false });
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  }

  follow(session);
  return {
    lost,
    watch(w) {
      watcher = w;
    },
    interrupt(err) {
      if (!over) session.fail(err);
    },
    async release() {
      if (over) return;
      over = true;
      await session.end();
    },
  };
}
