import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createAuditLog } from '../src/audit/audit-log.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { isStorageFull } from '../src/storage/store-types.js';
import { auditRecord, insertVault, keyAuditChain, vaultRow, versionRow } from './support/store-conformance-kit.js';

// A full disk in the middle of a group commit (sqlite-writer-worker.ts): SQLite
// may answer SQLITE_FULL by undoing the whole transaction, not just the one
// write's savepoint. Every write is then acknowledged only if it is stored,
// refused only if it is not, and the audit chain stays whole. The disk fills
// through the test-only page cap (sqlite-test-page-cap.ts).

describe('a full database under group commit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-full-batch-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stores exactly the writes it acknowledges, chains their records, and takes writes again once there is room', async () => {
    const file = join(dir, 'coffer.db');
    const capFile = join(dir, 'page-cap');
    let applied: (() => void) | null = null;
    const store = openSqliteStore({ file, testPageCap: { file: capFile, applied: () => applied?.() } });
    // The watcher's timer does not hold the process open: this one does, until the cap is applied.
    const cap = (text: string) =>
      new Promise<void>((resolve) => {
        const hold = setInterval(() => {}, 1000);
        applied = () => {
          clearInterval(hold);
          resolve();
        };
        writeFileSync(capFile, text);
      });
    const key = await keyAuditChain(store);
    const vault = await insertVault(store, vaultRow());
    await store.secrets.insertVersion(versionRow(vault.id, 'before'), auditRecord('SecretSet'));

    const reader = new Database(file, { readonly: true });
    const pages = Number(reader.pragma('page_count', { simple: true }));
    reader.close();
    // Room for a few of the 20 KB versions below, not for all of them.
    await cap(String(pages + 15));
    const writes = Array.from({ length: 12 }, (_, i) => versionRow(vault.id, `s${i}`, { ciphertext: randomBytes(20_000) }));
    // Requested in one turn: one batch, one transaction.
    const outcomes = await Promise.allSettled(writes.map((w) => store.secrets.insertVersion(w, auditRecord('SecretSet'))));
    await cap('');
    for (const [i, w] of writes.entries()) {
      const row = await store.secrets.getVersion(vault.id, w.name, null);
      assert.equal(row !== null, outcomes[i]!.status === 'fulfilled', `${w.name}: stored if and only if acknowledged`);
    }
    const stored = outcomes.filter((o) => o.status === 'fulfilled').length;
    assert.ok(stored > 0 && stored < writes.length, `${stored} of ${writes.length} stored: the cap should take some, not all`);
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(isStorageFull(o.reason), String(o.reason));
    await store.secrets.insertVersion(versionRow(vault.id, 'after'), auditRecord('SecretSet'));
    const log = createAuditLog({ store: store.audit, keys: async () => key });
    assert.deepEqual(await log.verify(), { ok: true, checked: stored + 2, head: stored + 2, keyedFrom: 1 });
    await store.close();
  });
});
