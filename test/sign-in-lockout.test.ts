import assert from 'node:assert/strict';
import { MAX_PENDING_SIGN_INS_PER_NETWORK } from '../src/identity/sign-in-backlog.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createDirectoryService } from '../src/identity/directory-service.js';
import { createCredentialHasher } from '../src/identity/password-hash.js';
import { FAMILIAR_LIMIT, FAMILIAR_SECONDS } from '../src/identity/sign-in-familiar.js';
import { createSignInLockout, LOCKOUT, networkKey, SOURCE_LOCKOUT, sourceKey, type LockoutLimits } from '../src/identity/sign-in-lockout.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../src/storage/store-types.js';
import { memoryPrincipals } from './support/memory-principals.js';

// Smart lockout (src/identity/sign-in-lockout.ts): ten wrong passwords within
// ten minutes lock a user name for a minute, each failure after locks it
// again for twice as long; a right one clears the count.

// Over a real store (a temporary SQLite file): the counts live there.
const root = mkdtempSync(join(tmpdir(), 'coffer-lockout-'));
const stores: Store[] = [];
after(async () => {
  for (const s of stores) await s.close();
  rmSync(root, { recursive: true, force: true });
});
function freshStore(): Store {
  const store = openSqliteStore({ file: join(mkdtempSync(join(root, 'db-')), 'coffer.db') });
  stores.push(store);
  return store;
}

function withClock() {
  let t = 5_000_000;
  const store = freshStore();
  return { lockout: createSignInLockout(store.signInFailures, 'name:', () => t), store, advance: (s: number) => (t += s) };
}

test('the tenth failure within the window locks the name for a minute, whatever its case', async () => {
  const { lockout, advance } = withClock();
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) await lockout.failed('Alice@coffer.local');
  assert.equal(await lockout.locked('alice@coffer.local'), false);
  await lockout.failed(' ALICE@coffer.local ');
  assert.equal(await lockout.locked('alice@coffer.local'), true);
  assert.equal(await lockout.locked('bob@coffer.local'), false, 'other names are not affected');
  advance(LOCKOUT.lockSeconds - 1);
  assert.equal(await lockout.locked('alice@coffer.local'), true);
  advance(1);
  assert.equal(await lockout.locked('alice@coffer.local'), false);
});

test('after a lock, each failure locks the name again at once, twice as long each time up to an hour, until a right password or a quiet day', async () => {
  const { lockout, advance } = withClock();
  for (let i = 0; i < LOCKOUT.maxFailures; i++) await lockout.failed('ada@coffer.local');
  const lockLasts = async () => {
    let s = 0;
    while (await lockout.locked('ada@coffer.local')) {
      advance(30);
      s += 30;
    }
    return s;
  };
  assert.equal(await lockLasts(), 60);
  const lasted = [];
  for (let i = 0; i < 7; i++) {
    assert.ok(await lockout.attempt('ada@coffer.local'), 'checked once the lock has ended');
    lasted.push(await lockLasts());
  }
  assert.deepEqual(lasted, [120, 240, 480, 960, 1920, 3600, 3600]);
  // A right password, checked once the lock has ended, ends the run (its attempt's own lock with it): ten more failures before the next lock.
  const mine = await lockout.attempt('ada@coffer.local');
  assert.ok(mine);
  assert.equal(await lockout.locked('ada@coffer.local'), true, 'the attempt was counted before its password was checked');
  await lockout.succeeded('ada@coffer.local', mine);
  assert.equal(await lockout.locked('ada@coffer.local'), false);
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) await lockout.failed('ada@coffer.local');
  assert.equal(await lockout.locked('ada@coffer.local'), false);
  await lockout.failed('ada@coffer.local');
  assert.equal(await lockLasts(), 60);
  // A day without a counted failure ends it too.
  advance(LOCKOUT.runSeconds - 1);
  await lockout.failed('ada@coffer.local');
  assert.equal(await lockLasts(), 120, 'still in the run a second before the day is over');
  advance(LOCKOUT.runSeconds);
  await lockout.failed('ada@coffer.local');
  assert.equal(await lockout.locked('ada@coffer.local'), false);
});

