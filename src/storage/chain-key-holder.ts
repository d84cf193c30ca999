import { keysByGeneration, type ChainKey, type ChainKeys, type KeyRenewal } from '../audit/audit-chain.js';

// The audit key generations a store appends with (audit-chain.ts). A store
// that meets a head checkpoint sealed under a generation it does not hold
// (another cluster member renewed the key) reloads them from the database.

export interface ChainKeyHolder {
  /** The keys by generation; null until the store is given them (records are refused meanwhile). */
  readonly keys: ChainKeys | null;
  use(key: ChainKey, reload?: (row: string) => ChainKey): void;
  /** Holds exactly `keys` (a renewal about to commit, or one undone). */
  set(keys: ChainKeys | null): void;
  /** Takes the keys of a key row the caller read (in its transaction); false when it cannot (no row, no reload given, or the row does not open). */
  reload(row: string | null): boolean;
}

export function createChainKeyHolder(): ChainKeyHolder {
  let keys: ChainKeys | null = null;
  let reloadFrom: ((row: string) => ChainKey) | undefined;
  return {
    get keys() {
      return keys;
    },
    use(key, reload) {
      keys = keysByGeneration(key);
      if (reload) reloadFrom = reload;
    },
    set(next) {
      keys = next;
    },
    reload(row) {
      if (!reloadFrom || row === null) return false;
      try {
        keys = keysByGeneration(reloadFrom(row));
        return true;
      } catch {
        // A row that does not open (or holds fewer generations than this server used) changes nothing here.
        return false;
      }
    },
  };
}

/** The keys held with `current`'s generations that are not, and the renewal's: what a renewal stores with. */
export const withRenewal = (held: ChainKeys | null, current: ChainKey, renewal: KeyRenewal): ChainKeys => ({
  ...keysByGeneration(current),
  ...held,
  [renewal.generation]: renewal.key,
});
