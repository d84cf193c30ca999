import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, newClientSecret, passwordHashing, verifyClientSecret, hashClientSecret, verifyPassword } from '../src/identity/password-hash.js';

// Passwords: scrypt, compared in constant time, and never more than two
// hashes on libuv's shared thread pool at once.

test('a password verifies against its hash and no other', async () => {
  const stored = await hashPassword('correct horse battery staple');
  assert.match(stored, /^scrypt\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('correct horse battery staple', stored), true);
  assert.equal(await verifyPassword('correct horse battery stapler', stored), false);
  assert.equal(await verifyPassword('x', 'plain$text'), false);
  assert.equal(verifyClientSecret('s3cret', hashClientSecret('s3cret')), true);
  assert.equal(verifyClientSecret('s3cret', hashClientSecret('s3cre7')), false);
});

test('at most two hashes run at once; the rest wait their turn and all finish', async () => {
  const stored = await hashPassword('pw');
  const all = Array.from({ length: 6 }, (_, i) => verifyPassword(i % 2 ? 'pw' : 'no', stored));
  assert.deepEqual(passwordHashing(), { running: 2, waiting: 4 });
  assert.deepEqual(await Promise.all(all), [false, true, false, true, false, true]);
  assert.deepEqual(passwordHashing(), { running: 0, waiting: 0 });
  // A failing hash gives its slot back too.
  await assert.rejects(verifyPassword('pw', 'scrypt$3$8$1$AAAA$AAAA'));
  assert.deepEqual(passwordHashing(), { running: 0, waiting: 0 });
});

test('a new client secret is 40 URL-safe characters and starts with a letter or digit, so `-p SECRET` parses', () => {
  // Before, 1 secret in 64 started with "-", and `coffer login -p` (like az) refused it.
  const secrets = Array.from({ length: 4000 }, () => newClientSecret());
  for (const s of secrets) assert.match(s, /^[A-Za-z0-9][A-Za-z0-9_-]{39}$/);
  assert.equal(new Set(secrets).size, secrets.length);
  assert.ok(secrets.some((s) => s.slice(1).includes('-')), 'the rest keeps the whole alphabet');
});
