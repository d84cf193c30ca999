import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Keyring } from './keyring.js';
import type { VaultRow, VaultStore } from '../storage/store-types.js';
import { IntegrityError, newDataKey } from './envelope.js';
import { maySeal, UnsealableKeyError, unwrapVaultKey, wrapVaultKey } from './vault-key-wrap.js';
import { createWriteGate } from '../server/one-at-a-time.js';

// Per-vault data keys. Each vault's key is wrapped by the master keyring and
// unwrapped once per process; the unwrapped key never leaves memory. It is
// kept as a KeyObject (OpenSSL's copy; the raw bytes are zeroed), which also
// spares every cipher a key import.
//
// A master key rotation renews every vault's data key (a new generation):
// values written from then on are sealed with a key that the old master key
// never wrapped. Earlier generations stay, each still opening the values
// sealed with it; they are read from the store when first needed.

/** What a vault row says about its current data key. */
export type VaultKeyRef = Pick<VaultRow, 'id' | 'dekWrapped' | 'masterKeyId' | 'dekGeneration'>;

export interface SealingKey {
  key: KeyObject;
  generation: number;
  /** The master key that was primary when this data key was made (vault-key-wrap.ts); null: not recorded. */
  born: string | null;
}

export interface VaultKeys {
  /**
   * The key the vault's new values are sealed with: the row's, or a newer one
   * this process renewed it to (a request may hold the row from before a
   * rotation); read from the store when the row is older than a renewal.
   */
  sealingKey(vault: VaultKeyRef): SealingKey | Promise<SealingKey>;
  /** The key of `generation`: at once when cached or on the row, else from the store. */
  openingKey(vault: VaultKeyRef, generation: number): KeyObject | Promise<KeyObject>;
  /** A fresh data key for a new vault, wrapped under the primary master key. */
  create(vaultId: string): { dekWrapped: Buffer; masterKeyId: string; dekGeneration: number };
  forget(vaultId: string): void;
  /** Replaces the keyring used for unwrapping (after a rotation). */
  useKeyring(keyring: Keyring): void;
  /** A key this process has just renewed and stored as `generation`: it seals the vault's values from now on. Zeroes `raw`. */
  renewed(vaultId: string, generation: number, raw: Buffer): void;
  /**
   * Runs a task that wraps a key or seals a value and stores the result, so
   * that no rotation runs meanwhile. A rotation lists the keys in use and
   * retires the rest, and would miss a vault whose key is wrapped but not yet
   * stored (on PostgreSQL the insert can wait on a lock), leaving it under a
   * retired key; and a value sealed before a renewal but stored after it
   * would be under the key the rotation means to leave behind.
   */
  writing<T>(task: () => Promise<T>): Promise<T>;
  /** Runs a rotation once the writes in progress are stored; writes started meanwhile wait for it. */
  rotating<T>(task: () => Promise<T>): Promise<T>;
}

