import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDeviceCodes, MAX_PENDING_PER_NETWORK, MAX_PENDING_PER_SOURCE } from '../src/identity/device-code.js';
import { sourceKey } from '../src/identity/sign-in-lockout.js';

// Pending device sign-ins (src/identity/device-code.ts): whatever way a code
// ends, nothing of it stays in memory, and no one source can take every slot.

const CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
const SCOPE = 'https://vault.azure.net/.default';

function withClock() {
  let t = 1_000_000;
  const codes = createDeviceCodes('https://coffer.test/devicelogin', () => t);
  return { codes, advance: (s: number) => (t += s) };
}

const errorOf = (run: () => unknown): string => {
  try {
    run();
  } catch (err) {
    return (err as { error?: string }).error ?? String(err);
  }
  return 'no error';
};

test('a code redeemed, or polled after it expired, leaves nothing behind', () => {
  const { codes, advance } = withClock();
  const approved = codes.start(CLI, SCOPE, '10.0.0.1');
  assert.equal(codes.approve(approved.user_code, 'user-1'), true);
  assert.deepEqual(codes.redeem(approved.device_code, CLI), { objectId: 'user-1', scope: SCOPE });

  const expired = codes.start(CLI, SCOPE, '10.0.0.1');
  advance(901);
  assert.equal(errorOf(() => codes.redeem(expired.device_code, CLI)), 'expired_token');
  assert.equal(codes.approve(expired.user_code, 'user-1'), false, 'its user code went with it');
  assert.deepEqual(codes.size(), { devices: 0, userCodes: 0, sources: 0, networks: 0 });

  codes.start(CLI, SCOPE, '10.0.0.2');
  advance(901);
  codes.start(CLI, SCOPE, '10.0.0.3'); // starting prunes the expired one
  assert.deepEqual(codes.size(), { devices: 1, userCodes: 1, sources: 1, networks: 1 });
});

test('one source holds at most a few pending sign-ins; others are not locked out', () => {
  const { codes, advance } = withClock();
  const mine = Array.from({ length: MAX_PENDING_PER_SOURCE }, () => codes.start(CLI, SCOPE, '203.0.113.9'));
  assert.equal(errorOf(() => codes.start(CLI, SCOPE, '203.0.113.9')), 'invalid_request');
  assert.ok(codes.start(CLI, SCOPE, '198.51.100.7').user_code, 'another source still can');
  // A finished sign-in frees its slot.
  assert.equal(codes.approve(mine[0]!.user_code, 'user-1'), true);
  codes.redeem(mine[0]!.device_code, CLI);
  assert.ok(codes.start(CLI, SCOPE, '203.0.113.9').user_code);
  assert.equal(errorOf(() => codes.start(CLI, SCOPE, '203.0.113.9')), 'invalid_request');
  // So do expired ones.
  advance(901);
  assert.ok(codes.start(CLI, SCOPE, '203.0.113.9').user_code);
});

test('one network (an IPv6 /48, an IPv4 /24) holds at most a bounded share, however many sources it has', () => {
  const { codes, advance } = withClock();
  const perNetworkSources = MAX_PENDING_PER_NETWORK / MAX_PENDING_PER_SOURCE;
  const fill = (address: (i: number) => string) => {
    for (let i = 0; i < perNetworkSources; i++) {
      for (let j = 0; j < MAX_PENDING_PER_SOURCE; j++) codes.start(CLI, SCOPE, sourceKey(address(i)));
    }
  };
  // Ten /64s of one /48 take the network's share; an eleventh /64 of it is refused.
  fill((i) => `2001:db8:aa:${i.toString(16)}::1`);
  assert.equal(errorOf(() => codes.start(CLI, SCOPE, sourceKey('2001:db8:aa:ff::1'))), 'invalid_request');
  assert.ok(codes.start(CLI, SCOPE, sourceKey('2001:db8:ab:0::1')).user_code, 'the next /48 still can');
  // The same for IPv4 /24s (also as a dual-stack socket writes them).
  fill((i) => `::ffff:198.51.100.${i + 1}`);
  assert.equal(errorOf(() => codes.start(CLI, SCOPE, sourceKey('198.51.100.200'))), 'invalid_request');
  assert.ok(codes.start(CLI, SCOPE, sourceKey('198.51.101.1')).user_code);
  assert.equal(codes.size().networks, 4);
  advance(901);
  assert.ok(codes.start(CLI, SCOPE, sourceKey('2001:db8:aa:ff::1')).user_code, 'expired sign-ins free the network');
  assert.deepEqual(codes.size(), { devices: 1, userCodes: 1, sources: 1, networks: 1 });
});

test('a device code is redeemed only by the client it was started for, and only once', () => {
  const { codes } = withClock();
  const started = codes.start(CLI, SCOPE, '10.0.0.1');
  assert.equal(errorOf(() => codes.redeem(started.device_code, CLI)), 'authorization_pending');
  codes.approve(started.user_code.toLowerCase(), 'user-1');
  assert.equal(errorOf(() => codes.redeem(started.device_code, 'c0ffee00-0000-4000-8000-0000000000c1')), 'invalid_grant');
  codes.redeem(started.device_code, CLI);
  assert.equal(errorOf(() => codes.redeem(started.device_code, CLI)), 'invalid_grant');
});
