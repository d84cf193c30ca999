import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IntegrityError, open, seal, sealedGeneration, secretAad } from '../src/crypto/envelope.js';
import { addPrimaryToFile, createKeyring, keyIdOf, loadKeyring, parseMasterKey, retainOnlyInFile } from '../src/crypto/keyring.js';
import { createVaultKeys, type SealingKey } from '../src/crypto/vault-keys.js';
import { randomBytes } from 'node:crypto';

/** A key that needs no store read (the tests below never give a renewed vault's older row). */
function current(found: SealingKey | Promise<SealingKey>): SealingKey {
  assert.ok(!(found instanceof Promise), 'the key is at hand');
  return found;
}

describe('envelope encryption', () => {
  const key = randomBytes(32);

  it('round-trips and never stores the plaintext', () => {
    const sealed = seal(key, Buffer.from('hunter2'), secretAad('v1', 'db', 'a'.repeat(32)));
    assert.ok(!sealed.includes(Buffer.from('hunter2')));
    assert.equal(open(key, sealed, secretAad('v1', 'db', 'a'.repeat(32))).toString(), 'hunter2');
  });

  it('refuses data moved to another vault, name or version', () => {
    const sealed = seal(key, Buffer.from('x'), secretAad('v1', 'db', 'a'.repeat(32)));
    for (const aad of [secretAad('v2', 'db', 'a'.repeat(32)), secretAad('v1', 'dc', 'a'.repeat(32)), secretAad('v1', 'db', 'b'.repeat(32))]) {
      assert.throws(() => open(key, sealed, aad), IntegrityError);
    }
  });

  it('writes a renewed key generation into the header; an altered generation or format does not open', () => {
    const aad = secretAad('v1', 'db', 'a'.repeat(32));
    const first = seal(key, Buffer.from('x'), aad);
    assert.equal(first[0], 1, 'generation 0 keeps the original format');
    assert.equal(sealedGeneration(first), 0);
    const renewed = seal(key, Buffer.from('hunter2'), aad, 70_000);
    assert.equal(renewed[0], 2);
    assert.equal(sealedGeneration(renewed), 70_000);
    assert.equal(open(key, renewed, aad).toString(), 'hunter2');
    const moved = Buffer.from(renewed);
    moved.writeUInt32BE(3, 1);
    assert.equal(sealedGeneration(moved), 3, 'the generation only chooses the key to try');
    assert.equal(open(key, moved, aad).toString(), 'hunter2', 'with the same key it still opens: the key, not the header, is what authenticates');
    const asFirstFormat = Buffer.from(renewed);
    asFirstFormat[0] = 1;
    assert.throws(() => open(key, asFirstFormat, aad), IntegrityError);
    for (const bad of [Buffer.from([3, ...renewed.subarray(1)]), renewed.subarray(0, 5 + 27), Buffer.alloc(0)]) {
      assert.throws(() => sealedGeneration(bad), IntegrityError);
      assert.throws(() => open(key, bad, aad), IntegrityError);
    }
    assert.throws(() => seal(key, Buffer.from('x'), aad, -1), RangeError);
    assert.throws(() => seal(key, Buffer.from('x'), aad, 2 ** 32), RangeError);
  });

  it('refuses a flipped bit, a truncated blob and the wrong key', () => {
    const aad = 'a';
    const sealed = seal(key, Buffer.from('payload'), aad);
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    assert.throws(() => open(key, flipped, aad), IntegrityError);
    assert.throws(() => open(key, sealed.subarray(0, 10), aad), IntegrityError);
    assert.throws(() => open(randomBytes(32), sealed, aad), IntegrityError);
  });
});

describe('master keyring', () => {
  it('creates a 0600 key file on first load and reads the same key back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-keyring-'));
    const file = join(dir, 'master.key');
    const first = loadKeyring({ file });
    assert.equal(first.created, true);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const second = loadKeyring({ file });
    assert.equal(second.created, false);
    assert.equal(second.keyring.primaryId, first.keyring.primaryId);
    chmodSync(file, 0o644);
    loadKeyring({ file });
    assert.equal(statSync(file).mode & 0o777, 0o600, 'a loosened key file is made private again');
  });

  it('takes a key from the environment in hex or base64 and rejects a short one', () => {
    const k = randomBytes(32);
    assert.equal(loadKeyring({ file: '/nonexistent', masterKey: k.toString('hex') }).keyring.primaryId, keyIdOf(k));
    assert.equal(loadKeyring({ file: '/nonexistent', masterKey: k.toString('base64') }).keyring.primaryId, keyIdOf(k));
    assert.throws(() => parseMasterKey('abcd', 'test'), /32 bytes/);
    assert.equal(parseMasterKey(k.toString('base64url'), 'test').equals(k), true);
    // Node's lenient base64 would take these: text that only decodes to 32 bytes by skipping characters, and a key of one repeated byte.
    assert.throws(() => parseMasterKey('password password password password password pas', 'test'), /32 bytes/);
    assert.throws(() => parseMasterKey('passwordpasswordpasswordpasswordpasswordpas!', 'test'), /32 bytes/);
    // Valid base64 or hex of 32 bytes, but not random.
    assert.throws(() => parseMasterKey('passwordpasswordpasswordpasswordpasswordpas', 'test'), /does not look random/);
    assert.throws(() => parseMasterKey('0'.repeat(64), 'test'), /does not look random/);
  });

  it('wraps under the primary and unwraps with older keys during a rotation', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = createKeyring(oldKey);
    const wrapped = before.wrap(Buffer.from('dek'), 'aad');
    const during = createKeyring(newKey, [oldKey]);
    assert.equal(during.unwrap(wrapped.keyId, wrapped.sealed, 'aad').toString(), 'dek');
    assert.equal(during.wrap(Buffer.from('x'), 'aad').keyId, keyIdOf(newKey));
    assert.throws(() => createKeyring(newKey).unwrap(wrapped.keyId, wrapped.sealed, 'aad'), /not in the keyring/);
  });

  it('file rotation adds a primary, then drops what is no longer needed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-keyring-'));
    const file = join(dir, 'master.key');
    const original = loadKeyring({ file }).keyring;
    const both = addPrimaryToFile(file);
    assert.notEqual(both.primaryId, original.primaryId);
    assert.ok(both.has(original.primaryId));
    retainOnlyInFile(file, []);
    const after = loadKeyring({ file }).keyring;
    assert.equal(after.primaryId, both.primaryId);
    assert.deepEqual(after.ids(), [both.primaryId]);
    assert.ok(!readFileSync(file, 'utf8').includes(original.primaryId));
  });

  it('vault data keys unwrap after the keyring changes', () => {
    const oldKey = randomBytes(32);
    const noStore = { getById: async () => null, earlierKey: async () => null };
    const keys = createVaultKeys(createKeyring(oldKey), noStore);
    const created = keys.create('vault-1');
    const sealed = seal(current(keys.sealingKey({ id: 'vault-1', ...created })).key, Buffer.from('v'), 'aad');
    const fresh = createVaultKeys(createKeyring(randomBytes(32), [oldKey]), noStore);
    assert.equal(open(current(fresh.sealingKey({ id: 'vault-1', ...created })).key, sealed, 'aad').toString(), 'v');
    assert.throws(() => createVaultKeys(createKeyring(oldKey), noStore).sealingKey({ id: 'vault-2', ...created }), IntegrityError);
  });
});