test('failures spread over more than the window do not add up; a right password clears them', async () => {
  const { lockout, advance } = withClock();
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) await lockout.failed('carol@coffer.local');
  advance(LOCKOUT.windowSeconds);
  await lockout.failed('carol@coffer.local');
  assert.equal(await lockout.locked('carol@coffer.local'), false);
  for (let i = 0; i < LOCKOUT.maxFailures - 3; i++) await lockout.failed('carol@coffer.local');
  const mine = await lockout.attempt('carol@coffer.local');
  assert.ok(mine);
  await lockout.succeeded('carol@coffer.local', mine);
  await lockout.failed('carol@coffer.local');
  assert.equal(await lockout.locked('carol@coffer.local'), false);
});

test('failures requested together all count (store conformance tests it on PostgreSQL too); the sweep drops only counts whose window and lock have ended', async () => {
  const { lockout, store, advance } = withClock();
  await Promise.all(Array.from({ length: LOCKOUT.maxFailures }, () => lockout.failed('erin@coffer.local')));
  assert.equal(await lockout.locked('erin@coffer.local'), true);
  await lockout.failed('frank@coffer.local');
  assert.equal(await lockout.forgetEnded(), 0, 'both still live');
  advance(LOCKOUT.windowSeconds);
  assert.equal(await lockout.forgetEnded(), 1, "frank's window ended; erin's next window began when the lock ended");
  assert.notEqual(await store.signInFailures.get('name:erin@coffer.local'), null);
  assert.equal(await store.signInFailures.get('name:frank@coffer.local'), null);
});

// IP lockout: wrong passwords from one client address, whatever the names
// they were tried against, lock that address (src/identity/directory-service.ts).

const hasher = createCredentialHasher(randomBytes(32));

async function withDirectory(limits: Partial<LockoutLimits> = {}) {
  let t = 5_000_000;
  const failures = freshStore().signInFailures;
  const directory = createDirectoryService({ principals: memoryPrincipals(), hasher, failures, now: () => t, sourceLimits: { ...SOURCE_LOCKOUT, maxFailures: 3, ...limits } });
  await directory.createUser({ upn: 'dana@coffer.local', displayName: 'Dana', password: 'Dana password 1' });
  return { directory, failures, now: () => t, advance: (s: number) => (t += s) };
}

test('wrong passwords against many names from one address lock that address, not others; a right password does not clear it', async () => {
  const { directory, advance } = await withDirectory();
  const reason = async (name: string, password: string, source: string) => {
    const r = await directory.authenticateUser(name, password, source);
    return r.ok ? 'ok' : r.reason;
  };
  // A spray: one password, a different name each time, so no name's own count locks it.
  assert.equal(await reason('a1@coffer.local', 'Summer2026!', '203.0.113.9'), 'invalid');
  assert.equal(await reason('a2@coffer.local', 'Summer2026!', '203.0.113.9'), 'invalid');
  // A success from the same address does not clear its count either.
  assert.equal(await reason('dana@coffer.local', 'Dana password 1', '203.0.113.9'), 'ok');
  assert.equal(await reason('a3@coffer.local', 'Summer2026!', '::ffff:203.0.113.9'), 'invalid', 'an IPv4-mapped address is the same address');
  assert.equal(await reason('dana@coffer.local', 'Dana password 1', '203.0.113.9'), 'source-locked', 'refused without checking, even the right password');
  assert.equal(await reason('dana@coffer.local', 'Dana password 1', '198.51.100.7'), 'ok', 'another address signs in');
  assert.equal(await reason('dana@coffer.local', 'Dana password 1', '203.0.113.9'), 'source-locked', "another address's success does not unlock it");
  advance(SOURCE_LOCKOUT.lockSeconds - 1);
  assert.equal(await reason('dana@coffer.local', 'Dana password 1', '203.0.113.9'), 'source-locked');
  advance(1);
  assert.equal(await reason('dana@coffer.local', 'Dana password 1', '203.0.113.9'), 'ok');
});

