// The errors every store throws for the same conditions, whichever database it runs on.

/**
 * A write would duplicate a unique name or id ('exists'), touch a soft-deleted object ('deleted'), or found
 * what it was planned from changed by another write ('changed').
 */
export class StoreConflictError extends Error {
  constructor(
    public readonly reason: 'exists' | 'deleted' | 'changed',
    message: string,
    /** The stored row that holds what the write would duplicate, where it is not the one the write named. */
    public readonly existing?: string,
  ) {
    super(message);
    this.name = 'StoreConflictError';
  }
}

/** A write named a parent row (a vault, a principal) that another request removed since it was read. */
export class StoreParentGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreParentGoneError';
  }
}

/**
 * PostgreSQL's error codes (by class or in full) and the driver's errors that
 * say the database cannot serve this request now, though a later one may
 * succeed: a lock not granted within lock_timeout (55P03), no free pooled
 * connection in time, too many connections (53300), the server shutting down
 * or starting (57P01–57P03), or the connection refused or cut (class 08, the
 * socket's codes, the driver's own "Connection terminated"). A transaction
 * PostgreSQL ended to break a deadlock (40P01), or as a serialization failure
 * (40001), was rolled back whole: the same request again succeeds.
 */
const UNAVAILABLE_CODES = new Set(['55P03', '40P01', '40001', '53300', '53400', '57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = [/^timeout exceeded when trying to connect/, /^Connection terminated/, /^Client has encountered a connection error/, /^Client was closed and is not queryable/];

/** Whether err (or its cause) says the database is unavailable for now (see UNAVAILABLE_CODES): a request it ends is answered 503. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
    if (UNAVAILABLE_MESSAGES.some((m) => m.test(e.message))) return true;
  }
  return false;
}

/** A file that cannot grow: no space, a quota, a file size limit (the audit file copy, a key file). */
const FILE_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Whether err (or its cause) says the storage cannot take a write: SQLite's
 * SQLITE_FULL (the disk, or max_page_count) or an I/O error (SQLITE_IOERR_*:
 * a file that cannot grow, EFBIG, lands there), PostgreSQL's disk_full
 * (53100) or io_error (58030), or a file's (FILE_FULL_CODES). SQLite undoes the statement or the whole
 * transaction: nothing of it is stored, and a retry succeeds once there is room.
 */
export function isStorageFull(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = String((e as { code?: unknown }).code);
    if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code === '53100' || code === '58030' || FILE_FULL_CODES.has(code)) return true;
  }
  return false;
}
