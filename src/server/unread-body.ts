import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { BODY_GRACE_MS, MIN_BODY_RATE } from './body-budget.js';

// A request answered before its body was read (a 401 from an onRequest hook,
// or a route that does not read it) has the rest of its body read and dropped
// by Node, so the connection can carry the next request. Node does that with
// no bound but the request timeout (300 s): a client could send a header that
// draws a 401, then a byte now and then, and hold a connection five minutes
// for nothing. So the rest of an unread body is held to the rule a read one
// is (body-budget.ts): no pause past the idle limit, and from the grace
// period on at least MIN_BODY_RATE, both counted from the answer. A body that
// breaks it has its connection closed; one that keeps up (a large upload on a
// slow link, whose sender should read the answer) is read to its end.

/** How often a lingering connection's progress is looked at. */
const CHECK_MS = 1000;

/** Watches what is left of `req`'s body once it is answered (a no-op when it came whole). */
export function watchUnreadBody(req: IncomingMessage, idleMs: number): void {
  const socket = req.socket;
  if (req.complete || socket === null || socket.destroyed) return;
  const startedAt = Date.now();
  const startBytes = socket.bytesRead;
  let lastBytes = startBytes;
  let lastProgressAt = startedAt;
  const stop = () => {
    clearInterval(timer);
    socket.off('close', stop);
  };
  const timer = setInterval(() => {
    if (req.complete) return stop();
    const now = Date.now();
    if (socket.bytesRead !== lastBytes) {
      lastBytes = socket.bytesRead;
      lastProgressAt = now;
    }
    const elapsed = now - startedAt;
    const behind = elapsed >= BODY_GRACE_MS && lastBytes - startBytes < (MIN_BODY_RATE * (elapsed - BODY_GRACE_MS)) / 1000;
    if (now - lastProgressAt >= idleMs || behind) {
      stop();
      socket.destroy();
    }
  }, Math.min(CHECK_MS, idleMs));
  timer.unref();
  socket.on('close', stop);
}

/** Watches every answered request's unread body (installed once, with the body budget's idle limit). */
export function installUnreadBodyWatch(app: FastifyInstance, idleMs: number): void {
  app.addHook('onResponse', (req, _reply, done) => {
    watchUnreadBody(req.raw, idleMs);
    done();
  });
}
