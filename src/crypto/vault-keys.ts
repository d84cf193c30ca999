import type { Keyring } from './keyring.js';
import { newDataKey, vaultKeyAad } from './envelope.js';

// Per-vault data keys. Each vault's key is wrapped by the master keyring and
// unwrapped once per process; the unwrapped key never leaves memory.

export interface VaultKeys {
  /** The vault's data key, unwrapped (cached by vault id). */
  dataKey(vault: { id: string; dekWrapped: Buffer; masterKeyId: string }): Buffer;
  /** A fresh data key for a new vault, wrapped under the primary master key. */
  create(vaultId: string): { dekWrapped: Buffer; masterKeyId: string };
  forget(vaultId: string): void;
  /** Replaces the keyring used for unwrapping (after a rotation). */
  useKeyring(keyring: Keyring): void;
}

export function createVaultKeys(initial: Keyring): VaultKeys {
  let keyring = initial;
  const cache = new Map<string, Buffer>();
  return {
    dataKey(vault) {
      let key = cache.get(vault.id);
      if (!key) {
        key = keyring.unwrap(vault.masterKeyId, vault.dekWrapped, vaultKeyAad(vault.id));
        cache.set(vault.id, key);
      }
      return key;
    },
    create(vaultId) {
      const dek = newDataKey();
      const { sealed, keyId } = keyring.wrap(dek, vaultKeyAad(vaultId));
      cache.set(vaultId, dek);
      return { dekWrapped: sealed, masterKeyId: keyId };
    },
    forget: (vaultId) => void cache.delete(vaultId),
    useKeyring(next) {
      keyring = next;
    },
  };
}
