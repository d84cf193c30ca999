import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer } from './support/server-fixture.js';

// SIGTERM with connections open: requests in flight finish, and a client that
// stalled in the middle of its headers holds the process no longer than the
// shutdown timeout (src/server/graceful-close.ts).

/** A raw TLS connection to the server: what it writes, and everything it reads until the server closes it. */
function rawConnection(port: number) {
  const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost' });
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  socket.on('error', () => {});
  const ready = new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  return { ready, write: (text: string) => socket.write(text), closed, destroy: () => socket.destroy() };
}

describe('shutdown', () => {
  it('finishes a request in flight and closes a stalled connection at the shutdown timeout', async () => {
    const timeoutSeconds = 2;
    const server = await startTestServer({ env: { COFFER_SHUTDOWN_TIMEOUT_SECONDS: String(timeoutSeconds) } });
    const stalled = rawConnection(server.port);
    const inFlight = rawConnection(server.port);
    try {
      await Promise.all([stalled.ready, inFlight.ready]);
      // Headers that never end.
      stalled.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      // A token request whose body is half sent when SIGTERM comes.
      const { tenantId, clientId, clientSecret } = server.bootstrap;
      const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: `${server.url}/.default` }).toString();
      const half = Math.floor(body.length / 2);
      inFlight.write(`POST /${tenantId}/oauth2/v2.0/token HTTP/1.1\r\nHost: localhost:${server.port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`);
      await sleep(300);

      const started = Date.now();
      let exitedAfter: number | null = null;
      const stopped = server.stop().then(() => (exitedAfter = Date.now() - started));
      await sleep(500);
      inFlight.write(body.slice(half));
      const response = await inFlight.closed;
      assert.match(response, /^HTTP\/1\.1 200 /, 'the request in flight gets its answer');
      assert.match(response, /"access_token":"ey/);

      await Promise.race([stopped, sleep((timeoutSeconds + 6) * 1000)]);
      assert.notEqual(exitedAfter, null, 'the server exited, whatever the stalled client does');
      assert.ok(exitedAfter! >= timeoutSeconds * 1000 - 500, `it waited for the timeout (${exitedAfter} ms)`);
      assert.ok(exitedAfter! < (timeoutSeconds + 3) * 1000, `and no longer (${exitedAfter} ms)`);
      await stalled.closed;
      assert.match(server.logs(), /closed connections still open at the shutdown timeout/);
    } finally {
      stalled.destroy();
      inFlight.destroy();
      await server.kill();
    }
  });

  it('exits at once when no request is in flight, closing idle keep-alive connections', async () => {
    const server = await startTestServer({ env: { COFFER_SHUTDOWN_TIMEOUT_SECONDS: '30' } });
    const idle = rawConnection(server.port);
    try {
      await idle.ready;
      idle.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await sleep(300);
      const started = Date.now();
      await Promise.race([server.stop(), sleep(10_000)]);
      assert.ok(Date.now() - started < 5_000, `an idle keep-alive connection does not hold the shutdown (${Date.now() - started} ms)`);
      assert.match(await idle.closed, /^HTTP\/1\.1 200 /);
    } finally {
      idle.destroy();
      await server.kill();
    }
  });
});
