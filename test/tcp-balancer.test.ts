import assert from 'node:assert/strict';
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startBalancer } from './support/tcp-balancer.js';

// The tests' load balancer (test/support/tcp-balancer.ts): after route(), a
// client's next request must not be sent on a kept-alive connection the
// balancer closed, even when the test process was busy (under load) while
// route() waited: a request sent on it fails with "socket hang up".

async function listen(): Promise<Server> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function get(port: number, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent, path: '/' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Holds the event loop, as a loaded machine does. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

test('a request after route() connects again, even when the process was busy while route() waited', async () => {
  const [one, two] = [await listen(), await listen()];
  const lb = await startBalancer();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await lb.route((one.address() as AddressInfo).port);
    assert.equal(await get(lb.port, agent), 'ok');
    const routed = lb.route((two.address() as AddressInfo).port);
    busy(300);
    await routed;
    assert.equal(await get(lb.port, agent), 'ok');
  } finally {
    agent.destroy();
    await lb.close();
    one.close();
    two.close();
  }
});
