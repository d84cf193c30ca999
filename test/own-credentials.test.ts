import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createOwnCredentials } from '../src/identity/own-credentials.js';
import { createCredentialHasher } from '../src/identity/password-hash.js';

// What a cluster member keys again after reading another member's pepper
// renewal (identity/own-credentials.ts), against a store whose writes take
// their time; the end-to-end cases are in credential-pepper-generations.test.ts.

function setUp() {
  const p0 = randomBytes(32);
  const hasher = createCredentialHasher(p0);
  const replaced: Array<{ objectId: string; from: string }> = [];
  let slow: Promise<void> | null = null;
  const principals = {
    async replaceCredentialHash(objectId: string, _keyId: string | null, from: string) {
      replaced.push({ objectId, from });
      if (slow) await slow;
      return true;
    },
  };
  const own = createOwnCredentials(principals, hasher, (err) => assert.fail(err));
  const renew = () => hasher.use({ peppers: [p0, randomBytes(32)], converting: false });
  return { hasher, own, replaced, renew, slowDown: (p: Promise<void>) => (slow = p) };
}

test('a credential replaced or removed while a catch-up runs is not keyed again by it', async () => {
  const { hasher, own, replaced, renew, slowDown } = setUp();
  const first = hasher.hashClientSecret('first', { objectId: 'a', keyId: 'k' });
  const leaked = await hasher.hashPassword('leaked', { objectId: 'u' });
  const removed = hasher.hashClientSecret('removed', { objectId: 's', keyId: 'k' });
  own.stored({ objectId: 'a', keyId: 'k' }, first);
  own.stored({ objectId: 'u' }, leaked);
  own.stored({ objectId: 's', keyId: 'k' }, removed);
  renew();
  let release!: () => void;
  slowDown(new Promise<void>((r) => (release = r)));
  const running = own.catchUp();
  // The catch-up waits on its first write; meanwhile the user's password is reset and the secret removed.
  await new Promise((r) => setImmediate(r));
  own.stored({ objectId: 'u' }, await hasher.hashPassword('new', { objectId: 'u' }));
  own.removed([{ owner: { objectId: 's', keyId: 'k' }, hash: removed }]);
  release();
  assert.deepEqual(await running, { caughtUp: 1, overflowed: 0 });
  assert.deepEqual(replaced.map((r) => r.from), [first], 'neither the reset password nor the removed secret');
  // Each entry once: a second catch-up tries nothing (the new password is of the current generation).
  assert.deepEqual(await own.catchUp(), { caughtUp: 0, overflowed: 0 });
  assert.equal(replaced.length, 1);
});

test('a credential stored after the renewal was read, but made before it, is keyed again as it is stored, once', async () => {
  const { hasher, own, replaced, renew } = setUp();
  const made = hasher.hashClientSecret('made before', { objectId: 'a', keyId: 'k' });
  renew();
  own.stored({ objectId: 'a', keyId: 'k' }, made);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(replaced.map((r) => r.from), [made]);
  assert.deepEqual(await own.catchUp(), { caughtUp: 0, overflowed: 0 });
  assert.equal(replaced.length, 1);
});

test('past 10,000 rows the oldest are dropped and reported at the next catch-up; a principal deleted drops its entries', async () => {
  const { hasher, own, replaced, renew } = setUp();
  for (let i = 0; i < 10_002; i++) own.stored({ objectId: `p${i}` }, `hmac-sha256@0.0/0$x${i}`);
  const gone = ['1', '2'].map((keyId) => ({ owner: { objectId: 'gone', keyId }, hash: hasher.hashClientSecret(keyId, { objectId: 'gone', keyId }) }));
  for (const g of gone) own.stored(g.owner, g.hash);
  own.removed(gone);
  renew();
  const result = await own.catchUp();
  assert.equal(result.overflowed, 4, 'p0 to p3, to make room for p10000, p10001 and the two of "gone"');
  assert.equal(result.caughtUp, 10_000 - 2);
  const keyed = new Set(replaced.map((r) => r.objectId));
  assert.ok(!keyed.has('gone') && !keyed.has('p3') && keyed.has('p4') && keyed.has('p10001'));
});

test('on a single server nothing is kept to key again, but what is replaced during a conversion is still unlisted', async () => {
  const p0 = randomBytes(32);
  const hasher = createCredentialHasher(p0);
  const replaced: string[] = [];
  const principals = {
    async replaceCredentialHash(_objectId: string, _keyId: string | null, from: string) {
      replaced.push(from);
      return true;
    },
  };
  const own = createOwnCredentials(principals, hasher, (err) => assert.fail(err), false);
  const old = hasher.hashClientSecret('old', { objectId: 'a', keyId: 'k' });
  own.stored({ objectId: 'a', keyId: 'k' }, old);
  hasher.use({ peppers: [p0, randomBytes(32)], converting: true });
  assert.equal(hasher.listed(old, { objectId: 'a', keyId: 'k' }), true, 'every hash is listed in a row from before lists');
  own.stored({ objectId: 'a', keyId: 'k' }, hasher.hashClientSecret('new', { objectId: 'a', keyId: 'k' }), old);
  assert.equal(hasher.listed(old, { objectId: 'a', keyId: 'k' }), false);
  assert.deepEqual(await own.catchUp(), { caughtUp: 0, overflowed: 0 });
  assert.deepEqual(replaced, []);
});
