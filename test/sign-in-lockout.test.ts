import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSignInLockout, LOCKOUT } from '../src/identity/sign-in-lockout.js';

// Smart lockout (src/identity/sign-in-lockout.ts): ten wrong passwords within
// ten minutes lock a user name for a minute; a right one clears the count.

function withClock() {
  let t = 5_000_000;
  return { lockout: createSignInLockout(() => t), advance: (s: number) => (t += s) };
}

test('the tenth failure within the window locks the name for a minute, whatever its case', () => {
  const { lockout, advance } = withClock();
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) lockout.failed('Alice@coffer.local');
  assert.equal(lockout.locked('alice@coffer.local'), false);
  lockout.failed(' ALICE@coffer.local ');
  assert.equal(lockout.locked('alice@coffer.local'), true);
  assert.equal(lockout.locked('bob@coffer.local'), false, 'other names are not affected');
  advance(LOCKOUT.lockSeconds - 1);
  assert.equal(lockout.locked('alice@coffer.local'), true);
  advance(1);
  assert.equal(lockout.locked('alice@coffer.local'), false);
  // The count started over when the lock ended: one more failure does not lock again.
  lockout.failed('alice@coffer.local');
  assert.equal(lockout.locked('alice@coffer.local'), false);
});

test('failures spread over more than the window do not add up; a right password clears them', () => {
  const { lockout, advance } = withClock();
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) lockout.failed('carol@coffer.local');
  advance(LOCKOUT.windowSeconds);
  lockout.failed('carol@coffer.local');
  assert.equal(lockout.locked('carol@coffer.local'), false);
  for (let i = 0; i < LOCKOUT.maxFailures - 2; i++) lockout.failed('carol@coffer.local');
  lockout.succeeded('carol@coffer.local');
  lockout.failed('carol@coffer.local');
  assert.equal(lockout.locked('carol@coffer.local'), false);
});

test('the names it tracks are bounded', () => {
  const lockout = createSignInLockout(() => 0, { ...LOCKOUT, maxTracked: 3, maxFailures: 2 });
  lockout.failed('a');
  for (const n of ['b', 'c', 'd']) lockout.failed(n);
  lockout.failed('a'); // 'a' was dropped to make room: this is its first failure again
  assert.equal(lockout.locked('a'), false);
  lockout.failed('d');
  assert.equal(lockout.locked('d'), true);
});
