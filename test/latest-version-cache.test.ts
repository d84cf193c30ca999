import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { withLatestVersionCache } from '../src/storage/latest-version-cache.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { SecretStore, SecretVersionRow, Store, VaultRow } from '../src/storage/store-types.js';
import { pooledRandomBytes, pooledRandomHex } from '../src/crypto/random-pool.js';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { insertVault, vaultRow, versionRow } from './support/store-conformance-kit.js';
import { describeSecretConformance } from './support/store-conformance-secrets.js';

// The cache of latest secret versions (src/storage/latest-version-cache.ts):
// the whole secrets part of the storage contract through it (with room for
// everything, and with room for almost nothing), then what a cache can get
// wrong: a read racing a write, eviction, shared rows; and a server running
// with it, driven by the official SDK through every kind of change.

const root = mkdtempSync(join(tmpdir(), 'coffer-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

for (const [label, maxBytes] of [
  ['8 MiB', 8 * 1024 * 1024],
  ['one entry', 700],
] as const) {
  describe(`store conformance through the latest-version cache (${label})`, () => {
    let store: Store;
    beforeEach(() => {
      const raw = openSqliteStore({ file: join(mkdtempSync(join(root, `db${n++}-`)), 'coffer.db') });
      store = { ...raw, secrets: withLatestVersionCache(raw.secrets, { maxBytes }) };
    });
    afterEach(() => store.close());
    async function newVault(overrides: Partial<VaultRow> = {}) {
      const v = vaultRow(overrides);
      await insertVault(store, v);
      return v;
    }
    describeSecretConformance({ store: () => store, newVault });
  });
}

/** An in-memory SecretStore whose latest-version reads wait until released, like a remote database's. */
function slowStore() {
  const latest = new Map<string, SecretVersionRow>();
  const reads: Array<() => void> = [];
  let seq = 0;
  const inner = {
    async insertVersion(row: Omit<SecretVersionRow, 'seq'>) {
      const stored = { ...row, seq: ++seq };
      latest.set(row.name.toLowerCase(), stored);
      return stored;
    },
    async getVersion(_vaultId: string, name: string) {
      // The row is taken when the read starts (the database's snapshot), returned when released.
      const row = latest.get(name.toLowerCase()) ?? null;
      await new Promise<void>((release) => reads.push(release));
      return row;
    },
    async markDeleted(_vaultId: string, name: string) {
      return latest.delete(name.toLowerCase());
    },
  } as unknown as SecretStore;
  return { inner, releaseReads: () => reads.splice(0).forEach((r) => r()) };
}

const ciphertext = (text: string) => Buffer.from(text);

describe('latest-version cache', () => {
  it('a read that started before a write cannot put the old row back', async () => {
    const { inner, releaseReads } = slowStore();
    const cache = withLatestVersionCache(inner, { maxBytes: 1 << 20 });
    await cache.insertVersion(versionRow('v1', 'db', { ciphertext: ciphertext('old') }));

    const stale = cache.getVersion('v1', 'db', null); // snapshot: "old"
    await cache.insertVersion(versionRow('v1', 'db', { ciphertext: ciphertext('new') }));
    releaseReads();
    assert.deepEqual((await stale)?.ciphertext, ciphertext('old'), 'the racing read itself may see the old row');

    const fresh = cache.getVersion('v1', 'db', null);
    releaseReads();
    assert.deepEqual((await fresh)?.ciphertext, ciphertext('new'));
    assert.deepEqual((await cache.getVersion('v1', 'db', null))?.ciphertext, ciphertext('new'), 'served from the cache now');
    assert.equal(cache.cacheStats().hits, 1);
  });

  it('a read concurrent with a delete leaves nothing cached', async () => {
    const { inner, releaseReads } = slowStore();
    const cache = withLatestVersionCache(inner, { maxBytes: 1 << 20 });
    await cache.insertVersion(versionRow('v1', 'gone', { ciphertext: ciphertext('x') }));
    const racing = cache.getVersion('v1', 'gone', null);
    assert.equal(await cache.markDeleted('v1', 'gone', { deletedAt: 1, scheduledPurgeAt: 2 }), true);
    releaseReads();
    await racing;
    const after = cache.getVersion('v1', 'GONE', null);
    releaseReads();
    assert.equal(await after, null);
    assert.equal(cache.cacheStats().entries, 0);
  });

  it('hits return the row the store returned, frozen; names are case-insensitive', async () => {
    const raw = openSqliteStore({ file: join(mkdtempSync(join(root, `db${n++}-`)), 'coffer.db') });
    try {
      const cache = withLatestVersionCache(raw.secrets, { maxBytes: 1 << 20 });
      const v = vaultRow();
      await insertVault(raw, v);
      const stored = await cache.insertVersion(versionRow(v.id, 'Api-Key', { tags: { team: 'a' } }));
      const first = await cache.getVersion(v.id, 'api-key', null);
      const second = await cache.getVersion(v.id, 'API-KEY', null);
      assert.deepEqual(first, stored);
      assert.equal(second, first);
      assert.ok(Object.isFrozen(second) && Object.isFrozen(second!.tags));
      assert.throws(() => {
        (second!.tags as Record<string, string>).team = 'b';
      }, TypeError);
      const { bytes, ...counts } = cache.cacheStats();
      assert.deepEqual(counts, { entries: 1, hits: 1, misses: 1 });
      assert.ok(bytes > stored.ciphertext.length, 'the entry is accounted for with its overhead');
    } finally {
      await raw.close();
    }
  });

  it('stays within its byte budget, dropping the least recently used', async () => {
    const { inner, releaseReads } = slowStore();
    const budget = 3000;
    const cache = withLatestVersionCache(inner, { maxBytes: budget });
    const read = async (name: string) => {
      const r = cache.getVersion('v1', name, null);
      releaseReads();
      return r;
    };
    for (let i = 0; i < 20; i++) await cache.insertVersion(versionRow('v1', `s-${i}`, { ciphertext: Buffer.alloc(400) }));
    for (let i = 0; i < 20; i++) await read(`s-${i}`);
    const stats = cache.cacheStats();
    assert.ok(stats.bytes <= budget && stats.entries > 0 && stats.entries < 20, JSON.stringify(stats));
    // The most recent entries are the ones kept.
    const before = cache.cacheStats().hits;
    await read('s-19');
    assert.equal(cache.cacheStats().hits, before + 1);
    await read('s-0');
    assert.equal(cache.cacheStats().hits, before + 1, 's-0 was evicted');
    // A row larger than the whole budget is served but never cached.
    await cache.insertVersion(versionRow('v1', 'huge', { ciphertext: Buffer.alloc(budget) }));
    assert.equal((await read('huge'))?.ciphertext.length, budget);
    assert.ok(cache.cacheStats().bytes <= budget);
  });
});

describe('a server with --secret-cache-mb', () => {
  let server: TestServer;
  after(() => server?.stop());

  it('every change is visible on the next read', async () => {
    server = await startTestServer({ args: ['--secret-cache-mb', '8'] });
    await createVault(server, 'cached');
    const client = secretClient(server, 'cached');
    const first = await client.setSecret('db', 'one');
    assert.equal((await client.getSecret('db')).value, 'one');
    assert.equal((await client.getSecret('DB')).value, 'one');

    await client.setSecret('db', 'two');
    assert.equal((await client.getSecret('db')).value, 'two', 'a new version');
    assert.equal((await client.getSecret('db', { version: first.properties.version })).value, 'one');

    await client.updateSecretProperties('db', '', { enabled: false });
    await assert.rejects(client.getSecret('db'), (err: { statusCode?: number }) => err.statusCode === 403, 'disabled');
    await client.updateSecretProperties('db', '', { enabled: true, tags: { team: 'a' } });
    assert.deepEqual((await client.getSecret('db')).properties.tags, { team: 'a' });

    await (await client.beginDeleteSecret('db')).pollUntilDone();
    await assert.rejects(client.getSecret('db'), (err: { statusCode?: number }) => err.statusCode === 404, 'deleted');
    await (await client.beginRecoverDeletedSecret('db')).pollUntilDone();
    assert.equal((await client.getSecret('db')).value, 'two', 'recovered');
  });
});

describe('pooled random bytes', () => {
  it('never hands out the same bytes twice, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(pooledRandomHex(16));
    const views = Array.from({ length: 1000 }, () => pooledRandomBytes(12));
    for (const v of views) seen.add(v.toString('hex'));
    assert.equal(seen.size, 3000);
    // Views taken before a refill keep their bytes.
    const kept = views.map((v) => v.toString('hex'));
    for (let i = 0; i < 2000; i++) pooledRandomBytes(12);
    assert.deepEqual(
      views.map((v) => v.toString('hex')),
      kept,
    );
    assert.throws(() => pooledRandomBytes(4097), RangeError);
  });
});
