import type { SecretStore, SecretVersionRow } from './store-types.js';
import { nameKey } from './store-support.js';

// A read-through cache of each secret's latest version (the row as stored:
// metadata and ciphertext, never a plaintext), in front of any SecretStore.
// GET of the latest value is the hot path, and a store read costs more than
// the rest of the authorization and decryption work together (on SQLite,
// mostly the per-read lock syscalls). It is correct because one server
// process owns the store (SQLite: one process per data dir; PostgreSQL: the
// session advisory lock): every change goes through this object.
//
// Consistency: a mutation drops the secret's entry when it starts and again
// when it settles, and a read fills the cache only if no mutation of that
// secret was in flight and none settled anywhere while it ran (a global
// generation), so a read that raced a write can never put the old row back.
// Bounded by bytes, least recently used first out.

export interface LatestVersionCacheOptions {
  /** Upper bound of the cached rows' estimated size. */
  maxBytes: number;
}

/** Per-entry overhead beyond the ciphertext and strings: the row object, its Map slot and key. */
const ENTRY_OVERHEAD = 320;

const keyOf = (vaultId: string, name: string) => `${vaultId}\u0000${nameKey(name)}`;

function sizeOf(row: SecretVersionRow): number {
  let tags = 0;
  if (row.tags) for (const [k, v] of Object.entries(row.tags)) tags += 2 * (k.length + v.length) + 32;
  return ENTRY_OVERHEAD + row.ciphertext.length + 2 * (row.name.length + row.vaultId.length + row.version.length + (row.contentType?.length ?? 0)) + tags;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
}

export function withLatestVersionCache(inner: SecretStore, opts: LatestVersionCacheOptions): SecretStore & { cacheStats(): CacheStats } {
  const entries = new Map<string, { row: SecretVersionRow; bytes: number }>();
  const inFlight = new Map<string, number>();
  let bytes = 0;
  let generation = 0;
  let hits = 0;
  let misses = 0;

  function drop(key: string) {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    bytes -= e.bytes;
  }

  function clear() {
    entries.clear();
    bytes = 0;
  }

  function put(key: string, row: SecretVersionRow) {
    const size = sizeOf(row);
    if (size > opts.maxBytes) return;
    drop(key);
    // Callers get the same object on every hit: freeze it so none can change what the next one reads.
    if (row.tags) Object.freeze(row.tags);
    entries.set(key, { row: Object.freeze(row), bytes: size });
    bytes += size;
    for (const [k, e] of entries) {
      if (bytes <= opts.maxBytes) break;
      entries.delete(k);
      bytes -= e.bytes;
    }
  }

  /** Runs a mutation of one secret with its entry dropped before and after. */
  async function mutating<T>(vaultId: string, name: string, run: () => Promise<T>): Promise<T> {
    const key = keyOf(vaultId, name);
    drop(key);
    inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    generation++;
    try {
      return await run();
    } finally {
      const left = (inFlight.get(key) ?? 1) - 1;
      if (left === 0) inFlight.delete(key);
      else inFlight.set(key, left);
      drop(key);
      generation++;
    }
  }

  async function everything<T>(run: () => Promise<T>): Promise<T> {
    clear();
    generation++;
    try {
      return await run();
    } finally {
      clear();
      generation++;
    }
  }

  return {
    async getVersion(vaultId, name, version) {
      if (version !== null) return inner.getVersion(vaultId, name, version);
      const key = keyOf(vaultId, name);
      const hit = entries.get(key);
      if (hit) {
        // Most recently used goes last.
        entries.delete(key);
        entries.set(key, hit);
        hits++;
        return hit.row;
      }
      misses++;
      const seen = generation;
      const row = await inner.getVersion(vaultId, name, null);
      if (row && seen === generation && !inFlight.has(key)) put(key, row);
      return row;
    },
    insertVersion: (row, audit) => mutating(row.vaultId, row.name, () => inner.insertVersion(row, audit)),
    updateVersion: (vaultId, name, version, patch, audit) => mutating(vaultId, name, () => inner.updateVersion(vaultId, name, version, patch, audit)),
    markDeleted: (vaultId, name, info, audit) => mutating(vaultId, name, () => inner.markDeleted(vaultId, name, info, audit)),
    recover: (vaultId, name, audit) => mutating(vaultId, name, () => inner.recover(vaultId, name, audit)),
    purge: (vaultId, name, onlyDeleted, audit) => mutating(vaultId, name, () => inner.purge(vaultId, name, onlyDeleted, audit)),
    restore: (vaultId, name, versions, audit) => mutating(vaultId, name, () => inner.restore(vaultId, name, versions, audit)),
    purgeExpired: (now) => everything(() => inner.purgeExpired(now)),
    getSummary: (vaultId, name) => inner.getSummary(vaultId, name),
    list: (vaultId, limit, after) => inner.list(vaultId, limit, after),
    listVersions: (vaultId, name, limit, after) => inner.listVersions(vaultId, name, limit, after),
    listDeleted: (vaultId, limit, after) => inner.listDeleted(vaultId, limit, after),
    allVersions: (vaultId, name, limit) => inner.allVersions(vaultId, name, limit),
    countVersions: (vaultId) => inner.countVersions(vaultId),
    cacheStats: () => ({ entries: entries.size, bytes, hits, misses }),
  };
}