export function createVaultKeys(initial: Keyring, store: Pick<VaultStore, 'getById' | 'earlierKey'>): VaultKeys {
  let keyring = initial;
  const current = new Map<string, SealingKey>();
  const earlier = new Map<string, Map<number, KeyObject>>();
  // The newest generation each vault was renewed to by this process: a request's older row must not seal with its key.
  const renewedTo = new Map<string, number>();
  const gate = createWriteGate();

  const unwrap = (id: string, generation: number, masterKeyId: string, dekWrapped: Buffer): { key: KeyObject; born: string | null } => {
    const { raw, born } = unwrapVaultKey(keyring, { id, generation, masterKeyId, dekWrapped });
    const key = createSecretKey(raw);
    raw.fill(0);
    return { key, born };
  };
  const keepEarlier = (vaultId: string, generation: number, key: KeyObject): KeyObject => {
    let held = earlier.get(vaultId);
    if (!held) earlier.set(vaultId, (held = new Map()));
    held.set(generation, key);
    return key;
  };
  /**
   * A key born under a master key the keyring no longer holds never seals:
   * whoever held that master key knows it (a database writer may have made
   * an earlier generation current again). A start renews such keys.
   */
  const sealable = (vaultId: string, k: SealingKey): SealingKey => {
    if (maySeal(keyring, k.born)) return k;
    throw new UnsealableKeyError(`the current data key of vault ${vaultId} (generation ${k.generation})`);
  };
  /** The lowest generation this process may seal the vault's values with: the row's, or the one it renewed the vault to. */
  const floor = (vault: VaultKeyRef) => Math.max(vault.dekGeneration, renewedTo.get(vault.id) ?? 0);
  /** The row's key, held as current unless this process knows a newer one (a row read before a renewal: then an earlier generation). */
  const fromRow = (vault: VaultKeyRef): SealingKey => {
    const entry = { generation: vault.dekGeneration, ...unwrap(vault.id, vault.dekGeneration, vault.masterKeyId, vault.dekWrapped) };
    const held = current.get(vault.id);
    if ((held && held.generation > entry.generation) || entry.generation < floor(vault)) keepEarlier(vault.id, entry.generation, entry.key);
    else current.set(vault.id, entry);
    return entry;
  };
  // The row predates a renewal this process has forgotten the key of (a forget between the two): read it again.
  async function fresh(vaultId: string, atLeast: number): Promise<SealingKey> {
    const row = await store.getById(vaultId);
    if (!row || row.dekGeneration < atLeast) throw new IntegrityError(`vault ${vaultId} has no data key of generation ${atLeast} or later`);
    return fromRow(row);
  }
  async function stored(vaultId: string, generation: number): Promise<KeyObject> {
    const row = await store.earlierKey(vaultId, generation);
    if (!row) throw new IntegrityError(`vault ${vaultId} has no data key of generation ${generation}`);
    return keepEarlier(vaultId, generation, unwrap(vaultId, generation, row.masterKeyId, row.dekWrapped).key);
  }

  return {
    sealingKey(vault) {
      const least = floor(vault);
      const held = current.get(vault.id);
      if (held && held.generation >= least) return sealable(vault.id, held);
      return vault.dekGeneration >= least ? sealable(vault.id, fromRow(vault)) : fresh(vault.id, least).then((k) => sealable(vault.id, k));
    },
    openingKey(vault, generation) {
      const held = current.get(vault.id);
      if (held?.generation === generation) return held.key;
      const old = earlier.get(vault.id)?.get(generation);
      if (old) return old;
      // Sealed with a key newer than the row (another member renewed it, and this one holds the row from before).
      if (generation > vault.dekGeneration) return fresh(vault.id, generation).then((k) => (k.generation === generation ? k.key : stored(vault.id, generation)));
      return generation < vault.dekGeneration ? stored(vault.id, generation) : fromRow(vault).key;
    },
    create(vaultId) {
      const dek = newDataKey();
      const wrapped = wrapVaultKey(keyring, vaultId, 0, dek);
      current.set(vaultId, { generation: 0, key: createSecretKey(dek), born: keyring.primaryId });
      dek.fill(0);
      return { ...wrapped, dekGeneration: 0 };
    },
    forget(vaultId) {
      current.delete(vaultId);
      earlier.delete(vaultId);
    },
    useKeyring(next) {
      keyring = next;
    },
    renewed(vaultId, generation, raw) {
      // Only a vault in use gets its new key now (a deployment may hold many vaults); the others read it when used.
      const was = current.get(vaultId);
      if (was) {
        keepEarlier(vaultId, was.generation, was.key);
        current.set(vaultId, { generation, key: createSecretKey(raw), born: keyring.primaryId });
      }
      raw.fill(0);
      renewedTo.set(vaultId, generation);
    },
    writing: (task) => gate.writing(task),
    rotating: (task) => gate.exclusive(task),
  };
}