test('a burst of parallel guesses from one address is checked one at a time, so no more than the limit are tried', async () => {
  const { directory } = await withDirectory({ maxFailures: 4 });
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => directory.authenticateUser(`b${i}@coffer.local`, 'guess', '2001:db8:1:2::7')));
  const reasons = results.map((r) => (r.ok ? 'ok' : r.reason));
  assert.equal(reasons.filter((r) => r === 'invalid').length, 4);
  assert.equal(reasons.filter((r) => r === 'source-locked').length, 8);
  const sameNetwork = await directory.authenticateUser('dana@coffer.local', 'Dana password 1', '2001:db8:1:2:aaaa::1');
  assert.equal(sameNetwork.ok ? 'ok' : sameNetwork.reason, 'source-locked', 'an IPv6 address counts by its /64');
});

test('addresses are counted by IPv4 address or IPv6 /64', () => {
  assert.equal(sourceKey('127.0.0.1'), '127.0.0.1');
  assert.equal(sourceKey('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  assert.equal(sourceKey('2001:DB8:0001:0002:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8:1:2::1.2.3.4'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8::'), '2001:db8:0:0::/64');
  assert.equal(sourceKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(networkKey(sourceKey('2001:DB8:0001:0002:3:4:5:6')), '2001:db8:1::/48');
  assert.equal(networkKey(sourceKey('::1')), '0:0:0::/48');
  assert.equal(networkKey(sourceKey('::ffff:203.0.113.9')), '203.0.113.0/24');
  assert.equal(networkKey('localhost'), 'localhost', 'anything else is its own network');
});

test('a name longer than any user name is refused without the per-name lockout keeping it', async () => {
  const { directory } = await withDirectory({ maxFailures: 1000 });
  const huge = `${'x'.repeat(200_000)}@coffer.local`;
  // Past the per-name limit (10): a kept name would be locked by now; this one is never kept.
  for (let i = 0; i < 11; i++) assert.deepEqual(await directory.authenticateUser(huge, 'guess', `198.51.100.${i}`), { ok: false, reason: 'invalid' });
  // A real name is still locked after its tenth failure.
  for (let i = 0; i < 10; i++) await directory.authenticateUser('dana@coffer.local', `wrong ${i}`, `198.51.100.${i}`);
  assert.deepEqual(await directory.authenticateUser('dana@coffer.local', 'wrong 10', '198.51.100.99'), { ok: false, reason: 'locked' });
});

test("guesses at one name sent together from many addresses get no more checks between them than the name's limit", async () => {
  const { directory } = await withDirectory({ maxFailures: 1000 });
  // Each from a network of its own: one network's sign-ins waiting at once are bounded (sign-in-backlog.ts).
  const results = await Promise.all(Array.from({ length: 25 }, (_, i) => directory.authenticateUser('dana@coffer.local', `guess ${i}`, `198.51.${i}.7`)));
  const reasons = results.map((r) => (r.ok ? 'ok' : r.reason));
  assert.equal(reasons.filter((r) => r === 'invalid').length, LOCKOUT.maxFailures, 'each attempt is counted before its password is checked');
  assert.equal(reasons.filter((r) => r === 'locked').length, 25 - LOCKOUT.maxFailures);
});

test("sign-ins waiting at once are bounded: past one network's share they are refused at once as busy, nothing counted", async () => {
  const { directory } = await withDirectory({ maxFailures: 1000 });
  // All sent in one turn of the event loop: each takes its place before any password is checked.
  const results = await Promise.all(Array.from({ length: MAX_PENDING_SIGN_INS_PER_NETWORK + 4 }, () => directory.authenticateUser('dana@coffer.local', 'Dana password 1', '198.51.100.7')));
  const reasons = results.map((r) => (r.ok ? 'ok' : r.reason));
  assert.equal(reasons.filter((r) => r === 'ok').length, MAX_PENDING_SIGN_INS_PER_NETWORK);
  assert.equal(reasons.filter((r) => r === 'busy').length, 4);
  assert.equal((await directory.authenticateUser('dana@coffer.local', 'Dana password 1', '198.51.100.8')).ok, true, 'places come back');
});

test('a right password clears the count its own attempt added, also as the attempt that reaches the limit', async () => {
  const { directory } = await withDirectory({ maxFailures: 1000 });
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) await directory.authenticateUser('dana@coffer.local', `wrong ${i}`, '198.51.100.1');
  assert.equal((await directory.authenticateUser('dana@coffer.local', 'Dana password 1', '198.51.100.1')).ok, true);
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) await directory.authenticateUser('dana@coffer.local', `wrong ${i}`, '198.51.100.1');
  assert.equal((await directory.authenticateUser('dana@coffer.local', 'Dana password 1', '198.51.100.1')).ok, true, 'the count started over');
});

