import assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { vaultToken } from './support/audit-kit.js';
import { createVault } from './support/clients.js';
import { startTestServer } from './support/server-fixture.js';

// SIGTERM with connections open: requests in flight finish, and a client that
// stalled in the middle of its headers, or never started its TLS handshake,
// holds the process no longer than the shutdown timeout
// (src/server/graceful-close.ts). And the timeouts that close a connection
// sending nothing, before or after its TLS handshake, but leave a slow upload
// be (src/server/app.ts).

/** A raw TLS connection to the server: what it writes, and everything it reads until the server closes it. */
function rawConnection(port: number) {
  const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost' });
  let received = '';
  let closedAt: number | null = null;
  socket.on('data', (d: Buffer) => (received += d.toString()));
  const closed = new Promise<string>((resolve) =>
    socket.on('close', () => {
      closedAt = Date.now();
      resolve(received);
    }),
  );
  socket.on('error', () => {});
  const ready = new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  return { ready, write: (text: string) => socket.write(text), closed, closedAt: () => closedAt, received: () => received, destroy: () => socket.destroy() };
}

/** A TCP connection that sends nothing, not even a TLS ClientHello. */
function silentConnection(port: number) {
  const socket = connectTcp({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const opened = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closedAt = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  return { opened, closedAt, destroy: () => socket.destroy() };
}

/** Resolves to the promise's value, or null after ms. */
const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, sleep(Math.max(0, ms)).then(() => null)]);

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

  it('closes a TCP connection that never starts its TLS handshake at the shutdown timeout', async () => {
    const timeoutSeconds = 2;
    const server = await startTestServer({ env: { COFFER_SHUTDOWN_TIMEOUT_SECONDS: String(timeoutSeconds) } });
    const silent = silentConnection(server.port);
    try {
      await silent.opened;
      await sleep(300);
      const started = Date.now();
      let exitedAfter: number | null = null;
      const stopped = server.stop().then(() => (exitedAfter = Date.now() - started));
      await within(stopped, (timeoutSeconds + 6) * 1000);
      assert.notEqual(exitedAfter, null, 'the server exited');
      assert.ok(exitedAfter! < (timeoutSeconds + 2) * 1000, `at the shutdown timeout (${exitedAfter} ms)`);
      assert.ok((await silent.closedAt) - started < (timeoutSeconds + 2) * 1000, 'the connection was closed');
      assert.doesNotMatch(server.logs(), /did not finish in time/);
    } finally {
      silent.destroy();
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

  // Slow tests, run side by side.
  describe('connection timeouts', { concurrency: true }, () => {
    it('lets a request whose body takes more than 35 s finish (a large backup restored over a slow link)', async () => {
      const server = await startTestServer();
      await createVault(server, 'slow-link');
      const token = await vaultToken(server, server.bootstrap.clientId, server.bootstrap.clientSecret);
      const slow = rawConnection(server.port);
      try {
        await slow.ready;
        // 400 KiB at about 11 KiB/s: slow, but above the 8 KiB/s a body must keep up after its first 10 s.
        const body = JSON.stringify({ value: 'A'.repeat(400 * 1024) });
        slow.write(
          `POST /secrets/restore?api-version=7.6 HTTP/1.1\r\nHost: slow-link.${server.bootstrap.vaultDnsSuffix}:${server.port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        );
        // Node checks the request timeout every 5 s: 37 s is past any check that a 30 s limit would fail.
        const pieces = 10;
        const size = Math.ceil(body.length / pieces);
        for (let i = 0; i < pieces; i++) {
          await sleep(3_700);
          assert.equal(slow.closedAt(), null, `the connection is still open after ${((i + 1) * 3.7).toFixed(1)} s: ${slow.received()}`);
          slow.write(body.slice(i * size, (i + 1) * size));
        }
        // Read whole and answered for what it is (not a backup), not cut off by a timeout.
        const response = (await within(slow.closed, 10_000)) ?? '';
        assert.match(response, /^HTTP\/1\.1 400 /, response);
        assert.match(response, /"code":"Malformed backup blob"/);
        assert.doesNotMatch(response, /not received in time/);
      } finally {
        slow.destroy();
        await server.kill();
      }
    });

    it('are closed: no TLS handshake within 10 s, no request headers within 15 s of it; keep-alive between requests stays', async () => {
      const server = await startTestServer();
      const silent = silentConnection(server.port);
      const idle = rawConnection(server.port);
      const used = rawConnection(server.port);
      try {
        await Promise.all([silent.opened, idle.ready, used.ready]);
        const started = Date.now();
        used.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
        const silentClosed = await within(silent.closedAt, 14_000);
        assert.notEqual(silentClosed, null, 'a connection with no TLS handshake is closed');
        assert.ok(silentClosed! - started >= 9_000, `after the handshake timeout (${silentClosed! - started} ms)`);
        // Node's headersTimeout (15 s, checked every 5 s) runs from the handshake, not from the first byte.
        await within(idle.closed, started + 22_000 - Date.now());
        const idleClosed = idle.closedAt();
        assert.notEqual(idleClosed, null, 'a TLS connection that sends no request is closed');
        assert.ok(idleClosed! - started >= 14_000, `after the headers timeout (${idleClosed! - started} ms)`);

        assert.equal(used.closedAt(), null, 'a connection that sent a request stays open (keep-alive)');
        used.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        const answers = (await within(used.closed, 5_000)) ?? '';
        assert.equal(answers.match(/HTTP\/1\.1 200 /g)?.length, 2, answers);
      } finally {
        silent.destroy();
        idle.destroy();
        used.destroy();
        await server.kill();
      }
    });
  });
});
