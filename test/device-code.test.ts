import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { createDeviceCodes, MAX_PENDING_PER_NETWORK, MAX_PENDING_PER_SOURCE } from '../src/identity/device-code.js';
import { sourceKey } from '../src/identity/sign-in-lockout.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { createCredentialHasher } from '../src/identity/password-hash.js';

const hasher = createCredentialHasher(randomBytes(32));

// Pending device sign-ins (src/identity/device-code.ts, over the store's
// signInCodes): whatever way a code ends, nothing of it stays in the store,
// and no one source can take every slot.

const CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
const SCOPE = 'https://vault.azure.net/.default';

const root = mkdtempSync(join(tmpdir(), 'coffer-device-code-'));
const stores: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const s of stores) await s.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function withClock() {
  let t = 1_000_000;
  const file = join(mkdtempSync(join(root, `db${n++}-`)), 'coffer.db');
  const store = openSqliteStore({ file });
  stores.push(store);
  const keyed = { hash: (c: string) => hasher.tokenHash('device-code', c), approval: (u: string, o: string) => hasher.tokenHash('device-approval', `${u}\u0000${o}`),
    confirmation: (u: string, c: string, o: string) => hasher.tokenHash('device-confirmation', `${u}\u0000${c}\u0000${o}`),
  };
  const codes = createDeviceCodes(store.signInCodes, 'https://coffer.test/devicelogin', keyed, () => t);
  /** What the table holds (the store must not keep what ended or expired). */
  const size = () => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare<[], { devices: number; userCodes: number; sources: number; networks: number }>(
        'SELECT count(*) AS devices, count(DISTINCT user_code) AS userCodes, count(DISTINCT source) AS sources, count(DISTINCT network) AS networks FROM device_codes',
      ).get();
    } finally {
      db.close();
    }
  };
  /** Runs SQL on the database, as someone who can write it (but holds no key) would. */
  const edit = (sql: string, ...args: unknown[]) => {
    const db = new Database(file);
    try {
      db.prepare(sql).run(...args);
    } finally {
      db.close();
    }
  };
  return { codes, size, edit, advance: (s: number) => (t += s) };
}

const errorOf = async (run: () => Promise<unknown>): Promise<string> => {
  try {
    await run();
  } catch (err) {
    const e = err as { error?: string; message?: string };
    return e.error === 'invalid_grant' ? `invalid_grant: ${e.message}` : (e.error ?? String(err));
  }
  return 'no error';
};
const NOT_HELD = "invalid_grant: AADSTS7000014: The provided value for the input parameter 'device_code' is not valid.";

test('a code redeemed, or polled after it expired, leaves nothing behind', async () => {
  const { codes, size, advance } = withClock();
  const approved = await codes.start(CLI, SCOPE, '10.0.0.1');
  assert.equal(await codes.approve(approved.user_code, 'user-1', 0), true);
  assert.deepEqual(await codes.redeem(approved.device_code, CLI), { objectId: 'user-1', scope: SCOPE, passwordGeneration: 0 });

  const expired = await codes.start(CLI, SCOPE, '10.0.0.1');
  advance(901);
  assert.equal(await errorOf(() => codes.redeem(expired.device_code, CLI)), 'expired_token');
  assert.equal(await codes.approve(expired.user_code, 'user-1', 0), false, 'its user code went with it');
  assert.deepEqual(size(), { devices: 0, userCodes: 0, sources: 0, networks: 0 });

  await codes.start(CLI, SCOPE, '10.0.0.2');
  advance(901);
  await codes.start(CLI, SCOPE, '10.0.0.3'); // starting prunes the expired one
  assert.deepEqual(size(), { devices: 1, userCodes: 1, sources: 1, networks: 1 });
});