test("one wrong password tried again is not counted again for the name (Entra ID remembers the last three), but is for the address", async () => {
  const { directory } = await withDirectory({ maxFailures: 1000 });
  const reason = async (password: string, source = '198.51.100.1') => {
    const r = await directory.authenticateUser('dana@coffer.local', password, source);
    return r.ok ? 'ok' : r.reason;
  };
  // A client retrying one stale password: counted once, never locks its user out.
  for (let i = 0; i < 3 * LOCKOUT.maxFailures; i++) assert.equal(await reason('stale password'), 'invalid', `try ${i}`);
  // Three remembered: cycling through three wrong ones counts each once.
  for (let i = 0; i < LOCKOUT.maxFailures; i++) assert.equal(await reason(['old 1', 'old 2', 'old 3'][i % 3]!), 'invalid');
  assert.equal(await reason('Dana password 1'), 'ok', '4 counted (stale, old 1-3), not locked');
  // Distinct wrong passwords are each counted: the tenth locks.
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) assert.equal(await reason(`guess ${i}`), 'invalid');
  assert.equal(await reason('guess 9'), 'invalid');
  assert.equal(await reason('Dana password 1'), 'locked');
  // A fourth password pushes the first out of the three remembered, so that one counts again.
  const fresh = await withDirectory({ maxFailures: 1000 });
  const tries = ['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd', 'a', 'b'];
  const reasons = [];
  for (const p of tries) reasons.push(await fresh.directory.authenticateUser('dana@coffer.local', `pw ${p}`, '198.51.100.2').then((r) => (r.ok ? 'ok' : r.reason)));
  assert.deepEqual(reasons, Array(10).fill('invalid'));
  assert.deepEqual(await fresh.directory.authenticateUser('dana@coffer.local', 'Dana password 1', '198.51.100.2'), { ok: false, reason: 'locked' }, 'ten counted');
});

test("repeats still count for the address: a stale password hammered from one address locks that address", async () => {
  const { directory } = await withDirectory({ maxFailures: 3 });
  for (let i = 0; i < 3; i++) assert.deepEqual(await directory.authenticateUser('dana@coffer.local', 'stale', '203.0.113.50'), { ok: false, reason: 'invalid' });
  assert.deepEqual(await directory.authenticateUser('dana@coffer.local', 'Dana password 1', '203.0.113.50'), { ok: false, reason: 'source-locked' });
  assert.equal((await directory.authenticateUser('dana@coffer.local', 'Dana password 1', '203.0.113.51')).ok, true, 'the name itself is not locked');
});

test("a right password does not lift a lock that others' guesses set while it was checked", async () => {
  const { lockout } = withClock();
  const mine = await lockout.attempt('erin@coffer.local');
  assert.ok(mine);
  // While the real user's password is checked, guesses from elsewhere reach the limit.
  for (let i = 1; i < LOCKOUT.maxFailures; i++) assert.ok(await lockout.attempt('erin@coffer.local'));
  assert.equal(await lockout.locked('erin@coffer.local'), true);
  await lockout.succeeded('erin@coffer.local', mine);
  assert.equal(await lockout.locked('erin@coffer.local'), true, 'the lock stands');
  assert.equal(await lockout.attempt('erin@coffer.local'), null, 'and nothing more is counted or checked');
  // Without a lock, a right password clears the whole count, others' failures included (Entra ID's rule).
  const { lockout: other } = withClock();
  for (let i = 0; i < 5; i++) await other.failed('fay@coffer.local');
  const hers = await other.attempt('fay@coffer.local');
  for (let i = 0; i < 3; i++) await other.failed('fay@coffer.local');
  await other.succeeded('fay@coffer.local', hers!);
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) await other.failed('fay@coffer.local');
  assert.equal(await other.locked('fay@coffer.local'), false, 'the count started over');
});

