import { join } from 'node:path';
import Database from 'better-sqlite3';

// One server per data dir. Two on one dir would overwrite each other's
// bootstrap.json and server.pid, append to one audit chain from two
// processes, and let an offline master key rotation run under a live
// server (which then holds keys the database no longer has). The lock is an
// exclusive SQLite lock (POSIX advisory locks, which the kernel drops when
// the holder dies, SIGKILL included) on a file of its own: the store's own
// connections must stay free to share the database.

export const LOCK_FILE = 'server.lock';

export interface DataDirLock {
  release(): void;
}

export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string) {
    super(`another coffer process holds the data dir ${dataDir} (a running server, or an admin command on it): stop it first, or give this server a --data-dir of its own`);
  }
}

/** Takes the data dir's lock, or throws DataDirLockedError at once if another process (or connection) holds it. */
export function lockDataDir(dataDir: string): DataDirLock {
  const db = new Database(join(dataDir, LOCK_FILE), { timeout: 0 });
  try {
    // Exclusive locking mode keeps the lock the first write takes until the connection closes.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS held (at INTEGER); DELETE FROM held; INSERT INTO held VALUES (unixepoch())');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirLockedError(dataDir);
    throw err;
  }
  let held = true;
  return {
    release() {
      if (held) db.close();
      held = false;
    },
  };
}

/** Whether some process holds the data dir's lock now (a running server). */
export function dataDirLocked(dataDir: string): boolean {
  try {
    lockDataDir(dataDir).release();
    return false;
  } catch (err) {
    if (err instanceof DataDirLockedError) return true;
    throw err;
  }
}
