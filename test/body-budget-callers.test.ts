import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Caller } from '../src/identity/identity-types.js';
import { installBodyBudget, type BodyBudget } from '../src/server/body-budget.js';
import '../src/server/request-context.js';

// The budget's bookkeeping per caller, seen from inside: whatever becomes of a
// body (answered, refused, or its connection dropped halfway), its bytes go
// back and its caller is forgotten once it holds none, so the map of callers
// is only as large as the bodies in flight. The budget is installed on a bare
// app whose callers are named by a header, as a verified token names them.

const KiB = 1024;

function callerNamed(objectId: string): Caller {
  return { objectId, tenantId: 'tenant', appId: objectId, issuer: 'test', kind: 'app', upn: null, name: null, audience: 'test' };
}

describe('request body budget, per caller', () => {
  let app: FastifyInstance;
  let budget: BodyBudget;
  let port: number;

  before(async () => {
    app = Fastify();
    app.decorateRequest('caller', null);
    app.addHook('onRequest', async (req) => {
      const oid = req.headers['x-oid'];
      if (typeof oid === 'string') req.caller = callerNamed(oid);
    });
    // The service's errors carry their status as `status`.
    app.setErrorHandler((err: Error & { status?: number }, _req, reply) => reply.status(err.status ?? 500).send({ error: err.message }));
    // 1 MiB: a principal's share is 256 KiB, an address's 16 KiB.
    budget = installBodyBudget(app, { budgetBytes: 1024 * KiB, idleMs: 30_000 });
    app.post('/body', { bodyLimit: 1024 * KiB }, async (req) => ({ length: String(req.body).length }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  after(() => app?.close());

  /** A POST of `declared` bytes of which `first` are sent now; `end` sends the rest. */
  function post(declared: number, first: number, opts: { oid?: string; localAddress?: string } = {}) {
    let req!: ClientRequest;
    const answer = new Promise<number>((resolve, reject) => {
      const headers: Record<string, string> = { 'content-type': 'text/plain', 'content-length': String(declared), ...(opts.oid ? { 'x-oid': opts.oid } : {}) };
      req = request({ host: '127.0.0.1', port, path: '/body', method: 'POST', headers, localAddress: opts.localAddress }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write('a'.repeat(first));
    return { req, answer, end: () => req.end('a'.repeat(declared - first)) };
  }

  /** Waits (by turns of the event loop, not by the clock) until `done` holds, or fails. */
  async function until(done: () => boolean, what: string) {
    for (let i = 0; i < 20_000 && !done(); i++) await tick();
    assert.ok(done(), what);
  }

  const settledAll = () => budget.held() === 0 && budget.callers() === 0;

  it('gives every body back and forgets its caller once answered, refused, or dropped halfway', async () => {
    // Answered: two principals and two addresses, whole bodies.
    const whole = [post(100 * KiB, 0, { oid: 'p' }), post(100 * KiB, 0, { oid: 'q' }), post(10 * KiB, 0, { localAddress: '127.0.0.1' }), post(10 * KiB, 0, { localAddress: '127.0.0.2' })];
    for (const w of whole) w.end();
    assert.deepEqual(await Promise.all(whole.map((w) => w.answer)), [200, 200, 200, 200]);
    await until(settledAll, 'answered bodies are given back');

    // Held halfway by principal p and by an address, each its caller's only body (so past its share).
    const heldP = post(400 * KiB, 300 * KiB, { oid: 'p' });
    const heldA = post(100 * KiB, 50 * KiB, { localAddress: '127.0.0.2' });
    try {
      await until(() => budget.held() === 350 * KiB && budget.callers() === 2, 'the held bytes are counted, under two callers');
      // Refused: p's second body and the address's second body do not fit their shares.
      const refusedP = post(100 * KiB, 0, { oid: 'p' });
      const refusedA = post(10 * KiB, 0, { localAddress: '127.0.0.2' });
      refusedP.end();
      refusedA.end();
      assert.deepEqual(await Promise.all([refusedP.answer, refusedA.answer]), [429, 429]);
      // Another principal is let in meanwhile.
      const other = post(200 * KiB, 0, { oid: 'q' });
      other.end();
      assert.equal(await other.answer, 200);
      await until(() => budget.held() === 350 * KiB && budget.callers() === 2, 'refused and answered bodies are given back');
    } finally {
      // Dropped: the held connections close before their bodies are whole.
      heldP.req.destroy();
      heldA.req.destroy();
    }
    await Promise.all([heldP.answer.catch(() => 0), heldA.answer.catch(() => 0)]);
    await until(settledAll, 'bodies of dropped connections are given back, and their callers forgotten');
  });
});