test('a lockout count that cannot be read or written fails the sign-in closed, and a failure still counts where it can', async () => {
  const store = freshStore();
  const away = new Error('database away');
  const reads = { ...store.signInFailures, get: () => Promise.reject(away) };
  const unreadable = createDirectoryService({ principals: memoryPrincipals(), hasher, failures: reads });
  await unreadable.createUser({ upn: 'ivy@coffer.local', displayName: 'Ivy', password: 'Ivy password 1' });
  await assert.rejects(unreadable.authenticateUser('ivy@coffer.local', 'Ivy password 1', '192.0.2.1'), /database away/, 'not let in unchecked');

  // The name's attempt cannot be counted: the sign-in fails before the password is checked, so there is
  // no failure for the address to count.
  const names = { ...store.signInFailures, change: (key: string, fn: Parameters<typeof store.signInFailures.change>[1]) => (key.startsWith('name:') ? Promise.reject(away) : store.signInFailures.change(key, fn)) };
  const nameUnwritable = createDirectoryService({ principals: memoryPrincipals(), hasher, failures: names });
  await nameUnwritable.createUser({ upn: 'jo@coffer.local', displayName: 'Jo', password: 'Jo password 1' });
  await assert.rejects(nameUnwritable.authenticateUser('jo@coffer.local', 'Jo password 1', '192.0.2.2'), /database away/, 'not let in uncounted');
  assert.equal(await store.signInFailures.get('source:192.0.2.2'), null);

  // The address's count cannot be written: a wrong password fails with the error, its name's attempt counted.
  const sources = { ...store.signInFailures, change: (key: string, fn: Parameters<typeof store.signInFailures.change>[1]) => (key.startsWith('source:') ? Promise.reject(away) : store.signInFailures.change(key, fn)) };
  const sourceUnwritable = createDirectoryService({ principals: memoryPrincipals(), hasher, failures: sources });
  await assert.rejects(sourceUnwritable.authenticateUser('kim@coffer.local', 'guess', '192.0.2.3'), /database away/);
  assert.equal((await store.signInFailures.get('name:kim@coffer.local'))?.count, 1);
});

/** Dana's sign-in from `source`: 'ok' or why not. */
async function danaFrom(directory: Awaited<ReturnType<typeof withDirectory>>['directory'], source: string, password = 'Dana password 1') {
  const r = await directory.authenticateUser('dana@coffer.local', password, source);
  return r.ok ? 'ok' : r.reason;
}

test("guessers elsewhere lock a name only where its user has not signed in: familiar networks keep their own count (Entra ID's smart lockout)", async () => {
  const { directory, advance } = await withDirectory({ maxFailures: 1000 });
  assert.equal(await danaFrom(directory, '198.51.100.7'), 'ok', 'her office network becomes familiar');
  // Ten guesses from addresses she never signed in from lock the name there.
  for (let i = 0; i < LOCKOUT.maxFailures; i++) assert.equal(await danaFrom(directory, `203.0.113.${i}`, `guess ${i}`), 'invalid');
  assert.equal(await danaFrom(directory, '203.0.113.99'), 'locked');
  assert.equal(await danaFrom(directory, '192.0.2.1'), 'locked', 'every unfamiliar network shares the one count');
  assert.equal(await danaFrom(directory, '198.51.100.8'), 'ok', 'her own /24 is not locked out');
  // Wrong passwords from a familiar network count on its own count, which locks as the other does.
  for (let i = 0; i < LOCKOUT.maxFailures; i++) assert.equal(await danaFrom(directory, '198.51.100.7', `typo ${i}`), 'invalid');
  assert.equal(await danaFrom(directory, '198.51.100.7'), 'locked');
  advance(LOCKOUT.lockSeconds);
  assert.equal(await danaFrom(directory, '198.51.100.7'), 'ok');
  assert.equal(await danaFrom(directory, '203.0.113.99'), 'ok', 'the unfamiliar lock ended too');
  // An IPv6 network is its /48.
  assert.equal(await danaFrom(directory, '2001:db8:aa:1::5'), 'ok');
  for (let i = 0; i < LOCKOUT.maxFailures; i++) await danaFrom(directory, `2001:db8:bb::${i}`, `guess ${i}`);
  assert.equal(await danaFrom(directory, '2001:db8:aa:ffff::9'), 'ok');
  assert.equal(await danaFrom(directory, '2001:db8:bb::99'), 'locked');
});

