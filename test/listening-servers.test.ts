import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// With `localhost` resolving to 127.0.0.1 and ::1 (Debian's /etc/hosts),
// fastify listens on ::1 from a server of its own. What coffer sets up on its
// server holds there too: the per-client connection limit, and CONNECT's 405.

const preload = fileURLToPath(new URL('./support/localhost-two-addresses.cjs', import.meta.url));

/** A TLS connection to `host`, or null if it was closed before its handshake was done. */
function open(server: TestServer, host: string): Promise<TLSSocket | null> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port: server.port, servername: 'localhost', rejectUnauthorized: false });
    socket.on('error', () => resolve(null));
    socket.once('close', () => resolve(null));
    socket.once('secureConnect', () => resolve(socket));
  });
}

/** The raw answer to one request written on a new connection to `host`. */
async function rawAnswer(server: TestServer, host: string, request: string): Promise<string> {
  const socket = await open(server, host);
  assert.ok(socket, `a connection to ${host}`);
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.once('close', () => resolve(text));
    socket.write(request);
  });
}

describe('the servers fastify listens from for the other addresses of localhost', () => {
  let server: TestServer;
  const held: TLSSocket[] = [];

  before(async () => {
    server = await startTestServer({ env: { NODE_OPTIONS: `--require ${preload}` }, args: ['--max-connections-per-client', '2'] });
  });
  after(async () => {
    for (const s of held) s.destroy();
    await server?.stop();
  });

  it('answers on ::1 as on 127.0.0.1', async () => {
    const answer = await rawAnswer(server, '::1', 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200 /);
  });

  it("holds a client on ::1 to the per-client limit, as on 127.0.0.1", async () => {
    for (let i = 0; i < 2; i++) {
      const socket = await open(server, '::1');
      assert.ok(socket, `connection ${i + 1} is taken`);
      held.push(socket);
    }
    assert.equal(await open(server, '::1'), null, 'the third from ::1 is closed before its handshake');
    for (const s of held.splice(0)) s.destroy();
  });

  it("answers CONNECT on ::1 with coffer's 405", async () => {
    let answer = '';
    for (let i = 0; i < 50 && answer === ''; i++) {
      // The limit's count of the connections just closed is freed as the server sees them close.
      answer = await rawAnswer(server, '::1', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n').catch(() => '');
      if (answer === '') await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(answer, /^HTTP\/1\.1 405 /);
    assert.match(answer, /coffer is not a proxy/);
  });
});
