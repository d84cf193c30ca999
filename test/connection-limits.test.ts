import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import { describe, it, mock } from 'node:test';
import { createConnectionLimits } from '../src/server/connection-limits.js';
import { createRefusalLog } from '../src/server/refusal-log.js';

// The connection limits' bookkeeping (connection-limits.ts) and the rate of
// their warnings (refusal-log.ts), on sockets stood in for: what a real
// server does with them is in connection-limits-server.test.ts.

class FakeSocket extends EventEmitter {
  destroyed = false;
  constructor(readonly remoteAddress: string | undefined) {
    super();
  }
  destroy() {
    this.destroyed = true;
  }
}

function setUp(maxConnections: number, maxConnectionsPerClient: number) {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const log = { warn: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }) };
  const limits = createConnectionLimits({ maxConnections, maxConnectionsPerClient }, log);
  const server = new EventEmitter();
  limits.enforce(server as unknown as Server);
  const connect = (address: string | undefined) => {
    const socket = new FakeSocket(address);
    server.emit('connection', socket as unknown as Socket);
    return socket;
  };
  return { limits, connect, lines };
}

describe('connection limits', () => {
  it('counts an IPv4-mapped IPv6 address as its IPv4 address, and refuses past the per-client limit', () => {
    const { limits, connect } = setUp(10, 2);
    try {
      assert.equal(connect('::ffff:10.0.0.1').destroyed, false);
      assert.equal(connect('10.0.0.1').destroyed, false);
      assert.equal(connect('::FFFF:10.0.0.1').destroyed, true);
      assert.equal(connect('10.0.0.2').destroyed, false);
      assert.deepEqual({ open: limits.stats.open, clients: limits.stats.clients, refused: { ...limits.stats.refused } }, { open: 3, clients: 2, refused: { total: 0, per_client: 1 } });
    } finally {
      limits.stop();
    }
  });

  it('counts an IPv6 client by its /64: another address of the same /64 is the same client', () => {
    const { limits, connect, lines } = setUp(10, 2);
    try {
      assert.equal(connect('2001:db8:0:7::1').destroyed, false);
      assert.equal(connect('2001:db8:0:7:ffff::2').destroyed, false);
      assert.equal(connect('2001:db8:0:7::3').destroyed, true);
      assert.equal(connect('2001:db8:0:8::1').destroyed, false);
      assert.deepEqual({ open: limits.stats.open, clients: limits.stats.clients, refused: { ...limits.stats.refused } }, { open: 3, clients: 2, refused: { total: 0, per_client: 1 } });
      assert.match(JSON.stringify(lines), /2001:db8:0:7::\/64/);
    } finally {
      limits.stop();
    }
  });

  it('frees a count once per socket, however often close is told, and forgets an address at zero', () => {
    const { limits, connect } = setUp(10, 2);
    try {
      const a = connect('2001:db8::1');
      const b = connect('2001:db8::1');
      a.emit('close');
      a.emit('close');
      assert.equal(limits.stats.open, 1);
      assert.equal(limits.stats.clients, 1);
      b.emit('close');
      assert.equal(limits.stats.open, 0);
      assert.equal(limits.stats.clients, 0);
      // Refused sockets were never counted: their close frees nothing.
      connect('2001:db8::1');
      connect('2001:db8::1');
      const refused = connect('2001:db8::1');
      assert.equal(refused.destroyed, true);
      refused.emit('close');
      assert.equal(limits.stats.open, 2);
    } finally {
      limits.stop();
    }
  });

  it('applies the total limit over all addresses; a per-client limit of 0 is none, and keeps no per-address counts', () => {
    const { limits, connect } = setUp(3, 0);
    try {
      for (let i = 0; i < 3; i++) assert.equal(connect('192.0.2.7').destroyed, false);
      assert.equal(connect('192.0.2.8').destroyed, true);
      assert.equal(limits.stats.clients, 0);
      assert.deepEqual({ ...limits.stats.refused }, { total: 1, per_client: 0 });
    } finally {
      limits.stop();
    }
  });

  it('logs a refusal with the address and the limit only', () => {
    const { limits, connect, lines } = setUp(1, 0);
    try {
      connect('198.51.100.1');
      connect('198.51.100.2');
      assert.deepEqual(lines.map((l) => l.obj), [{ address: '198.51.100.2', limit: 'total' }]);
    } finally {
      limits.stop();
    }
  });
});

describe('refusal log', () => {
  it('writes at most one line per address per minute, with the count of the refusals since its last line', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const lines: Array<Record<string, unknown>> = [];
    const log = createRefusalLog({ warn: (obj) => lines.push(obj as Record<string, unknown>) }, 60_000);
    try {
      for (let i = 0; i < 5; i++) log.refused('203.0.113.5', 'per_client');
      log.refused('203.0.113.6', 'total');
      assert.deepEqual(lines, [
        { address: '203.0.113.5', limit: 'per_client' },
        { address: '203.0.113.6', limit: 'total' },
      ]);
      // The minute ends: the four refusals not yet told are.
      mock.timers.tick(60_000);
      assert.deepEqual(lines.slice(2), [{ address: '203.0.113.5', limit: 'per_client', refused: 4 }]);
      // That line counts for the new minute: a refusal in it waits for the next.
      log.refused('203.0.113.5', 'per_client');
      assert.equal(lines.length, 3);
      mock.timers.tick(60_000);
      assert.deepEqual(lines.slice(3), [{ address: '203.0.113.5', limit: 'per_client', refused: 1 }]);
      // A quiet minute, then a refusal is told at once again.
      mock.timers.tick(60_000);
      log.refused('203.0.113.5', 'per_client');
      assert.deepEqual(lines.slice(4), [{ address: '203.0.113.5', limit: 'per_client' }]);
      assert.equal(lines.length, 5);
    } finally {
      log.stop();
      mock.timers.reset();
    }
  });

  it('forgets quiet addresses, and counts refusals past the addresses it follows in one line without an address', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const lines: Array<Record<string, unknown>> = [];
    const log = createRefusalLog({ warn: (obj) => lines.push(obj as Record<string, unknown>) }, 60_000);
    try {
      for (let i = 0; i < 1000; i++) log.refused(`10.1.${i >> 8}.${i & 255}`, 'per_client');
      assert.equal(lines.length, 1000);
      log.refused('10.9.9.9', 'per_client');
      log.refused('10.9.9.10', 'per_client');
      assert.equal(lines.length, 1000);
      mock.timers.tick(60_000);
      assert.deepEqual(lines.slice(1000), [{ refused: 2 }]);
      // Two quiet minutes: every address is forgotten, and a new one is followed again.
      mock.timers.tick(60_000);
      mock.timers.tick(60_000);
      log.refused('10.9.9.9', 'per_client');
      assert.deepEqual(lines.slice(1001), [{ address: '10.9.9.9', limit: 'per_client' }]);
    } finally {
      log.stop();
      mock.timers.reset();
    }
  });
});
