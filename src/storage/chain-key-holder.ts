import { keysByGeneration, type ChainKey, type ChainKeys, type KeyRenewal } from '../audit/audit-chain.js';

// The audit key generations a store appends with (audit-chain.ts). A store
// that meets a head checkpoint sealed under a generation it does not hold
// (another cluster member renewed the key) reloads them from the database.

export interface ChainKeyHolder {
  /** The keys by generation; null until the store is given them (records are refused meanwhile). */
  readonly keys: ChainKeys | null;
  use(key: ChainKey, reload?: () => Promise<ChainKey>): void;
  /** Holds exactly `keys` (a renewal about to commit, or one undone). */
  set(keys: ChainKeys | null): void;
  /** Reads the keys from the database again; false when there is no way to (no reload given). */
  reload(): Promise<boolean>;
}

export function createChainKeyHolder(): ChainKeyHolder {
  let keys: ChainKeys | null = null;
  let reloadFrom: (() => Promise<ChainKey>) | undefined;
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
    async reload() {
      if (!reloadFrom) return false;
      keys = keysByGeneration(await reloadFrom());
      return true;
    },
  };
}

/** The keys held with `current`'s generations that are not, and the renewal's: what a renewal stores with. */
export const withRenewal = (held: ChainKeys | null, current: ChainKey, renewal: KeyRenewal): ChainKeys => ({
  ...keysByGeneration(current),
  ...held,
  [renewal.generation]: renewal.key,
});
