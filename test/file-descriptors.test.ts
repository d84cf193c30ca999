import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { survivesAcceptErrors } from '../src/server/accept-errors.js';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { until } from './support/until.js';

// Out of file descriptors: a server started under `ulimit -n 256` is sent
// more connections than it can hold. It drops the ones past its limit (the
// client sees them closed), keeps running, and serves again once they close.

describe('out of file descriptors', () => {
  let server: TestServer;
  before(async () => {
    // The ES module loader reads many files at once at start: 256 is about the least it starts with.
    server = await startTestServer({ fileLimit: 256 });
    await createVault(server, 'fd-vault');
    await secretClient(server, 'fd-vault').setSecret('s', 'kept');
  });
  after(() => server?.stop());

  it('drops connections past the limit, stays up, and serves again once they close', async () => {
    const sockets: Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 400; i++) {
      const s = connect(server.port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => closed++);
      sockets.push(s);
    }
    // 400 connections do not fit in 256 descriptors: the server closes some as they come (accept's EMFILE).
    while (closed === 0) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.exitCode(), null, 'still running');
    for (const s of sockets) s.destroy();
    // The server sees the closes a moment later (on a busy machine, several): until then an accept may still fail.
    const healthy = () => fetch(`${server.url}/healthz`).then((r) => r.status === 200, () => false);
    await until('the server accepts connections again', healthy, 15_000);
    assert.equal((await secretClient(server, 'fd-vault').getSecret('s')).value, 'kept');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal(server.exitCode(), null);
  });
});

describe('accept errors', () => {
  it('are logged (at most once a minute, with a count) and the server goes on listening', async () => {
    const server = createServer((s) => s.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const logged: Array<Record<string, unknown>> = [];
    let now = 0;
    survivesAcceptErrors(server, { error: (obj) => logged.push(obj as Record<string, unknown>) }, () => now);
    const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' });
    // Without a listener, emit('error') throws: the process would end.
    server.emit('error', emfile);
    server.emit('error', emfile);
    now += 60_000;
    server.emit('error', emfile);
    assert.deepEqual(logged, [
      { code: 'EMFILE', syscall: 'accept', errors: 1 },
      { code: 'EMFILE', syscall: 'accept', errors: 2 },
    ]);
    const address = server.address() as { port: number };
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      connect(address.port, '127.0.0.1').on('data', (d) => (text += d.toString())).on('end', () => resolve(text));
    });
    assert.equal(answer, 'hello');
    server.close();
  });
});
