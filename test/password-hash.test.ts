import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash, randomBytes, scryptSync } from 'node:crypto';
import { createCredentialHasher, newClientSecret, passwordHashing } from '../src/identity/password-hash.js';

// Passwords: scrypt, client secrets: SHA-256, both keyed with the pepper and
// compared in constant time; never more than two scrypt hashes on libuv's
// shared thread pool at once.

const pepper = randomBytes(32);
const { hashPassword, verifyPassword, hashClientSecret, verifyClientSecret, upgrade } = createCredentialHasher(pepper);

test('a password verifies against its hash and no other', async () => {
  const stored = await hashPassword('correct horse battery staple');
  assert.match(stored, /^scrypt-hmac\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('correct horse battery staple', stored), true);
  assert.equal(await verifyPassword('correct horse battery stapler', stored), false);
  assert.equal(await verifyPassword('x', 'plain$text'), false);
  assert.match(hashClientSecret('s3cret'), /^hmac-sha256\$[A-Za-z0-9+/]{43}=$/);
  assert.equal(verifyClientSecret('s3cret', hashClientSecret('s3cret')), true);
  assert.equal(verifyClientSecret('s3cret', hashClientSecret('s3cre7')), false);
});

test('hashes are keyed: another pepper, or an unkeyed hash a database writer could compute, does not verify', async () => {
  const other = createCredentialHasher(randomBytes(32));
  assert.equal(other.verifyClientSecret('s3cret', hashClientSecret('s3cret')), false);
  assert.equal(await other.verifyPassword('pw long enough', await hashPassword('pw long enough')), false);
  // The forms stored before peppering: what anyone could write for a secret of their own choosing.
  const unkeyedSecret = 'sha256$' + createHash('sha256').update('chosen').digest('base64');
  assert.equal(verifyClientSecret('chosen', unkeyedSecret), false);
  const salt = randomBytes(16);
  const unkeyedPassword = `scrypt$32768$8$1$${salt.toString('base64')}$${scryptSync('chosen pw', salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64')}`;
  assert.equal(await verifyPassword('chosen pw', unkeyedPassword), false);
  assert.throws(() => createCredentialHasher(randomBytes(16)), /32 bytes/);

  // Converted in place (the start does it), they verify as the same credential, and only it.
  const secret = upgrade(unkeyedSecret)!;
  assert.equal(secret, hashClientSecret('chosen'));
  assert.equal(verifyClientSecret('chosen', secret), true);
  const password = upgrade(unkeyedPassword)!;
  assert.match(password, /^scrypt-hmac\$/);
  assert.equal(await verifyPassword('chosen pw', password), true);
  assert.equal(await verifyPassword('chosen pv', password), false);
  assert.equal(upgrade(secret), null, 'a keyed hash is not converted again');
  assert.equal(upgrade(password), null);
});

test('at most two hashes run at once; the rest wait their turn and all finish', async () => {
  const stored = await hashPassword('pw');
  const all = Array.from({ length: 6 }, (_, i) => verifyPassword(i % 2 ? 'pw' : 'no', stored));
  assert.deepEqual(passwordHashing(), { running: 2, waiting: 4 });
  assert.deepEqual(await Promise.all(all), [false, true, false, true, false, true]);
  assert.deepEqual(passwordHashing(), { running: 0, waiting: 0 });
  // A failing hash gives its slot back too.
  await assert.rejects(verifyPassword('pw', 'scrypt-hmac$3$8$1$AAAA$AAAA'));
  assert.deepEqual(passwordHashing(), { running: 0, waiting: 0 });
});

test('a new client secret is 40 URL-safe characters and starts with a letter or digit, so `-p SECRET` parses', () => {
  // Before, 1 secret in 64 started with "-", and `coffer login -p` (like az) refused it.
  const secrets = Array.from({ length: 4000 }, () => newClientSecret());
  for (const s of secrets) assert.match(s, /^[A-Za-z0-9][A-Za-z0-9_-]{39}$/);
  assert.equal(new Set(secrets).size, secrets.length);
  assert.ok(secrets.some((s) => s.slice(1).includes('-')), 'the rest keeps the whole alphabet');
});

test('generations: a hash names its first and last generation; only a last layer of the current one verifies', async () => {
  const [p0, p1, p2] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const at = (peppers: Buffer[], converting = false) => createCredentialHasher({ peppers, converting });
  const g0 = at([p0]);
  const secret = g0.hashClientSecret('s3cret');
  const password = await g0.hashPassword('pw');
  // Keyed again under generation 1, then 2: each layer needs that generation's pepper.
  const g1 = at([p0, p1]);
  const secret1 = g1.layer(secret)!;
  const password1 = g1.layer(password)!;
  assert.match(secret1, /^hmac-sha256@0\.1\$/);
  assert.match(password1, /^scrypt-hmac@0\.1\$/);
  assert.equal(g1.layer(secret1), null, 'already at the current generation');
  assert.equal(g1.verifyClientSecret('s3cret', secret1), true);
  assert.equal(await g1.verifyPassword('pw', password1), true);
  assert.equal(g1.verifyClientSecret('s3cret', secret), false, 'a last layer of an older generation');
  assert.equal(at([p0, p1], true).verifyClientSecret('s3cret', secret), true, 'unless its conversion is running');
  const g2 = at([p0, p1, p2]);
  const secret2 = g2.layer(secret1)!;
  assert.equal(g2.verifyClientSecret('s3cret', secret2), true);
  assert.equal(g2.layer(secret), null, 'two generations behind: not converted');
  assert.equal(g2.verifyClientSecret('s3cret', g2.hashClientSecret('s3cret')), true);
  assert.match(g2.hashClientSecret('s3cret'), /^hmac-sha256@2\.2\$/);
  // A layer under another pepper than generation 1's (what a holder of p0 alone could make) verifies nowhere.
  const wrongLayer = at([p0, randomBytes(32)]).layer(secret)!;
  assert.match(wrongLayer, /^hmac-sha256@0\.1\$/);
  assert.equal(g1.verifyClientSecret('s3cret', wrongLayer), false);
  assert.equal(g2.verifyClientSecret('s3cret', g2.layer(wrongLayer)!), false);
  // Newer than known: the caller reads the generations again.
  assert.equal(g1.ahead(secret2), true);
  assert.equal(g2.ahead(secret2), false);
  assert.equal(g1.verifyClientSecret('s3cret', secret2), false);
});

test('generations: malformed markers verify nothing', async () => {
  const h = createCredentialHasher({ peppers: [randomBytes(32), randomBytes(32)], converting: false });
  const good = h.hashClientSecret('x');
  const mac = good.split('$')[1];
  for (const bad of [`hmac-sha256@1.0$${mac}`, `hmac-sha256@-1.1$${mac}`, `hmac-sha256@1.1.1$${mac}`, `hmac-sha256@9999999.9999999$${mac}`, `hmac-sha256@1.1$${mac}$x`, `hmac-sha256@$${mac}`, `hmac-sha2561.1$${mac}`, `scrypt-hmac@1.1$${mac}`]) {
    assert.equal(h.verifyClientSecret('x', bad), false, bad);
    assert.equal(h.layer(bad), null, bad);
    assert.equal(h.ahead(bad), false, bad);
  }
  assert.equal(await h.verifyPassword('x', `scrypt-hmac@2.1$32768$8$1$AAAA$${mac}`), false);
  assert.equal(h.verifyClientSecret('x', good), true);
});
