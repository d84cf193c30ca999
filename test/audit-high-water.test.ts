import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createHighWater } from '../src/audit/audit-high-water.js';
import type { VerifyResult } from '../src/audit/audit-chain.js';
import { api } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer } from './support/server-fixture.js';

// A database put back to an earlier copy is a shorter trail whose sealed
// ends agree with it; the data dir's record of the highest record seen
// (src/audit/audit-high-water.ts) is what tells.

const root = mkdtempSync(join(tmpdir(), 'coffer-high-water-'));
after(() => rmSync(root, { recursive: true, force: true }));
const fileIn = (name: string) => join(mkdtempSync(join(root, `${name}-`)), 'audit-head.json');
const verified = (head: number): VerifyResult => ({ ok: true, checked: head, head, keyedFrom: 1 });

describe('audit high-water mark', () => {
  it('follows the trail forward and never back', () => {
    const file = fileIn('forward');
    const mark = createHighWater(file, () => 't');
    assert.equal(mark.observe(5), null);
    assert.equal(mark.observe(9), null);
    assert.equal(mark.mark()!.seq, 9);
    assert.deepEqual(mark.hold(verified(9)), verified(9));
    assert.deepEqual(mark.hold(verified(12)), verified(12), 'records appended since the mark');
    assert.equal(createHighWater(file).mark()!.seq, 9, 'kept in the file');
  });

  it('a trail behind the mark fails verification, and keeps failing once it grows past it again', () => {
    const file = fileIn('back');
    createHighWater(file).observe(100);
    const restarted = createHighWater(file);
    const behind = restarted.hold(verified(60));
    assert.equal(behind.ok, false);
    assert.equal(!behind.ok && behind.firstBadSeq, 61);
    assert.match(!behind.ok ? behind.reason : '', /rolled back: this server saw record 100 .* ended at record 60/);

    assert.equal(restarted.observe(60)?.rolledBackTo, 60);
    assert.equal(restarted.observe(150)?.rolledBackTo, 60, 'new records do not hide it');
    const later = createHighWater(file);
    assert.equal(later.hold(verified(150)).ok, false, 'and a restart does not either');
    assert.equal(later.mark()!.seq, 100);

    unlinkSync(file);
    const cleared = createHighWater(file);
    assert.equal(cleared.observe(150), null, 'removing the file accepts the trail as it is');
    assert.equal(cleared.hold(verified(150)).ok, true);
  });

  it('the server: a SQLite database put back to an earlier copy fails `audit verify`', async () => {
    const dataDir = mkdtempSync(join(root, 'server-'));
    const server = await startTestServer({ dataDir });
    const saved = join(root, 'db-copy');
    try {
      await createVault(server, 'rollback-vault');
      await secretClient(server, 'rollback-vault').setSecret('before', 'v');
      await server.stop();
      rmSync(saved, { recursive: true, force: true });
      mkdirCopy(dataDir, saved, /^coffer\.db/);

      await server.restart();
      await secretClient(server, 'rollback-vault').setSecret('after', 'v');
      assert.equal((await api(server, 'GET', '/coffer/audit/verify')).body!.ok, true);
      await server.stop();

      for (const f of readdirSync(dataDir)) if (f.startsWith('coffer.db')) unlinkSync(join(dataDir, f));
      mkdirCopy(saved, dataDir, /^coffer\.db/);
      await server.restart();
      assert.match(server.logs(), /the audit trail was rolled back/);
      const result = (await api(server, 'GET', '/coffer/audit/verify')).body!;
      assert.equal(result.ok, false);
      assert.match(result.reason, /rolled back/);
    } finally {
      await server.kill();
    }
  });
});

function mkdirCopy(from: string, to: string, only: RegExp) {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (only.test(f)) copyFileSync(join(from, f), join(to, f));
}