test('only a right password makes a network familiar, for 30 days after the last sign-in there; the sweep then forgets it', async () => {
  const { directory, failures, now, advance } = await withDirectory({ maxFailures: 1000 });
  const row = () => failures.get('familiar:dana@coffer.local');
  const lockElsewhere = async () => {
    for (let i = 0; i < LOCKOUT.maxFailures; i++) await danaFrom(directory, `203.0.113.${i}`, `guess ${i}`);
  };
  // Wrong passwords, and an unknown name's attempts, make no network familiar.
  await danaFrom(directory, '198.51.100.7', 'wrong');
  await directory.authenticateUser('nobody@coffer.local', 'guess', '198.51.100.7');
  assert.equal(await row(), null);
  assert.equal(await failures.get('familiar:nobody@coffer.local'), null);
  const first = now();
  assert.equal(await danaFrom(directory, '198.51.100.7'), 'ok');
  assert.deepEqual(await row(), { count: 0, firstAt: first, lockedUntil: 0, locks: 0, recent: [`198.51.100.0/24@${first}`] });
  // Sign-ins within a day of the stored one leave it as it is (one write a day); a later one moves it.
  advance(3600);
  assert.equal(await danaFrom(directory, '198.51.100.7'), 'ok');
  assert.equal((await row())?.firstAt, first);
  advance(24 * 3600);
  assert.equal(await danaFrom(directory, '198.51.100.7'), 'ok');
  const last = now();
  assert.deepEqual((await row())?.recent, [`198.51.100.0/24@${last}`]);
  // Familiar until 30 days after that sign-in; the sweep keeps it meanwhile.
  advance(FAMILIAR_SECONDS - 1);
  await directory.forgetEndedLockouts();
  assert.notEqual(await row(), null, 'the sweep keeps a name signed in from within 30 days');
  await lockElsewhere();
  assert.equal(await danaFrom(directory, '198.51.100.9'), 'ok', 'still familiar');
  advance(FAMILIAR_SECONDS);
  await lockElsewhere();
  assert.equal(await danaFrom(directory, '198.51.100.9'), 'locked', 'familiar no longer: the unfamiliar count applies');
  assert.ok((await directory.forgetEndedLockouts()) >= 1);
  assert.equal(await row(), null, 'the sweep dropped it');
});

test('a name keeps its ten latest networks; a new password or the deletion of the user forgets them all', async () => {
  const { directory, failures, advance } = await withDirectory({ maxFailures: 1000 });
  const networks = async () => (await failures.get('familiar:dana@coffer.local'))?.recent.map((v) => v.split('@')[0]) ?? [];
  for (let i = 1; i <= FAMILIAR_LIMIT + 1; i++) {
    assert.equal(await danaFrom(directory, `10.0.${i}.1`), 'ok');
    advance(60);
  }
  assert.deepEqual(await networks(), Array.from({ length: FAMILIAR_LIMIT }, (_, k) => `10.0.${FAMILIAR_LIMIT + 1 - k}.0/24`), 'newest first, the oldest dropped');
  const dana = (await directory.getByUpn('dana@coffer.local'))!;
  await directory.setUserPassword(dana.objectId, 'Dana password 2');
  assert.deepEqual(await networks(), [], 'whoever knew the old password keeps no familiar network');
  assert.equal(await danaFrom(directory, '10.0.5.1', 'Dana password 2'), 'ok');
  assert.deepEqual(await networks(), ['10.0.5.0/24']);
  assert.equal(await directory.delete(dana.objectId), true);
  assert.equal(await failures.get('familiar:dana@coffer.local'), null, 'a user given the name later inherits none');
});