test('an approval written into the database, or moved from another sign-in, redeems nothing', async () => {
  const { codes, edit } = withClock();
  // Approved by nobody: the writer marks it approved by the user they want to be.
  const mine = await codes.start(CLI, SCOPE, '10.0.0.1');
  assert.match(mine.device_code, new RegExp(`^dc1\\.${mine.user_code}\\.[A-Za-z0-9_-]{43}$`), 'the device code names its user code');
  edit('UPDATE device_codes SET approved_by = ? WHERE user_code = ?', 'admin', mine.user_code);
  assert.equal(await errorOf(() => codes.redeem(mine.device_code, CLI)), NOT_HELD);
  // Someone's real approval copied onto the writer's sign-in: it names the other user code.
  const theirs = await codes.start(CLI, SCOPE, '10.0.0.2');
  const writers = await codes.start(CLI, SCOPE, '10.0.0.3');
  assert.equal(await codes.approve(theirs.user_code, 'admin', 0), true);
  edit('UPDATE device_codes SET approved_by = (SELECT approved_by FROM device_codes WHERE user_code = ?) WHERE user_code = ?', theirs.user_code, writers.user_code);
  assert.equal(await errorOf(() => codes.redeem(writers.device_code, CLI)), NOT_HELD);
  // Or the approved sign-in's user code given to the writer's row (after removing the original): the code names another.
  const again = await codes.start(CLI, SCOPE, '10.0.0.4');
  const victim = await codes.start(CLI, SCOPE, '10.0.0.5');
  assert.equal(await codes.approve(victim.user_code, 'admin', 0), true);
  edit('UPDATE device_codes SET user_code = ? WHERE user_code = ?', 'GONEGONEX', victim.user_code);
  edit('UPDATE device_codes SET user_code = ?, approved_by = (SELECT approved_by FROM device_codes WHERE user_code = ?) WHERE user_code = ?', victim.user_code, 'GONEGONEX', again.user_code);
  assert.equal(await errorOf(() => codes.redeem(again.device_code, CLI)), NOT_HELD);
  // Or an approval made with the password before a reset given the generation after it: its MAC covers the generation.
  const stale = await codes.start(CLI, SCOPE, '10.0.0.7');
  assert.equal(await codes.approve(stale.user_code, 'user-9', 4), true);
  edit("UPDATE device_codes SET approved_by = replace(approved_by, 'user-9.4.', 'user-9.5.') WHERE user_code = ?", stale.user_code);
  assert.equal(await errorOf(() => codes.redeem(stale.device_code, CLI)), NOT_HELD);
  // Untouched, the real approval redeems, in any case the person typed the user code.
  const fine = await codes.start(CLI, SCOPE, '10.0.0.6');
  assert.equal(await codes.approve(fine.user_code.toLowerCase(), 'user-9', 0), true);
  assert.deepEqual(await codes.redeem(fine.device_code, CLI), { objectId: 'user-9', scope: SCOPE, passwordGeneration: 0 });
  // A device code of another format is not one this server holds.
  assert.equal(await errorOf(() => codes.redeem('x'.repeat(43), CLI)), NOT_HELD);
});

test('one source holds at most a few pending sign-ins; others are not locked out', async () => {
  const { codes, advance } = withClock();
  const mine = await Promise.all(Array.from({ length: MAX_PENDING_PER_SOURCE }, () => codes.start(CLI, SCOPE, '203.0.113.9')));
  assert.equal(await errorOf(() => codes.start(CLI, SCOPE, '203.0.113.9')), 'invalid_request');
  assert.ok((await codes.start(CLI, SCOPE, '198.51.100.7')).user_code, 'another source still can');
  // A finished sign-in frees its slot.
  assert.equal(await codes.approve(mine[0]!.user_code, 'user-1', 0), true);
  await codes.redeem(mine[0]!.device_code, CLI);
  assert.ok((await codes.start(CLI, SCOPE, '203.0.113.9')).user_code);
  assert.equal(await errorOf(() => codes.start(CLI, SCOPE, '203.0.113.9')), 'invalid_request');
  // So do expired ones.
  advance(901);
  assert.ok((await codes.start(CLI, SCOPE, '203.0.113.9')).user_code);
});

test('one network (an IPv6 /48, an IPv4 /24) holds at most a bounded share, however many sources it has', async () => {
  const { codes, size, advance } = withClock();
  const perNetworkSources = MAX_PENDING_PER_NETWORK / MAX_PENDING_PER_SOURCE;
  const fill = async (address: (i: number) => string) => {
    for (let i = 0; i < perNetworkSources; i++) {
      for (let j = 0; j < MAX_PENDING_PER_SOURCE; j++) await codes.start(CLI, SCOPE, sourceKey(address(i)));
    }
  };
  // Ten /64s of one /48 take the network's share; an eleventh /64 of it is refused.
  await fill((i) => `2001:db8:aa:${i.toString(16)}::1`);
  assert.equal(await errorOf(() => codes.start(CLI, SCOPE, sourceKey('2001:db8:aa:ff::1'))), 'invalid_request');
  assert.ok((await codes.start(CLI, SCOPE, sourceKey('2001:db8:ab:0::1'))).user_code, 'the next /48 still can');
  // The same for IPv4 /24s (also as a dual-stack socket writes them).
  await fill((i) => `::ffff:198.51.100.${i + 1}`);
  assert.equal(await errorOf(() => codes.start(CLI, SCOPE, sourceKey('198.51.100.200'))), 'invalid_request');
  assert.ok((await codes.start(CLI, SCOPE, sourceKey('198.51.101.1'))).user_code);
  assert.equal(size()?.networks, 4);
  advance(901);
  assert.ok((await codes.start(CLI, SCOPE, sourceKey('2001:db8:aa:ff::1'))).user_code, 'expired sign-ins free the network');
  assert.deepEqual(size(), { devices: 1, userCodes: 1, sources: 1, networks: 1 });
});

test('a device code is redeemed only by the client it was started for, and only once', async () => {
  const { codes } = withClock();
  const started = await codes.start(CLI, SCOPE, '10.0.0.1');
  assert.equal(await errorOf(() => codes.redeem(started.device_code, CLI)), 'authorization_pending');
  await codes.approve(started.user_code.toLowerCase(), 'user-1', 0);
  assert.equal(await errorOf(() => codes.redeem(started.device_code, 'c0ffee00-0000-4000-8000-0000000000c1')), NOT_HELD, 'not "expired": it is not');
  await codes.redeem(started.device_code, CLI);
  assert.equal(await errorOf(() => codes.redeem(started.device_code, CLI)), NOT_HELD);
});
