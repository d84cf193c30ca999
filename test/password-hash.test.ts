import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash, createHmac, randomBytes, scryptSync } from 'node:crypto';
import { createCredentialHasher, newClientSecret, passwordHashing } from '../src/identity/password-hash.js';

// Passwords: scrypt, client secrets: SHA-256, both keyed with the pepper and
// compared in constant time; never more than two scrypt hashes on libuv's
// shared thread pool at once.

const pepper = randomBytes(32);
const OWNER = { objectId: '5f0c7a9e-0000-4000-8000-000000000001', keyId: '5f0c7a9e-0000-4000-8000-000000000002' };
const { hashPassword, verifyPassword, hashClientSecret, verifyClientSecret, upgrade } = createCredentialHasher(pepper);

test('a password verifies against its hash and no other', async () => {
  const stored = await hashPassword('correct horse battery staple', OWNER);
  assert.match(stored, /^scrypt-hmac@0\.0\/0\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('correct horse battery staple', stored, OWNER), true);
  assert.equal(await verifyPassword('correct horse battery stapler', stored, OWNER), false);
  assert.equal(await verifyPassword('x', 'plain$text', OWNER), false);
  assert.match(hashClientSecret('s3cret', OWNER), /^hmac-sha256@0\.0\/0\$[A-Za-z0-9+/]{43}=$/);
  assert.equal(verifyClientSecret('s3cret', hashClientSecret('s3cret', OWNER), OWNER), true);
  assert.equal(verifyClientSecret('s3cret', hashClientSecret('s3cre7', OWNER), OWNER), false);
});

test('hashes are keyed: another pepper, or an unkeyed hash a database writer could compute, does not verify', async () => {
  const other = createCredentialHasher(randomBytes(32));
  assert.equal(other.verifyClientSecret('s3cret', hashClientSecret('s3cret', OWNER), OWNER), false);
  assert.equal(await other.verifyPassword('pw long enough', await hashPassword('pw long enough', OWNER), OWNER), false);
  // The forms stored before peppering: what anyone could write for a secret of their own choosing.
  const unkeyedSecret = 'sha256$' + createHash('sha256').update('chosen').digest('base64');
  assert.equal(verifyClientSecret('chosen', unkeyedSecret, OWNER), false);
  const salt = randomBytes(16);
  const unkeyedPassword = `scrypt$32768$8$1$${salt.toString('base64')}$${scryptSync('chosen pw', salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64')}`;
  assert.equal(await verifyPassword('chosen pw', unkeyedPassword, OWNER), false);
  assert.throws(() => createCredentialHasher(randomBytes(16)), /32 bytes/);

  // Converted in place (the start does it), they verify as the same credential, and only it.
  const secret = upgrade(unkeyedSecret, OWNER)!;
  assert.equal(secret, hashClientSecret('chosen', OWNER));
  assert.equal(verifyClientSecret('chosen', secret, OWNER), true);
  const password = upgrade(unkeyedPassword, OWNER)!;
  assert.match(password, /^scrypt-hmac@0\.0\/0\$/);
  assert.equal(await verifyPassword('chosen pw', password, OWNER), true);
  assert.equal(await verifyPassword('chosen pv', password, OWNER), false);
  assert.equal(upgrade(secret, OWNER), null, 'a keyed hash is not converted again');
  assert.equal(upgrade(password, OWNER), null);
});

test('at most two hashes run at once; the rest wait their turn and all finish', async () => {
  const stored = await hashPassword('pw', OWNER);
  const all = Array.from({ length: 6 }, (_, i) => verifyPassword(i % 2 ? 'pw' : 'no', stored, OWNER));
  assert.deepEqual(passwordHashing(), { running: 2, waiting: 4 });
  assert.deepEqual(await Promise.all(all), [false, true, false, true, false, true]);
  assert.deepEqual(passwordHashing(), { running: 0, waiting: 0 });
  // A failing hash gives its slot back too.
  await assert.rejects(verifyPassword('pw', 'scrypt-hmac$3$8$1$AAAA$AAAA', OWNER));
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
  const secret = g0.hashClientSecret('s3cret', OWNER);
  const password = await g0.hashPassword('pw', OWNER);
  // Keyed again under generation 1, then 2: each layer needs that generation's pepper.
  const g1 = at([p0, p1]);
  const secret1 = g1.layer(secret, OWNER)!;
  const password1 = g1.layer(password, OWNER)!;
  assert.match(secret1, /^hmac-sha256@0\.1\/0\$/);
  assert.match(password1, /^scrypt-hmac@0\.1\/0\$/);
  assert.equal(g1.layer(secret1, OWNER), null, 'already at the current generation');
  assert.equal(g1.verifyClientSecret('s3cret', secret1, OWNER), true);
  assert.equal(await g1.verifyPassword('pw', password1, OWNER), true);
  assert.equal(g1.verifyClientSecret('s3cret', secret, OWNER), false, 'a last layer of an older generation');
  assert.equal(at([p0, p1], true).verifyClientSecret('s3cret', secret, OWNER), true, 'unless its conversion is running');
  const g2 = at([p0, p1, p2]);
  const secret2 = g2.layer(secret1, OWNER)!;
  assert.equal(g2.verifyClientSecret('s3cret', secret2, OWNER), true);
  assert.equal(g2.layer(secret, OWNER), null, 'two generations behind: not converted');
  assert.equal(g2.verifyClientSecret('s3cret', g2.hashClientSecret('s3cret', OWNER), OWNER), true);
  assert.match(g2.hashClientSecret('s3cret', OWNER), /^hmac-sha256@2\.2\/2\$/);
  // A layer under another pepper than generation 1's (what a holder of p0 alone could make) verifies nowhere.
  const wrongLayer = at([p0, randomBytes(32)]).layer(secret, OWNER)!;
  assert.match(wrongLayer, /^hmac-sha256@0\.1\/0\$/);
  assert.equal(g1.verifyClientSecret('s3cret', wrongLayer, OWNER), false);
  assert.equal(g2.verifyClientSecret('s3cret', g2.layer(wrongLayer, OWNER)!, OWNER), false);
  // Newer than known: the caller reads the generations again.
  assert.equal(g1.ahead(secret2), true);
  assert.equal(g2.ahead(secret2), false);
  assert.equal(g1.verifyClientSecret('s3cret', secret2, OWNER), false);
});

