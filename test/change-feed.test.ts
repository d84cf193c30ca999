import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { followChanges, type FollowedCaches } from '../src/server/follow-changes.js';
import { createChangeHub, type StoreChange } from '../src/storage/change-feed.js';
import { parseAnnouncement } from '../src/storage/postgres/pg-change-feed.js';

// How a cluster member's caches follow announced changes (the database side
// is tested with two real servers in cluster-postgres.test.ts).

test('announcements parse by topic; unknown topics are ignored', () => {
  assert.deepEqual(parseAnnouncement('assignment 0f0e'), { topic: 'assignment', key: '0f0e' });
  assert.deepEqual(parseAnnouncement('membership g1/m1'), { topic: 'membership', key: 'g1/m1' });
  assert.deepEqual(parseAnnouncement('setting credentialPepper'), { topic: 'setting', key: 'credentialPepper' });
  assert.equal(parseAnnouncement('certificate x'), null, "a newer server's topic");
  assert.equal(parseAnnouncement('vault'), null);
});

test('the hub holds what arrives before the first subscriber and hands it over first; past its limit, one `all`', () => {
  const hub = createChangeHub();
  hub.emit({ topic: 'vault', key: 'v1' });
  hub.emit({ topic: 'role', key: 'r1' });
  const seen: StoreChange[] = [];
  hub.subscribe((c) => seen.push(c));
  hub.emit({ topic: 'assignment', key: 'a1' });
  assert.deepEqual(seen.map((c) => c.key), ['v1', 'r1', 'a1']);

  const flooded = createChangeHub();
  for (let i = 0; i < 10_001; i++) flooded.emit({ topic: 'assignment', key: String(i) });
  const after: StoreChange[] = [];
  flooded.subscribe((c) => after.push(c));
  assert.deepEqual(after, [{ topic: 'all', key: '' }]);
});

function recorder(failing = false) {
  const calls: string[] = [];
  const run = (what: string) => {
    calls.push(what);
    return failing ? Promise.reject(new Error('database away')) : Promise.resolve();
  };
  const caches: FollowedCaches = {
    vaults: { forgetAll: () => void calls.push('forgetAll') },
    vaultKeys: { forget: (id) => void calls.push(`forgetKey ${id}`) },
    index: {
      refreshAssignments: (ids) => run(`assignments ${ids.join(',')}`),
      refreshMemberships: (g, ids) => run(`memberships ${g}: ${ids.join(',')}`),
      reload: () => run('reload'),
    },
    catalog: { refresh: () => run('roles') },
    tokens: { reloadKeys: () => run('keys'), forgetPrincipal: (id) => void calls.push(`forgetPrincipal ${id}`), forgetAll: () => void calls.push('forgetTokens') },
    // Never rejects: it logs its own errors (start-server.ts).
    pepper: { reload: async () => void calls.push('pepper') },
  };
  return { calls, caches };
}

test("one turn's announcements are applied together: a bulk change costs a few reads", async () => {
  const hub = createChangeHub();
  const { calls, caches } = recorder();
  followChanges(hub, caches, () => assert.fail('nothing failed'));
  for (const key of ['a1', 'a2', 'a1']) hub.emit({ topic: 'assignment', key });
  hub.emit({ topic: 'membership', key: 'g1/m1' });
  hub.emit({ topic: 'membership', key: 'g1/m2' });
  hub.emit({ topic: 'vault', key: 'v1' });
  hub.emit({ topic: 'vault', key: 'v2' });
  hub.emit({ topic: 'role', key: 'r1' });
  hub.emit({ topic: 'role', key: 'r2' });
  assert.deepEqual(calls, [], 'not in the announcing turn');
  await sleep(5);
  assert.deepEqual(calls, ['forgetAll', 'forgetKey v1', 'forgetKey v2', 'assignments a1,a2', 'memberships g1: m1,m2', 'roles']);
  calls.length = 0;
  hub.emit({ topic: 'all', key: '' });
  await sleep(5);
  assert.deepEqual(calls, ['forgetAll', 'forgetTokens', 'reload', 'roles', 'keys', 'pepper'], 'changes missed: every verified token is dropped too (a principal deletion may be among them)');
  calls.length = 0;
  hub.emit({ topic: 'setting', key: 'credentialPepper' });
  hub.emit({ topic: 'setting', key: 'credentialPepper' });
  hub.emit({ topic: 'setting', key: 'someOtherSetting' });
  await sleep(5);
  assert.deepEqual(calls, ['pepper'], "another member's renewal: the generations are read again, once a turn");
  calls.length = 0;
  hub.emit({ topic: 'principal', key: 'p1' });
  hub.emit({ topic: 'principal', key: 'p1' });
  hub.emit({ topic: 'vault', key: 'v1' });
  await sleep(5);
  assert.deepEqual(calls, ['forgetPrincipal p1', 'forgetAll', 'forgetKey v1'], "a principal deleted: its verified tokens are dropped first, with no read");
});

test('a change that cannot be read is tried again, then tells the server once per read (it renews its connection, or stops)', async () => {
  const hub = createChangeHub();
  const { calls, caches } = recorder(true);
  const stops: Error[] = [];
  followChanges(hub, caches, (err) => stops.push(err));
  hub.emit({ topic: 'role', key: 'r1' });
  hub.emit({ topic: 'signing-key', key: 'k1' });
  await sleep(3_000);
  assert.deepEqual(calls.filter((c) => c === 'roles').length, 4, 'the first try and three more');
  assert.equal(stops.length, 2, 'the roles and the signing keys');
  for (const stop of stops) assert.match(stop.message, /could not read a change a cluster member made: database away/);
});
