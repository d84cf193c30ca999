import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventEmitter } from 'node:events';
import { createTurnstile, placeFor } from '../src/server/turnstile.js';

// The bound on secret backups in flight (their blobs stay on the heap until written out).

describe('turnstile', () => {
  it('lets a few in, keeps a short line, refuses past it, and passes each place on once', async () => {
    const gate = createTurnstile(2, 1);
    const first = (await gate.enter())!;
    const second = (await gate.enter())!;
    let thirdIn = false;
    const third = gate.enter().then((r) => ((thirdIn = true), r!));
    assert.equal(await gate.enter(), null, 'the line is full');
    await new Promise((r) => setImmediate(r));
    assert.equal(thirdIn, false, 'waits while both places are held');
    first();
    first(); // A second release of one place gives nothing back twice.
    const release3 = await third;
    assert.equal(thirdIn, true);
    assert.equal(await Promise.race([gate.enter().then(() => 'in'), new Promise((r) => setTimeout(() => r('waiting'), 20))]), 'waiting', 'still two inside: the next waits');
    second();
    release3();
  });

  it("holds a place until the answer closes, and gives back at once one whose client left while in line", async () => {
    const gate = createTurnstile(1, 1);
    const first = new EventEmitter();
    assert.equal(await placeFor(gate, first), 'held');
    const leaver = new EventEmitter();
    const waiting = placeFor(gate, leaver);
    assert.equal(await placeFor(gate, new EventEmitter()), 'full');
    leaver.emit('close');
    first.emit('close');
    assert.equal(await waiting, 'gone');
    // Both places came back: the next answer gets one at once, and the line is empty again.
    const next = new EventEmitter();
    assert.equal(await placeFor(gate, next), 'held');
    const queued = placeFor(gate, new EventEmitter());
    next.emit('close');
    assert.equal(await queued, 'held');
  });
});
