import Database from 'better-sqlite3';

// Secret reads run on a read-only connection of their own, inside a read
// transaction that the reads of one turn of the event loop share. A statement
// outside a transaction takes and drops SQLite's WAL read lock (two fcntl
// calls) and, after any commit by another connection (the writer thread
// commits audit records hundreds of times a second under load), throws its
// page cache away: in a loop a read costs about half as much inside a shared
// transaction of 8 reads (12-13 µs against 6; 20-21 against 12-16 with
// another connection committing every seventh read). In the server, a GET's
// read went from about 30 to 13 µs (docs/performance.md, session 7).
//
// Freshness: the snapshot ends when the turn ends (setImmediate) and as soon
// as any write that changes what a secret read returns has settled (the
// stores call `end`), so a read never misses a write acknowledged before it
// began. A write committed by the writer thread but not yet acknowledged may
// be missed, which is allowed: it has not happened for any client yet.
// Ending every turn also keeps the snapshot from holding the WAL back.

export interface ReadSnapshot {
  /** Runs a read on the snapshot connection, starting its shared transaction if needed. */
  read<T>(run: () => T): T;
  /** Ends the shared transaction (a no-op when none is open): later reads see every commit so far. */
  end(): void;
  /** Runs a change on another connection, then ends the shared transaction, so that the next read sees the change. */
  afterChange<T>(change: () => T): T;
  /** The read-only connection the reads' statements are prepared on. */
  readonly db: Database.Database;
  /** Ends the transaction and closes the connection; again, it does nothing. */
  close(): void;
}

export function openReadSnapshot(file: string, busyTimeoutMs: number): ReadSnapshot {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  const begin = db.prepare('BEGIN');
  const commit = db.prepare('COMMIT');
  let open = false;

  function end(): void {
    if (!open) return;
    open = false;
    commit.run();
  }

  return {
    db,
    read<T>(run: () => T): T {
      if (!open) {
        begin.run();
        open = true;
        setImmediate(end);
      }
      try {
        return run();
      } catch (err) {
        end();
        throw err;
      }
    },
    end,
    afterChange<T>(change: () => T): T {
      try {
        return change();
      } finally {
        end();
      }
    },
    close() {
      if (!db.open) return;
      end();
      db.close();
    },
  };
}
