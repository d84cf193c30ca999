import type { Server } from 'node:net';

// A listening server whose accept() fails (EMFILE, ENFILE: out of file
// descriptors; ENOMEM, ENOBUFS) emits 'error', and once listening nothing
// else listens for it: the process would end on the first one. libuv mostly
// hides EMFILE (it keeps one descriptor in reserve, closes it to accept and
// drop the waiting connections, then takes it again), but when another
// thread takes that descriptor first the error comes through. The server
// goes on listening after it: the error is logged (at most once a minute, so a
// flood of refused connections does not flood the log) and the connection is
// lost, which its client sees as a reset.

export const ACCEPT_ERROR_LOG_EVERY_MS = 60_000;

export interface AcceptErrorLog {
  error(obj: object, msg: string): void;
}

/** Keeps accept errors on `server` (once listening) from ending the process. */
export function survivesAcceptErrors(server: Server, log: AcceptErrorLog, now = () => Date.now()): void {
  let lastLogged = -Infinity;
  let since = 0;
  server.on('error', (err: NodeJS.ErrnoException) => {
    since++;
    if (now() - lastLogged < ACCEPT_ERROR_LOG_EVERY_MS) return;
    lastLogged = now();
    log.error({ code: err.code, syscall: err.syscall, errors: since }, 'a connection could not be accepted (out of file descriptors? see ulimit -n); the server goes on');
    since = 0;
  });
}
