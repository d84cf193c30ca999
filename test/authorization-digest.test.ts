import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createAuthorizationSeal } from '../src/authorization/authorization-seal.js';
import { AuthorizationDigestError, createDigestGuard, digestsOf, makeRecord, openRecord } from '../src/authorization/authorization-digest.js';
import type { AuthorizationRows, JournalEntry } from '../src/storage/authorization-digest-types.js';
import type { RoleAssignmentRow } from '../src/storage/store-types.js';

// The authorization digest's arithmetic (authorization/authorization-digest.ts); the server's use of it is in
// authorization-replay.test.ts.

const seal = createAuthorizationSeal(createSecretKey(randomBytes(32)));
const assignment = (id: string): RoleAssignmentRow => {
  const r: RoleAssignmentRow = { id, scope: '/subscriptions/s', roleDefinitionId: 'r', principalId: 'p', principalType: 'User', description: null, endTime: null, createdAt: 1, updatedAt: 1, createdBy: 'x', mac: null };
  return { ...r, mac: seal.assignment(r) };
};
const rowsWith = (assignments: RoleAssignmentRow[]): AuthorizationRows => ({ assignments, definitions: [], memberships: [{ groupId: 'g', memberId: 'm', mac: seal.membership('g', 'm') }], keyCredentials: [], vaults: [], federatedCredentials: [] });

describe('the authorization digest', () => {
  const a = assignment('a');
  const b = assignment('b');

  it('is the same in any order, and changes with a row put back or removed, in its kind only', () => {
    const both = digestsOf(seal, rowsWith([a, b]));
    assert.deepEqual(digestsOf(seal, rowsWith([b, a])), both);
    const one = digestsOf(seal, rowsWith([a]));
    assert.notEqual(one['role assignments'], both['role assignments']);
    assert.equal(one['group memberships'], both['group memberships']);
  });

  it('leaves out rows whose seal does not match (they grant nothing), however they are sealed', () => {
    const base = digestsOf(seal, rowsWith([a]));
    // b's seal copied onto another row, twice: an unkeyed hash of the seals would cancel out with a pair.
    const planted = [{ ...b, id: 'c' }, { ...b, id: 'd' }, { ...assignment('e'), mac: null }];
    assert.deepEqual(digestsOf(seal, rowsWith([a, ...planted])), base);
    // The same rows under another key's digest differ: a digest means nothing without the key.
    const other = createAuthorizationSeal(createSecretKey(randomBytes(32)));
    assert.notEqual(digestsOf(other, rowsWith([a]), () => true)['role assignments'], base['role assignments']);
  });

  it('is held to its record: changed, of another generation, or of other rows, it is refused, naming the kind', () => {
    const record = makeRecord(seal, digestsOf(seal, rowsWith([a])), 4);
    assert.equal(openRecord(seal, record).n, 4);
    const bumped = JSON.stringify({ ...JSON.parse(record), n: 9 });
    assert.throws(() => openRecord(seal, bumped), AuthorizationDigestError);
    assert.throws(() => openRecord(createAuthorizationSeal(createSecretKey(randomBytes(32)), 1), record), /does not match its MAC/);
    const refused: string[][] = [];
    const guard = createDigestGuard(() => seal, 0, () => undefined, (err) => refused.push([...err.kinds]));
    assert.equal(guard.open(record).n, 4);
    assert.throws(() => guard.open(bumped), AuthorizationDigestError);
    const stored = openRecord(seal, record).digests;
    // A journal entry as the triggers write it: what the seal covers, and the stored seal.
    const entry = (r: RoleAssignmentRow, added = true): JournalEntry => ({
      kind: 'role assignments',
      added,
      fields: JSON.stringify({ id: r.id, scope: r.scope, roleDefinitionId: r.roleDefinitionId, principalId: r.principalId, principalType: r.principalType, endTime: r.endTime, mac: r.mac }),
    });
    assert.throws(() => guard.unchanged(stored, guard.fold(stored, [entry(b)]).digests), /role assignments in the database are not those coffer last sealed/);
    // The record changed (no kind named), then the journal's row put back.
    assert.deepEqual(refused, [[], ['role assignments']]);
    assert.deepEqual(guard.fold(stored, [entry(b)]).digests, digestsOf(seal, rowsWith([a, b])));
    assert.deepEqual(guard.fold(stored, [entry(b), entry(b, false)]).digests, stored);
    // Rows whose seal does not match are not folded, as a start that reads every row leaves them out.
    assert.deepEqual(guard.fold(stored, [entry({ ...b, id: 'c' }), entry({ ...a, mac: null }, false)]).digests, stored);
    assert.equal(guard.open(guard.record(guard.fold(stored, [entry(b)]).digests, 5)).n, 5);
  });

  it('counts a seal as often as it is found: two rows (or entries) with one seal never cancel out', () => {
    const base = digestsOf(seal, rowsWith([a]));
    // The seal lower-cases ids; the table's key does not: the same grant stored twice.
    const twice = digestsOf(seal, rowsWith([a, b, { ...b, id: 'B' }]));
    assert.notEqual(twice['role assignments'], base['role assignments']);
    const guard = createDigestGuard(() => seal, 0, () => undefined, () => undefined);
    const entry: JournalEntry = { kind: 'role assignments', added: true, fields: JSON.stringify({ id: 'b', scope: b.scope, roleDefinitionId: 'r', principalId: 'p', principalType: 'User', endTime: null, mac: b.mac }) };
    assert.notDeepEqual(guard.fold(base, [entry, entry]).digests, base);
    // A row removed that was never counted does not leave the digest as it was either.
    assert.notDeepEqual(guard.fold(base, [{ ...entry, added: false }]).digests, base);
  });

  it('refuses a record older than the last write the server sealed (put back while it ran)', () => {
    const stored = digestsOf(seal, rowsWith([a]));
    const guard = createDigestGuard(() => seal, 7, () => undefined, () => undefined);
    assert.equal(guard.open(makeRecord(seal, stored, 7)).n, 7);
    guard.sealed(8);
    assert.throws(() => guard.open(makeRecord(seal, stored, 7)), /its record is of write 7, but this server sealed write 8/);
  });

  it('holds a record read outside the write lock to the writes sealed before the read began, not those sealed while it ran', () => {
    const stored = digestsOf(seal, rowsWith([a]));
    const guard = createDigestGuard(() => seal, 7, () => undefined, () => undefined);
    // A cluster member reads the record (write 7) while its own write 8 commits: the read began before it.
    const since = guard.mark();
    guard.sealed(8);
    assert.equal(guard.open(makeRecord(seal, stored, 7), since).n, 7);
    // A read begun after write 8 was sealed that finds write 7 found a database put back.
    assert.throws(() => guard.open(makeRecord(seal, stored, 7), guard.mark()), /its record is of write 7, but this server sealed write 8/);
  });
});
