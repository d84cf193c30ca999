import type { Logger } from 'pino';
import { ResumeRefused, type StoreSession } from '../storage/store-session.js';
import type { Store } from '../storage/store-types.js';

// A PostgreSQL server's lock connection broke (PostgreSQL restarted, the
// backend terminated, the network cut): a cluster member may have missed
// the others' announcements, and a single server's lock may have been held
// by a standby meanwhile. Until the connection is back, every request but
// the health check is answered 503 (Retry-After), none decided from memory
// that may be stale; with the connection back (the lock and LISTEN held
// again, pg-lock-renewal.ts), what the server holds is checked against the
// database and everything cached is read again, and it serves again.

export interface OutageCaches {
  /** Drops what can be dropped at once (vault rows, verified tokens): nothing is decided from them meanwhile. */
  drop(): void;
  /** Reads everything cached again (the authorization index, roles, signing keys, the pepper). */
  reload(): Promise<void>;
  /** A single server's check that nobody else wrote meanwhile; throws ResumeRefused if someone did. */
  unchanged?: () => Promise<void>;
}

export interface Serving {
  /** False while the database connection is being renewed: requests are refused 503. Absent where outages are not survived. */
  ready?: () => boolean;
}

function surviveOutages(session: StoreSession, caches: OutageCaches): Serving {
  let ready = true;
  session.watch({
    interrupted() {
      ready = false;
      caches.drop();
    },
    async resume() {
      await caches.unchanged?.();
      // Changes made between the break and the new LISTEN were announced to nobody: read everything again.
      caches.drop();
      await caches.reload();
      ready = true;
    },
  });
  return { ready: () => ready };
}

/** The audit trail's last record must not be behind the last one this server saw (a database put back meanwhile). */
export async function auditTipUnchanged(tip: () => Promise<{ seq: number }>, seen: () => number | null): Promise<void> {
  const at = (await tip()).seq;
  const mark = seen();
  if (mark !== null && at < mark) throw new ResumeRefused(`the database's audit trail ends at record ${at}, before record ${mark} this server saw`);
}

export interface DatabaseWatch {
  /** Settles if the server can no longer serve the database safely: it must then close and exit. */
  fatal: Promise<Error>;
  /** A change another member made could not be read: the caches are behind the database. */
  behind(err: Error): void;
  /** From now on (the caches built), an outage shorter than the limit is survived; before, it is fatal. */
  serve(caches: OutageCaches): Serving;
}

export function watchDatabase(store: Pick<Store, 'lost' | 'session'>, reconnectSeconds: number, log: Pick<Logger, 'fatal' | 'warn'>): DatabaseWatch {
  let stop: (err: Error) => void = () => undefined;
  let watched = false;
  const fatal = Promise.race([store.lost ?? new Promise<Error>(() => undefined), new Promise<Error>((resolve) => (stop = resolve))]).then((err) => {
    log.fatal({ err: err.message }, 'this server can no longer serve the database safely, so it stops');
    return err;
  });
  return {
    fatal,
    behind(err) {
      if (!watched || !store.session) return stop(err);
      // As if the connection broke: not serving until it is renewed and everything is read again.
      log.warn({ err: err.message }, 'a change another member made could not be read; renewing the database connection');
      store.session.interrupt(err);
    },
    serve(caches) {
      if (!store.session || reconnectSeconds <= 0) return {};
      watched = true;
      return surviveOutages(store.session, caches);
    },
  };
}
