import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REFRESH_TOKENS_PER_USER_AND_CLIENT, USED_REFRESH_TOKEN_KEPT_SECONDS, type AuthCodeRow, type DeviceCodeRow, type RefreshTokenRow, type Store } from '../../src/storage/store-types.js';
import { randomUUID } from 'node:crypto';
import { auditRecord, hex32, isConflict, principal } from './store-conformance-kit.js';

// Sign-ins in progress (device codes, authorization codes): single use under
// concurrency, expiry, the caps counted in the store, user codes matched
// case-insensitively; and what a sign-in leaves (refresh tokens, their families).

const NOW = 1_000_000;
const LIMITS = { total: 100, perSource: 3, perNetwork: 5 };

let seq = 0;
const userCode = () => `BCDFG${String(seq++).padStart(4, '0')}`;

function device(over: Partial<DeviceCodeRow> = {}): DeviceCodeRow {
  return { deviceCodeHash: hex32(), userCode: userCode(), clientId: 'cli', scope: 'https://vault.localhost/.default', source: '10.0.0.1', network: '10.0.0', expiresAt: NOW + 900, approvedBy: null, ...over };
}

function authCode(over: Partial<AuthCodeRow> = {}): AuthCodeRow {
  return { codeHash: hex32(), objectId: 'user-1', clientId: 'app', redirectUri: 'http://127.0.0.1/cb', scope: 'openid', challenge: 'c'.repeat(43), nonce: null, source: '10.0.0.1', expiresAt: NOW + 300, passwordGeneration: 0, ...over };
}

