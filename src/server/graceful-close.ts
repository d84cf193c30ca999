import type { FastifyInstance } from 'fastify';

// Shutdown of the HTTP side: stop accepting connections, let the requests in
// flight finish, and close idle keep-alive connections as they become idle
// (a client would otherwise keep one open for the 72 s keep-alive timeout).
// At the deadline every connection left, such as a client that stalled in
// the middle of its headers, is closed.

/** How often idle connections are closed while in-flight requests finish. */
const IDLE_SWEEP_MS = 100;

/** Resolves once the server is closed; `forced` says whether the deadline cut connections. */
export async function closeGracefully(app: FastifyInstance, deadlineMs: number): Promise<{ forced: boolean }> {
  let forced = false;
  const sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
  const deadline = setTimeout(() => {
    forced = true;
    app.server.closeAllConnections();
  }, deadlineMs);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
  return { forced };
}
