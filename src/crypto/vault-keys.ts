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
}

export function createVaultKeys(initial: Keyring): VaultKeys {
  let keyring = initial;
  const cache = new Map<string, KeyObject>();
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
  };
}
