import type { FastifyInstance } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

// Shutdown of the HTTP side: stop accepting connections, let the requests in
// flight finish, and close idle keep-alive connections as they become idle
// (a client would otherwise keep one open for the 72 s keep-alive timeout).
// At the deadline every connection left, such as a client that stalled in
// the middle of its headers, or one still in (or never starting) its TLS
// handshake, which Node's HTTP server does not know of yet, is closed.
//
// A closed connection does not stop its request's handler: a write it is
// waiting for (a row lock, a busy database) still commits, and its audit
// record is written after it (audit-hook.ts, onSend). So the requests in
// flight are counted, from onRequest until their record is written (or not
// needed), and the store is closed only once none is left.

/** How often idle connections are closed while in-flight requests finish. */
const IDLE_SWEEP_MS = 100;

/** The requests whose handler or audit record is not done yet. */
export interface InFlight {
  readonly count: number;
  begin(): void;
  end(): void;
  /** Resolves true once no request is in flight, or false after `timeoutMs` (never, when it is undefined). */
  idle(timeoutMs?: number): Promise<boolean>;
}

export function createInFlight(): InFlight {
  let count = 0;
  let waiters: Array<() => void> = [];
  return {
    get count() {
      return count;
    },
    begin() {
      count++;
    },
    end() {
      if (--count > 0) return;
      const done = waiters;
      waiters = [];
      done.forEach((w) => w());
    },
    idle(timeoutMs) {
      if (count === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = timeoutMs === undefined ? undefined : setTimeout(() => resolve(false), timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
  };
}

/** The servers' sockets from their first byte on, TLS handshake included. */
export interface Connections {
  /** Watches another server of the app's too (fastify's own for a second address of `localhost`, listening-servers.ts). */
  watch(server: HttpServer | HttpsServer): void;
  /** Closes the connections no request is using, on every server. */
  closeIdle(): void;
  /** Closes every connection, in a request or not, and destroys every socket still open (handshakes included). */
  closeAll(): void;
}

/**
 * Tracks the servers' sockets from their `connection` event: under TLS, Node's
 * HTTP server (closeAllConnections) knows a connection only once its
 * handshake is done, and until then (handshakeTimeout, app.ts) it holds
 * close(). Once it is done, headersTimeout runs from there until the first
 * request's headers are in, and keepAliveTimeout between requests.
 */
export function watchConnections(first: HttpServer | HttpsServer): Connections {
  const servers: Array<HttpServer | HttpsServer> = [];
  const sockets = new Set<Socket>();
  const watch = (server: HttpServer | HttpsServer) => {
    servers.push(server);
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
  };
  watch(first);
  return {
    watch,
    closeIdle() {
      for (const server of servers) server.closeIdleConnections();
    },
    closeAll() {
      for (const server of servers) server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    },
  };
}

export interface CloseOutcome {
  /** The deadline cut connections. */
  forced: boolean;
  /** Requests still in flight once the grace period after the deadline is over (0: the store may close). */
  running: number;
}

/**
 * Resolves once the server is closed and the requests in flight are done, or
 * with requests still running at `deadlineMs + graceMs`: the requests get
 * until the deadline with their connection, and `graceMs` more without it.
 */
export async function closeGracefully(app: FastifyInstance, tracked: { inFlight: InFlight; connections: Connections }, deadlineMs: number, graceMs: number): Promise<CloseOutcome> {
  const { inFlight, connections } = tracked;
  const end = Date.now() + deadlineMs + graceMs;
  let forced = false;
  const sweep = setInterval(() => connections.closeIdle(), IDLE_SWEEP_MS);
  const deadline = setTimeout(() => {
    forced = true;
    connections.closeAll();
  }, deadlineMs);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
  // Handlers whose connection was closed (at the deadline, or by their client) go on running.
  await inFlight.idle(Math.max(0, end - Date.now()));
  return { forced, running: inFlight.count };
}
