import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IntegrityError, open, seal, secretAad } from '../src/crypto/envelope.js';
import { addPrimaryToFile, createKeyring, keyIdOf, loadKeyring, parseMasterKey, retainOnlyInFile } from '../src/crypto/keyring.js';
import { createVaultKeys } from '../src/crypto/vault-keys.js';
import { randomBytes } from 'node:crypto';

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
    const keys = createVaultKeys(createKeyring(oldKey));
    const created = keys.create('vault-1');
    const dek = keys.dataKey({ id: 'vault-1', ...created });
    const fresh = createVaultKeys(createKeyring(randomBytes(32), [oldKey]));
    assert.ok(fresh.dataKey({ id: 'vault-1', ...created }).equals(dek));
    assert.throws(() => createVaultKeys(createKeyring(oldKey)).dataKey({ id: 'vault-2', ...created }), IntegrityError);
  });
});
