import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDirectoryService, type SignInLock } from '../src/identity/directory-service.js';
import { createCredentialHasher } from '../src/identity/password-hash.js';
import { LOCKOUT, SOURCE_LOCKOUT } from '../src/identity/sign-in-lockout.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { memoryPrincipals } from './support/memory-principals.js';

// Sign-ins are not in the audit trail, so a guesser left no trace anywhere:
// each lock a wrong password sets (a user name's, a client address's) is
// told to the server, which logs it as a warning with the name, the address,
// until when and which lock of its run it is.

const root = mkdtempSync(join(tmpdir(), 'coffer-lock-events-'));
const store = openSqliteStore({ file: join(root, 'coffer.db') });
after(async () => {
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

test('each lock set by a wrong password is told once, the name and the address apart, with its place in the run', async () => {
  let t = 5_000_000;
  const locks: SignInLock[] = [];
  const directory = createDirectoryService({
    principals: memoryPrincipals(),
    hasher: createCredentialHasher(randomBytes(32)),
    failures: store.signInFailures,
    now: () => t,
    sourceLimits: { ...SOURCE_LOCKOUT, maxFailures: 12 },
    onLocked: (l) => locks.push(l),
  });
  await directory.createUser({ upn: 'dana@coffer.local', displayName: 'Dana', password: 'Dana password 1' });
  const guess = (i: number) => directory.authenticateUser('dana@coffer.local', `guess ${i}`, '198.51.100.7');
  for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) await guess(i);
  assert.equal(locks.length, 0, 'no lock yet');
  await guess(100);
  assert.deepEqual(locks, [{ kind: 'name', name: 'dana@coffer.local', from: '198.51.100.7', until: t + 60, run: 1 }]);
  // Refused while locked: nothing is counted, nothing told.
  assert.deepEqual(await guess(101), { ok: false, reason: 'locked' });
  assert.equal(locks.length, 1);
  // The lock over, the next wrong password locks the name again for twice as long (and, the twelfth from the address, the address).
  t += 60;
  await guess(102);
  t += 120;
  await guess(103);
  // Seconds left of each lock now: the second (120 s) has just ended, the third lasts 240 s.
  assert.deepEqual(
    locks.slice(1).map((l) => [l.kind, l.run, l.until - t]),
    [
      ['name', 2, 0],
      ['name', 3, 240],
      ['address', 1, SOURCE_LOCKOUT.lockSeconds],
    ],
  );
});
