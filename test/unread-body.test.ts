import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVault } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A request answered before its body is read (here: an anonymous PUT, whose
// 401 comes before any body is parsed) has the rest of its body dropped as it
// arrives. That rest is held to the rule a read body is (unread-body.ts): a
// body that stops, or drips, has its connection closed instead of holding it
// for the 300 s request timeout; one sent in time leaves the connection to
// carry the next request.

/** A raw TLS connection: what it has received so far, and whether the server closed it. */
function openConnection(server: TestServer, host: string): Promise<{ socket: TLSSocket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    const socket = connect({ host: '127.0.0.1', port: server.port, servername: host, rejectUnauthorized: false }, () =>
      resolve({ socket, received: () => Buffer.concat(got).toString('utf8'), closed }),
    );
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('close', () => closedResolve());
    socket.on('error', reject);
  });
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Whether the connection closed within `ms`. */
const closedWithin = (closed: Promise<void>, ms: number) => Promise.race([closed.then(() => true), sleep(ms, false)]);

describe('unread request bodies', () => {
  let server: TestServer;
  let host: string;
  const put = (declared: number) =>
    `PUT /secrets/unread?api-version=7.6 HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n{"value":`;

  before(async () => {
    server = await startTestServer({ env: { COFFER_REQUEST_BODY_IDLE_SECONDS: '2' } });
    await createVault(server, 'unread-vault');
    host = new URL(server.vaultUrl('unread-vault')).host;
  });
  after(() => server?.stop());

  it('a body that stops arriving after its 401 has its connection closed at the idle limit', async () => {
    const conn = await openConnection(server, host);
    try {
      conn.socket.write(put(100_000));
      await until('the 401', () => conn.received().includes('\r\n\r\n'), 10_000);
      assert.match(conn.received(), /^HTTP\/1\.1 401 /);
      // The idle limit is 2 s; without a watch the connection lasts until the 300 s request timeout.
      assert.equal(await closedWithin(conn.closed, 15_000), true, 'the connection should be closed');
    } finally {
      conn.socket.destroy();
    }
  });

  it('a body sent in full after its 401 leaves the connection to carry the next request', async () => {
    const conn = await openConnection(server, host);
    try {
      const rest = `"${'x'.repeat(2000)}"}`;
      conn.socket.write(put('{"value":'.length + rest.length));
      await until('the 401', () => conn.received().includes('\r\n\r\n'), 10_000);
      await sleep(500);
      conn.socket.write(rest);
      // Past the idle limit: the watch has seen the body end and let the connection be.
      await sleep(3000);
      conn.socket.write(`GET /secrets/unread?api-version=7.6 HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      await until('the second answer', () => (conn.received().match(/HTTP\/1\.1 /g) ?? []).length === 2, 10_000);
      assert.deepEqual(conn.received().match(/HTTP\/1\.1 \d+/g), ['HTTP/1.1 401', 'HTTP/1.1 401']);
    } finally {
      conn.socket.destroy();
    }
  });

  it('a body that drips after its 401 has its connection closed once the grace period is over', async () => {
    const conn = await openConnection(server, host);
    // A byte every 500 ms never pauses past the 2 s idle limit, but is far below 8 KiB/s.
    const drip = setInterval(() => conn.socket.write('"'), 500);
    try {
      conn.socket.write(put(100_000));
      await until('the 401', () => conn.received().includes('\r\n\r\n'), 10_000);
      assert.equal(await closedWithin(conn.closed, 25_000), true, 'the connection should be closed');
    } finally {
      clearInterval(drip);
      conn.socket.destroy();
    }
  });
});
