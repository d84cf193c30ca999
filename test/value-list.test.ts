import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { STREAM_FROM_ITEMS, sendValueList } from '../src/server/value-list.js';

// Unpaged {"value":[…]} lists: long ones are streamed in slices, short ones
// sent whole (src/server/value-list.ts).

async function serve(count: number) {
  const app = Fastify();
  const items = Array.from({ length: count }, (_, i) => ({ i, name: `item-${i}`, quote: 'a "quoted" \u2028 value' }));
  app.get('/', async (_req, reply) => sendValueList(reply, items, (x) => ({ id: x.i, properties: { name: x.name, quote: x.quote } })));
  const res = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return { res, expected: { value: items.map((x) => ({ id: x.i, properties: { name: x.name, quote: x.quote } })) } };
}

test('a long list is streamed, and its body is exactly the JSON of the whole list', async () => {
  for (const count of [STREAM_FROM_ITEMS, STREAM_FROM_ITEMS + 1, 2 * STREAM_FROM_ITEMS + 249]) {
    const { res, expected } = await serve(count);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(res.headers['content-length'], undefined, 'streamed: no Content-Length');
    assert.equal(res.body, JSON.stringify(expected), `${count} items`);
  }
});

test('a short list is sent whole with a Content-Length', async () => {
  for (const count of [0, 1, STREAM_FROM_ITEMS - 1]) {
    const { res, expected } = await serve(count);
    assert.equal(res.statusCode, 200);
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
    assert.deepEqual(JSON.parse(res.body), expected);
  }
});
