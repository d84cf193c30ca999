// Developer aid (not part of npm run bench): the store-level cost of an authorization write with the digest's
// guard (`guard`) or without (`none`, as before the digest), role assignments inserted one by one into a fresh
// SQLite store up to 1,000, 9,000 and 10,000: wall-clock (mostly the commit's fsync) and this process's CPU time.
// node --import tsx bench/digest-write-cost.ts guard|none

import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthorizationSeal } from '../src/authorization/authorization-seal.js';
import { createDigestGuard, digestsOf, makeRecord, DIGEST_SETTING } from '../src/authorization/authorization-digest.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { RoleAssignmentRow } from '../src/storage/store-types.js';

const guarded = process.argv[2] === 'guard';
const dir = mkdtempSync(join(tmpdir(), 'wc-'));
const store = openSqliteStore({ file: join(dir, 'c.db') });
const seal = createAuthorizationSeal(createSecretKey(randomBytes(32)));
const empty = { assignments: [], definitions: [], memberships: [], keyCredentials: [], vaults: [] };
await store.settings.set(DIGEST_SETTING, makeRecord(seal, digestsOf(seal, empty), 1));
if (guarded) store.authorizationDigest!.use(createDigestGuard(() => seal, 1, () => undefined, (e) => console.error(e.message)));
const row = (): RoleAssignmentRow => {
  const r: RoleAssignmentRow = { id: randomUUID(), scope: `/subscriptions/s/x/${randomUUID()}`, roleDefinitionId: 'r', principalId: randomUUID(), principalType: 'ServicePrincipal', description: null, endTime: null, createdAt: 1, updatedAt: 1, createdBy: 'x', mac: null };
  return { ...r, mac: seal.assignment(r) };
};
let held = 0;
for (const total of [1000, 9000, 10000]) {
  const t = performance.now();
  const c = process.cpuUsage();
  for (; held < total; ) {
    await store.roleAssignments.insert(row());
    held++;
  }
  const n = total === 1000 ? 1000 : total === 9000 ? 8000 : 1000;
  const cpu = process.cpuUsage(c);
  console.log(`${guarded ? 'guard' : 'none '} up to ${total}: ${((performance.now() - t) / n).toFixed(3)} ms/write wall, ${((cpu.user + cpu.system) / 1000 / n).toFixed(3)} ms CPU (user ${(cpu.user / 1000 / n).toFixed(3)})`);
}
await store.close();
rmSync(dir, { recursive: true, force: true });
