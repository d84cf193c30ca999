import type { FastifyInstance } from 'fastify';
import type { Server as HttpsServer } from 'node:https';

// Told to listen on `localhost`, fastify listens on every address the name
// resolves to (127.0.0.1 and ::1 with Debian's /etc/hosts), the others from
// servers of its own that are not `app.server`. What coffer sets up on its
// server (connection limits, the connection watch of a shutdown, CONNECT and
// Expect answers) must be on those too, or a client reaching ::1 would pass
// by it. fastify keeps them under a symbol of its own, found by its name; a
// test (listening-servers.test.ts) fails if a fastify upgrade renames it.

const BINDINGS = 'fastify.serverBindings';

/** The servers fastify listens from besides `app.server` (none unless it listens on `localhost`). */
export function otherListeningServers(app: FastifyInstance): HttpsServer[] {
  const symbol = Object.getOwnPropertySymbols(app).find((s) => s.description === BINDINGS);
  const servers = symbol === undefined ? undefined : (app as unknown as Record<symbol, unknown>)[symbol];
  return Array.isArray(servers) ? (servers as HttpsServer[]) : [];
}
