import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Keyring } from './keyring.js';
import { newDataKey, vaultKeyAad } from './envelope.js';

// Per-vault data keys. Each vault's key is wrapped by the master keyring and
// unwrapped once per process; the unwrapped key never leaves memory. It is
// kept as a KeyObject (OpenSSL's copy; the raw bytes are zeroed), which also
// spares every cipher a key import.

export interface VaultKeys {
  /** The vault's data key, unwrapped (cached by vault id). */
  dataKey(vault: { id: string; dekWrapped: Buffer; masterKeyId: string }): KeyObject;
  /** A fresh data key for a new vault, wrapped under the primary master key. */
  create(vaultId: string): { dekWrapped: Buffer; masterKeyId: string };
  forget(vaultId: string): void;
  /** Replaces the keyring used for unwrapping (after a rotation). */
  useKeyring(keyring: Keyring): void;
  /**
   * Runs a create (`create`, then storing what it returned) so that no
   * rotation runs meanwhile: a rotation lists the keys in use and retires the
   * rest, and would miss a vault whose key is wrapped but not yet stored (on
   * PostgreSQL the insert can wait on a lock), leaving it under a retired key.
   */
  creating<T>(task: () => Promise<T>): Promise<T>;
  /** Runs a rotation once the creates in progress are stored; creates started meanwhile wait for it. */
  rotating<T>(task: () => Promise<T>): Promise<T>;
}

export function createVaultKeys(initial: Keyring): VaultKeys {
  let keyring = initial;
  const cache = new Map<string, KeyObject>();
  let creates = 0;
  let allCreated: (() => void) | null = null;
  let rotation: Promise<unknown> | null = null;
  const keep = (vaultId: string, raw: Buffer) => {
    const key = createSecretKey(raw);
    raw.fill(0);
    cache.set(vaultId, key);
    return key;
  };
  return {
    dataKey(vault) {
      return cache.get(vault.id) ?? keep(vault.id, keyring.unwrap(vault.masterKeyId, vault.dekWrapped, vaultKeyAad(vault.id)));
    },
    create(vaultId) {
      const dek = newDataKey();
      const { sealed, keyId } = keyring.wrap(dek, vaultKeyAad(vaultId));
      keep(vaultId, dek);
      return { dekWrapped: sealed, masterKeyId: keyId };
    },
    forget: (vaultId) => void cache.delete(vaultId),
    useKeyring(next) {
      keyring = next;
    },
    async creating(task) {
      while (rotation) await rotation.catch(() => undefined);
      creates++;
      try {
        return await task();
      } finally {
        if (--creates === 0) allCreated?.();
      }
    },
    async rotating(task) {
      while (rotation) await rotation.catch(() => undefined);
      const run = (async () => {
        if (creates > 0) await new Promise<void>((resolve) => (allCreated = resolve));
        allCreated = null;
        return task();
      })();
      rotation = run;
      try {
        return await run;
      } finally {
        rotation = null;
      }
    },
  };
}