test('generations: malformed markers verify nothing', async () => {
  const h = createCredentialHasher({ peppers: [randomBytes(32), randomBytes(32)], converting: false });
  const good = h.hashClientSecret('x', OWNER);
  const mac = good.split('$')[1];
  for (const bad of [`hmac-sha256@1.0$${mac}`, `hmac-sha256@-1.1$${mac}`, `hmac-sha256@1.1.1$${mac}`, `hmac-sha256@9999999.9999999$${mac}`, `hmac-sha256@1.1$${mac}$x`, `hmac-sha256@$${mac}`, `hmac-sha2561.1$${mac}`, `hmac-sha256@1.1/2$${mac}`, `hmac-sha256@1.1/0$${mac}`, `hmac-sha256@1.1/$${mac}`, `scrypt-hmac@1.1$${mac}`]) {
    assert.equal(h.verifyClientSecret('x', bad, OWNER), false, bad);
    assert.equal(h.layer(bad, OWNER), null, bad);
    assert.equal(h.ahead(bad), false, bad);
  }
  assert.equal(await h.verifyPassword('x', `scrypt-hmac@2.1$32768$8$1$AAAA$${mac}`, OWNER), false);
  assert.equal(h.verifyClientSecret('x', good, OWNER), true);
});

test('a hash is bound to its row: copied into another one (another user, another secret of the same principal) it verifies nothing', async () => {
  const [p0, p1] = [randomBytes(32), randomBytes(32)];
  const g0 = createCredentialHasher(p0);
  const other = { objectId: OWNER.objectId, keyId: '5f0c7a9e-0000-4000-8000-000000000003' };
  const stranger = { objectId: '5f0c7a9e-0000-4000-8000-000000000009' };
  const secret = g0.hashClientSecret('mine', OWNER);
  assert.equal(g0.verifyClientSecret('mine', secret, OWNER), true);
  assert.equal(g0.verifyClientSecret('mine', secret, other), false);
  assert.equal(g0.verifyClientSecret('mine', secret, stranger), false);
  const password = await g0.hashPassword('my password', { objectId: OWNER.objectId });
  assert.equal(await g0.verifyPassword('my password', password, { objectId: OWNER.objectId }), true);
  assert.equal(await g0.verifyPassword('my password', password, stranger), false);
  // Owners that would read alike if joined naively do not.
  const slashed = g0.hashClientSecret('mine', { objectId: 'a/b', keyId: 'c' });
  assert.equal(g0.verifyClientSecret('mine', slashed, { objectId: 'a', keyId: 'b/c' }), false);
  assert.equal(g0.verifyClientSecret('mine', slashed, { objectId: 'a/b', keyId: 'c' }), true);
  // A hash from before binding verifies in any row until the next renewal, which binds it to the row it converts it in.
  const legacy = 'hmac-sha256$' + createHmac('sha256', p0).update('client-secret\0').update(createHash('sha256').update('old').digest()).digest('base64');
  assert.equal(g0.verifyClientSecret('old', legacy, stranger), true);
  const g1 = createCredentialHasher({ peppers: [p0, p1], converting: false });
  const layered = g1.layer(legacy, OWNER)!;
  assert.match(layered, /^hmac-sha256@0\.1\/1\$/);
  assert.equal(g1.verifyClientSecret('old', layered, OWNER), true);
  assert.equal(g1.verifyClientSecret('old', layered, stranger), false);
  assert.equal(g1.verifyClientSecret('old', g1.layer(legacy, stranger)!, OWNER), false);
  // Layering a bound hash keeps its binding from where it began.
  const bound1 = g1.layer(secret, OWNER)!;
  assert.match(bound1, /^hmac-sha256@0\.1\/0\$/);
  assert.equal(g1.verifyClientSecret('mine', bound1, OWNER), true);
  assert.equal(g1.verifyClientSecret('mine', bound1, other), false);
  // Relabelled as unbound (or bound from a later generation), it verifies nowhere.
  for (const relabelled of [bound1.replace('@0.1/0$', '@0.1$'), bound1.replace('@0.1/0$', '@0.1/1$')]) {
    for (const owner of [OWNER, other, stranger]) assert.equal(g1.verifyClientSecret('mine', relabelled, owner), false, relabelled);
  }
});

test("earlierTokenHashes: what tokenHash made under each earlier generation, newest first, at most as many as asked", () => {
  const [p0, p1, p2] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const at = (peppers: Buffer[]) => createCredentialHasher({ peppers, converting: false });
  const now = at([p0!, p1!, p2!]);
  const made = [at([p0!]), at([p0!, p1!])].map((h) => h.tokenHash('refresh-token', 'value'));
  assert.deepEqual(now.earlierTokenHashes('refresh-token', 'value', 5), [made[1], made[0]]);
  assert.deepEqual(now.earlierTokenHashes('refresh-token', 'value', 1), [made[1]]);
  assert.ok(!now.earlierTokenHashes('refresh-token', 'value', 5).includes(now.tokenHash('refresh-token', 'value')));
  assert.deepEqual(at([p0!]).earlierTokenHashes('refresh-token', 'value', 5), [], 'none before the first');
});