export function describeSignInCodeConformance(h: { store(): Store }): void {
  describe('sign-in codes: device codes', () => {
    it('approves by user code case-insensitively; a poll takes the sign-in once it ended, for its own client only', async () => {
      const codes = h.store().signInCodes;
      const row = device({ userCode: 'BCDFGHJKL' });
      assert.equal(await codes.startDevice(row, LIMITS, NOW), true);
      assert.equal(await codes.takeDevice(row.deviceCodeHash, 'cli', NOW), null, 'pending: left as it is');
      assert.deepEqual(await codes.getDevice(row.deviceCodeHash, 'cli'), row);
      assert.equal(await codes.getDevice(row.deviceCodeHash, 'other'), null);
      assert.deepEqual(await codes.pendingDevice('bcdfghjkl', NOW), { clientId: 'cli' }, 'pending: its client, by user code in any case');
      assert.equal(await codes.pendingDevice('BCDFGHJKM', NOW), null);
      assert.equal(await codes.approveDevice('bcdfgHJKL', 'user-1', NOW), true);
      assert.equal(await codes.pendingDevice('BCDFGHJKL', NOW), null, 'approved: no longer pending');
      assert.equal(await codes.approveDevice('BCDFGHJKM', 'user-1', NOW), false);
      assert.equal(await codes.approveDevice('BCDFGHJKL', 'user-2', NOW), false, 'approved once: another approval does not replace it');
      assert.equal(await codes.takeDevice(row.deviceCodeHash, 'other', NOW), null, "another client's poll leaves it");
      assert.deepEqual(await codes.takeDevice(row.deviceCodeHash, 'cli', NOW), { ...row, approvedBy: 'user-1' });
      assert.equal(await codes.takeDevice(row.deviceCodeHash, 'cli', NOW), null);
      assert.equal(await codes.getDevice(row.deviceCodeHash, 'cli'), null);
      assert.equal(await codes.approveDevice('BCDFGHJKL', 'user-1', NOW), false, 'its user code went with it');
    });

    it('of ten concurrent polls of an approved sign-in, exactly one gets it', async () => {
      const codes = h.store().signInCodes;
      const row = device();
      await codes.startDevice(row, LIMITS, NOW);
      await codes.approveDevice(row.userCode, 'user-1', NOW);
      const taken = await Promise.all(Array.from({ length: 10 }, () => codes.takeDevice(row.deviceCodeHash, 'cli', NOW)));
      assert.equal(taken.filter((r) => r !== null).length, 1);
    });

    it('expires: an expired sign-in cannot be approved, is taken by its next poll, and is dropped by the next start', async () => {
      const codes = h.store().signInCodes;
      const edge = device({ expiresAt: NOW });
      const polled = device({ expiresAt: NOW - 1 });
      const dropped = device({ expiresAt: NOW - 1 });
      for (const r of [edge, polled, dropped]) assert.equal(await codes.startDevice(r, LIMITS, NOW - 10), true);
      assert.equal(await codes.approveDevice(edge.userCode, 'u', NOW), true, 'still pending at its expiry second');
      assert.equal(await codes.approveDevice(polled.userCode, 'u', NOW), false);
      assert.equal(await codes.pendingDevice(polled.userCode, NOW), null, 'expired: not pending');
      assert.equal((await codes.takeDevice(polled.deviceCodeHash, 'cli', NOW))?.expiresAt, NOW - 1);
      assert.equal(await codes.startDevice(device(), LIMITS, NOW), true);
      assert.equal(await codes.getDevice(dropped.deviceCodeHash, 'cli'), null);
      assert.equal(await codes.deleteExpired(NOW + 1000), 2, 'the edge sign-in and the new one');
    });

    it('counts the caps in the store: in all, per source and per network; expired sign-ins do not count', async () => {
      const codes = h.store().signInCodes;
      for (let i = 0; i < LIMITS.perSource; i++) assert.equal(await codes.startDevice(device(), LIMITS, NOW), true);
      assert.equal(await codes.startDevice(device(), LIMITS, NOW), false, 'the source is full');
      assert.equal(await codes.startDevice(device({ source: '10.0.0.2' }), LIMITS, NOW), true, 'another source of the network');
      assert.equal(await codes.startDevice(device({ source: '10.0.0.3' }), LIMITS, NOW), true);
      assert.equal(await codes.startDevice(device({ source: '10.0.0.4' }), LIMITS, NOW), false, 'the network is full');
      assert.equal(await codes.startDevice(device({ source: '10.0.1.1', network: '10.0.1' }), { ...LIMITS, total: 6 }, NOW), true);
      assert.equal(await codes.startDevice(device({ source: '10.0.2.1', network: '10.0.2' }), { ...LIMITS, total: 6 }, NOW), false, 'all slots are taken');
      assert.equal(await codes.startDevice(device({ source: '10.0.0.4' }), LIMITS, NOW + 901), true, 'expired ones free their slots');
    });

    it('refuses a taken user code (whatever its case) or device code hash', async () => {
      const codes = h.store().signInCodes;
      const row = device({ userCode: 'BCDFGHJKX' });
      await codes.startDevice(row, LIMITS, NOW);
      await assert.rejects(codes.startDevice(device({ userCode: 'bcdfghjkx' }), LIMITS, NOW), isConflict('exists'));
      await assert.rejects(codes.startDevice(device({ deviceCodeHash: row.deviceCodeHash }), LIMITS, NOW), isConflict('exists'));
    });
  });

  describe('sign-in codes: authorization codes', () => {
    it('take returns the code once; later takes say it was redeemed; unknown codes are unknown', async () => {
      const codes = h.store().signInCodes;
      const row = authCode({ nonce: 'n-1', passwordGeneration: 3 });
      assert.equal(await codes.issueAuthCode(row, LIMITS, NOW), true);
      assert.deepEqual(await codes.takeAuthCode(row.codeHash, NOW), { result: 'taken', row });
      assert.deepEqual(await codes.takeAuthCode(row.codeHash, NOW), { result: 'redeemed' });
      assert.deepEqual(await codes.takeAuthCode(hex32(), NOW), { result: 'unknown' });
      await assert.rejects(codes.issueAuthCode(authCode({ codeHash: row.codeHash }), LIMITS, NOW), isConflict('exists'));
    });

    it('of ten concurrent takes, exactly one gets the code', async () => {
      const codes = h.store().signInCodes;
      const row = authCode();
      await codes.issueAuthCode(row, LIMITS, NOW);
      const results = await Promise.all(Array.from({ length: 10 }, () => codes.takeAuthCode(row.codeHash, NOW)));
      assert.equal(results.filter((r) => r.result === 'taken').length, 1);
      assert.equal(results.filter((r) => r.result === 'redeemed').length, 9);
    });

    it('expires: an expired code is unknown, redeemed or not, and the next issue drops it', async () => {
      const codes = h.store().signInCodes;
      const edge = authCode({ expiresAt: NOW });
      const old = authCode({ expiresAt: NOW - 1 });
      const used = authCode({ expiresAt: NOW - 1 });
      for (const r of [edge, old, used]) await codes.issueAuthCode(r, LIMITS, NOW - 10);
      await codes.takeAuthCode(used.codeHash, NOW - 10);
      assert.equal((await codes.takeAuthCode(edge.codeHash, NOW)).result, 'taken', 'still valid at its expiry second');
      assert.deepEqual(await codes.takeAuthCode(old.codeHash, NOW), { result: 'unknown' });
      assert.deepEqual(await codes.takeAuthCode(used.codeHash, NOW), { result: 'unknown' });
      assert.equal(await codes.issueAuthCode(authCode(), LIMITS, NOW), true);
      assert.equal(await codes.deleteExpired(NOW + 1000), 2, 'the redeemed edge code and the new one: the expired ones went at the issue');
    });

    it('counts unredeemed codes in all and per source; redeemed and expired ones do not count', async () => {
      const codes = h.store().signInCodes;
      const held: AuthCodeRow[] = [];
      for (let i = 0; i < LIMITS.perSource; i++) {
        held.push(authCode());
        assert.equal(await codes.issueAuthCode(held[i]!, LIMITS, NOW), true);
      }
      assert.equal(await codes.issueAuthCode(authCode(), LIMITS, NOW), false, 'the source is full');
      assert.equal(await codes.issueAuthCode(authCode({ source: '10.0.0.2' }), LIMITS, NOW), true, 'sources are counted apart, networks are not');
      await codes.takeAuthCode(held[0]!.codeHash, NOW);
      assert.equal(await codes.issueAuthCode(authCode(), LIMITS, NOW), true, 'a redeemed code frees its slot');
      assert.equal(await codes.issueAuthCode(authCode({ source: '10.0.0.3' }), { ...LIMITS, total: 4 }, NOW), false, 'all slots are taken');
      assert.equal(await codes.issueAuthCode(authCode({ expiresAt: NOW + 1000 }), LIMITS, NOW + 301), true, 'expired ones free their slots');
    });
  });

  describe('sign-in failure counts', () => {
    it('changes one key at a time: failures recorded at the same moment all count', async () => {
      const failures = h.store().signInFailures;
      // Each change also puts its number at the front of `recent`, keeping three: the last three changes, in order.
      const bump = () =>
        failures.change('name:gina', (f) => ({ count: (f?.count ?? 0) + 1, firstAt: f?.firstAt ?? NOW, lockedUntil: 0, locks: 0, recent: [`fp${(f?.count ?? 0) + 1}`, ...(f?.recent ?? [])].slice(0, 3) }));
      await Promise.all(Array.from({ length: 20 }, bump));
      assert.deepEqual(await failures.get('name:gina'), { count: 20, firstAt: NOW, lockedUntil: 0, locks: 0, recent: ['fp20', 'fp19', 'fp18'] });
      assert.equal(await failures.get('name:nobody'), null);
      assert.equal(await failures.change('name:gina', () => null), null);
      assert.equal(await failures.get('name:gina'), null, 'null removes it');
      await failures.change('name:hal', () => ({ count: 0, firstAt: NOW + 60, lockedUntil: NOW + 60, locks: 3, recent: [] }));
      assert.deepEqual(await failures.get('name:hal'), { count: 0, firstAt: NOW + 60, lockedUntil: NOW + 60, locks: 3, recent: [] }, 'a run of locks is kept');
      await failures.delete('name:hal');
      assert.equal(await failures.get('name:hal'), null);
      // A row with no count and no lock (a name's familiar networks) is a row like any other.
      const networks = { count: 0, firstAt: NOW, lockedUntil: 0, locks: 0, recent: ['192.0.2.0/24@5'] };
      await failures.change('familiar:ida', () => networks);
      let seen: unknown;
      await failures.change('familiar:ida', (f) => ((seen = f), f));
      assert.deepEqual(seen, networks, 'change is handed the stored row');
      assert.deepEqual(await failures.get('familiar:ida'), networks);
    });

    it('deleteEnded removes, under its prefix only, the counts whose lock ended and whose window (or run of locks) began by then', async () => {
      const failures = h.store().signInFailures;
      const put = (key: string, firstAt: number, lockedUntil: number, locks = 0) => failures.change(key, () => ({ count: 1, firstAt, lockedUntil, locks, recent: [] }));
      await put('name:old', NOW - 700, 0);
      await put('name:recent', NOW - 10, 0);
      await put('name:locked', NOW - 700, NOW + 60);
      await put('source:old', NOW - 700, 0);
      // In a run of locks: remembered until the run's start (a day here), not the window's.
      await put('name:run', NOW - 700, NOW - 700, 2);
      await put('name:run-over', NOW - 90_000, NOW - 90_000, 2);
      assert.equal(await failures.deleteEnded('name:', NOW, NOW - 600, NOW - 86_400), 2);
      assert.equal(await failures.get('name:old'), null);
      assert.equal(await failures.get('name:run-over'), null);
      for (const k of ['name:recent', 'name:locked', 'name:run', 'source:old']) assert.notEqual(await failures.get(k), null, k);
    });
  });

  describe('refresh tokens', () => {
    const token = (over: Partial<RefreshTokenRow> = {}): RefreshTokenRow => ({ tokenHash: hex32(), objectId: 'oid', clientId: 'cid', scope: 'https://vault.localhost', expiresAt: NOW + 100, familyId: hex32(), passwordGeneration: 0, ...over });

    it("take returns the row once (single use), and only to its own client: another's take leaves it", async () => {
      const row = token();
      await h.store().refreshTokens.insert(row);
      assert.equal(await h.store().refreshTokens.take(row.tokenHash, 'other-client', NOW), null);
      assert.deepEqual(await h.store().refreshTokens.take(row.tokenHash, 'cid', NOW), row);
      assert.equal(await h.store().refreshTokens.take(row.tokenHash, 'cid', NOW), null);
      assert.equal(await h.store().refreshTokens.take(hex32(), 'cid', NOW), null);
    });

    it('findUnused reads an unused token of its own client, and changes nothing', async () => {
      const row = token();
      await h.store().refreshTokens.insert(row);
      assert.equal(await h.store().refreshTokens.findUnused(row.tokenHash, 'other-client'), null);
      assert.equal(await h.store().refreshTokens.findUnused(hex32(), 'cid'), null);
      assert.deepEqual(await h.store().refreshTokens.findUnused(row.tokenHash, 'cid'), row);
      assert.deepEqual(await h.store().refreshTokens.take(row.tokenHash, 'cid', NOW), row, 'still unused');
      assert.equal(await h.store().refreshTokens.findUnused(row.tokenHash, 'cid'), null, 'not once used');
    });

    it('of takes sent together, one gets the row', async () => {
      const row = token();
      await h.store().refreshTokens.insert(row);
      const got = await Promise.all(Array.from({ length: 8 }, () => h.store().refreshTokens.take(row.tokenHash, 'cid', NOW)));
      assert.equal(got.filter((r) => r !== null).length, 1);
    });

    it("revokeFamily deletes the family's tokens, used or not, and no other; only for the token's own client", async () => {
      const familyId = hex32();
      const [first, second, other] = [token({ familyId }), token({ familyId }), token()];
      for (const r of [first, second, other]) await h.store().refreshTokens.insert(r);
      assert.ok(await h.store().refreshTokens.take(first.tokenHash, 'cid', NOW));
      assert.equal(await h.store().refreshTokens.revokeFamily(first.tokenHash, 'other-client'), false);
      assert.equal(await h.store().refreshTokens.revokeFamily(hex32(), 'cid'), false);
      assert.equal(await h.store().refreshTokens.revokeFamily(second.tokenHash, 'cid', NOW), false, 'usedBy: not a token still unused');
      assert.equal(await h.store().refreshTokens.revokeFamily(first.tokenHash, 'cid', NOW - 1), false, 'usedBy: not one used later');
      assert.equal(await h.store().refreshTokens.take(second.tokenHash, 'other-client', NOW), null);
      assert.equal(await h.store().refreshTokens.revokeFamily(first.tokenHash, 'cid', NOW), true, 'by a used token');
      assert.equal(await h.store().refreshTokens.take(second.tokenHash, 'cid', NOW), null, 'the unused one went with it');
      assert.equal(await h.store().refreshTokens.revokeFamily(first.tokenHash, 'cid'), false);
      assert.deepEqual(await h.store().refreshTokens.take(other.tokenHash, 'cid', NOW), other);
    });

    it("setPassword replaces a user's hash only while it is the one read, counts the password generation up, revokes their refresh tokens and no other's, with its record", async () => {
      const store = h.store();
      const user = principal({ kind: 'User', upn: `reset-${hex32()}@example.com`, passwordHash: 'scrypt-hmac$old' });
      await store.principals.insert(user);
      const [mine, theirs] = [token({ objectId: user.objectId }), token({ objectId: 'someone-else' })];
      for (const r of [mine, theirs]) await store.refreshTokens.insert(r);
      const records = async () => (await store.audit.range(1, 10_000)).filter((r) => r.operation.startsWith('set password')).map((r) => r.operation);

      assert.equal(await store.principals.setPassword(user.objectId, 'scrypt-hmac$stale', 'scrypt-hmac$new', auditRecord('set password stale')), false);
      assert.equal((await store.principals.get(user.objectId))!.passwordHash, 'scrypt-hmac$old');
      assert.ok(await store.refreshTokens.take(mine.tokenHash, 'cid', NOW - 10), 'nothing revoked by a refused change');
      const again = token({ objectId: user.objectId });
      await store.refreshTokens.insert(again);
      assert.equal(await store.principals.setPassword(user.objectId, 'scrypt-hmac$old', 'scrypt-hmac$new', auditRecord('set password')), true);
      assert.equal((await store.principals.get(user.objectId))!.passwordHash, 'scrypt-hmac$new');
      assert.equal((await store.principals.get(user.objectId))!.passwordGeneration, 1);
      assert.equal(await store.refreshTokens.take(again.tokenHash, 'cid', NOW), null, "the user's tokens are revoked");
      assert.deepEqual(await store.refreshTokens.take(theirs.tokenHash, 'cid', NOW), theirs, "another's are not");
      // A new hash of the same password (a pepper's conversion) is not a new password: the generation stays.
      assert.equal(await store.principals.replaceCredentialHash(user.objectId, null, 'scrypt-hmac$new', 'scrypt-hmac$rehashed'), true);
      assert.equal((await store.principals.get(user.objectId))!.passwordGeneration, 1);
      assert.equal(await store.principals.setPassword(user.objectId, 'scrypt-hmac$rehashed', 'scrypt-hmac$newer'), true);
      assert.equal((await store.principals.getByUpn(user.upn!))!.passwordGeneration, 2);
      // A sign-in's generation is kept with its refresh token.
      const signedIn = token({ objectId: user.objectId, passwordGeneration: 2 });
      await store.refreshTokens.insert(signedIn);
      assert.deepEqual(await store.refreshTokens.take(signedIn.tokenHash, 'cid', NOW), signedIn);
      assert.equal(await store.principals.setPassword(randomUUID(), 'scrypt-hmac$new', 'x', auditRecord('set password nobody')), false);
      assert.deepEqual(await records(), ['set password'], 'a record only with a change');
    });

    it('deleteExpired removes tokens whose expiry is before now; a used one is kept at most USED_REFRESH_TOKEN_KEPT_SECONDS', async () => {
      const row = (tokenHash: string, expiresAt: number) => token({ tokenHash, clientId: 'c', expiresAt });
      for (const r of [row('old', 10), row('edge', 50), row('new', 100), row('long', NOW * 10)]) await h.store().refreshTokens.insert(r);
      assert.equal(await h.store().refreshTokens.deleteExpired(50), 1);
      assert.equal(await h.store().refreshTokens.take('old', 'c', 20), null);
      assert.equal((await h.store().refreshTokens.take('edge', 'c', 20))?.expiresAt, 50, 'still valid at its expiry second');
      assert.equal((await h.store().refreshTokens.take('new', 'c', 20))?.expiresAt, 100);
      assert.equal((await h.store().refreshTokens.take('long', 'c', NOW))?.expiresAt, NOW + USED_REFRESH_TOKEN_KEPT_SECONDS, 'a used token is kept for the reuse window only');
      assert.equal(await h.store().refreshTokens.deleteExpired(1000), 2, 'used tokens go at their expiry');
      assert.equal(await h.store().refreshTokens.deleteExpired(NOW + USED_REFRESH_TOKEN_KEPT_SECONDS + 1), 1);
    });

    it('a user keeps at most REFRESH_TOKENS_PER_USER_AND_CLIENT unused tokens per client: a new one drops those that expire first', async () => {
      const store = h.store();
      const owner = randomUUID();
      const mine = (i: number, over: Partial<RefreshTokenRow> = {}) => token({ objectId: owner, clientId: 'capped', expiresAt: NOW + 1000 + i, ...over });
      // Issued out of expiry order: what goes is the earliest expiry, not the earliest insert.
      const rows = Array.from({ length: REFRESH_TOKENS_PER_USER_AND_CLIENT }, (_, i) => mine(i + 10));
      for (const r of rows) await store.refreshTokens.insert(r);
      const earliest = mine(0);
      await store.refreshTokens.insert(earliest);
      const early = rows[0]!;
      // Past the cap, the newcomer itself expires first, so it is the one that goes.
      assert.equal(await store.refreshTokens.findUnused(earliest.tokenHash, 'capped'), null, 'the earliest expiry went');
      assert.deepEqual(await store.refreshTokens.findUnused(early.tokenHash, 'capped'), early);
      // Another client's, another user's and a used token are not counted.
      const otherClient = mine(1, { clientId: 'other' });
      const otherUser = token({ objectId: randomUUID(), clientId: 'capped', expiresAt: NOW + 1 });
      for (const r of [otherClient, otherUser]) await store.refreshTokens.insert(r);
      assert.ok(await store.refreshTokens.take(rows[1]!.tokenHash, 'capped', NOW), 'a used one stays for reuse detection');
      const newest = mine(100_000);
      await store.refreshTokens.insert(newest);
      assert.deepEqual(await store.refreshTokens.findUnused(early.tokenHash, 'capped'), early, 'the used one made room');
      await store.refreshTokens.insert(mine(100_001));
      assert.equal(await store.refreshTokens.findUnused(early.tokenHash, 'capped'), null, 'then the earliest unused expiry goes');
      assert.deepEqual(await store.refreshTokens.findUnused(newest.tokenHash, 'capped'), newest);
      assert.deepEqual(await store.refreshTokens.findUnused(otherClient.tokenHash, 'other'), otherClient);
      assert.deepEqual(await store.refreshTokens.findUnused(otherUser.tokenHash, 'capped'), otherUser);
    });
  });
}
