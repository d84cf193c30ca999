import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

// An unpaged `{"value":[…]}` list. A long one is serialized a slice at a time
// as the socket drains: 10,000 role assignments are about 20 MB of JSON, and
// building that string (and its Buffer and TLS copies) at once left the
// server's RSS about 17 MB higher after the response (docs/performance.md).
// A short list goes out whole, with a Content-Length, as before.

export const STREAM_FROM_ITEMS = 1000;
const SLICE_ITEMS = 250;

function* serialized<T>(items: readonly T[], toWire: (item: T) => unknown): Generator<string> {
  yield '{"value":[';
  for (let i = 0; i < items.length; i += SLICE_ITEMS) {
    const slice = items.slice(i, i + SLICE_ITEMS).map((item) => JSON.stringify(toWire(item)));
    yield (i === 0 ? '' : ',') + slice.join(',');
  }
  yield ']}';
}

/** Sends `{ value: items.map(toWire) }`: returns the object for fastify to send, or streams it and returns the reply. */
export function sendValueList<T>(reply: FastifyReply, items: readonly T[], toWire: (item: T) => unknown): { value: unknown[] } | FastifyReply {
  if (items.length < STREAM_FROM_ITEMS) return { value: items.map(toWire) };
  return reply.type('application/json; charset=utf-8').send(Readable.from(serialized(items, toWire), { objectMode: false }));
}
