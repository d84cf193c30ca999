import { chmodSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { isStorageFull } from '../storage/store-types.js';

// One server per data dir. Two on one dir would overwrite each other's
// bootstrap.json and server.pid, append to one audit chain from two
// processes, and let an offline master key rotation run under a live
// server (which then holds keys the database no longer has). The lock is an
// exclusive SQLite lock (POSIX advisory locks, which the kernel drops when
// the holder dies, SIGKILL included) on a file of its own: the store's own
// connections must stay free to share the database.
//
// POSIX locks belong to the process, and closing any descriptor of the file
// drops them: nothing else in a process that holds the lock may open
// server.lock (a backup of the data dir must copy around it).

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
  const file = join(dataDir, LOCK_FILE);
  let db: Database.Database;
  try {
    // A short wait: two processes starting at once each take a shared lock first, and one must give way.
    db = new Database(file, { timeout: 250 });
  } catch (err) {
    throw unusable(file, err);
  }
  try {
    // Exclusive locking mode keeps the lock the write transaction takes until the connection closes.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (at INTEGER); DELETE FROM held; INSERT INTO held VALUES (unixepoch()); COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirLockedError(dataDir);
    throw unusable(file, err);
  }
  // Its user's alone, as everything in the data dir (an admin command, run without the server's umask, may make it).
  chmodSync(file, 0o600);
  let held = true;
  return {
    release() {
      if (held) db.close();
      held = false;
    },
  };
}

/** A lock file that cannot be used (not a SQLite file, not writable, or no room to write it): what to do about it. */
function unusable(file: string, err: unknown): Error {
  const code = (err as { code?: string }).code ?? '';
  // Taking the lock writes (its journal): on a full disk, the file is fine and removing it would not help.
  if (isStorageFull(err)) return new Error(`cannot lock the data dir with ${file} (${code}): the disk holding the data dir is full (or a quota or file size limit is reached): make room and start again`);
  return new Error(`cannot lock the data dir with ${file} (${code || (err as Error).message}): it must be a file coffer can write; with no coffer process running, remove it and start again`);
}

/** The data dir's lock, or null when another process (a server, an admin command) holds it. */
export function tryLockDataDir(dataDir: string): DataDirLock | null {
  try {
    return lockDataDir(dataDir);
  } catch (err) {
    if (err instanceof DataDirLockedError) return null;
    throw err;
  }
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

/**
 * After a failed first start: removes the data dir this start made (`made`, what mkdirSync's `recursive`
 * returned: the data dir or the first of its parents it had to make). The data dir goes whole (this start holds
 * its lock); the parents it made only while empty, never recursively: another server may have made its own
 * data dir beside this one meanwhile.
 */
export function removeDataDirMade(dataDir: string, made: string | undefined): void {
  if (made === undefined) return;
  const dir = resolve(dataDir);
  rmSync(dir, { recursive: true, force: true });
  for (let parent = dirname(dir); parent.length >= resolve(made).length && parent !== dirname(parent); parent = dirname(parent)) {
    try {
      rmdirSync(parent);
    } catch {
      return; // not empty (or not ours to remove): it and every parent above it stay
    }
  }
}

/**
 * Whether others than its owner may write in the data dir: its files are the owner's only, but in such a
 * directory they can be replaced (removed and made again), the master key and bootstrap.json among them.
 * (Windows reports no such modes: not told there.)
 */
export const writableByOthers = (dataDir: string): boolean => process.platform !== 'win32' && (statSync(dataDir).mode & 0o022) !== 0;
