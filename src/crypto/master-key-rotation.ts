import type { SigningKeyRow, Store } from '../storage/store-types.js';
import { vaultKeyAad, signingKeyAad } from './envelope.js';
import { BACKUP_KEY_SETTING, rewrapBackupKey } from './backup-key.js';
import { AUDIT_KEY_SETTING, rewrapAuditKey } from '../audit/audit-key.js';
import { CREDENTIAL_PEPPER_SETTING, rewrapCredentialPepper } from '../identity/credential-pepper.js';
import { wrappedSettingKeyId } from './wrapped-setting.js';
import { addPrimaryToFile, loadKeyring, retainOnlyInFile, type Keyring } from './keyring.js';

// Rewrapping moves every key wrapped by an older master key under the
// keyring's primary key. The data itself (secret values) is never touched:
// it is sealed by vault data keys, which do not change.

export interface RewrapResult {
  vaultKeys: number;
  signingKeys: number;
  backupKey: boolean;
  auditKey: boolean;
  credentialPepper: boolean;
  /** Signing keys left as they were: they do not open under the keyring (written into the database without it). */
  untrustedSigningKeys: string[];
}

/** Whether a stored signing key opens under the keyring (the token service trusts no other). */
function signingKeyOpens(row: SigningKeyRow, keyring: Keyring): boolean {
  try {
    keyring.unwrap(row.masterKeyId, row.privateSealed, signingKeyAad(row.kid, row.retiredAt)).fill(0);
    return true;
  } catch {
    return false;
  }
}

export async function rewrapAll(store: Store, keyring: Keyring): Promise<RewrapResult> {
  let vaultKeys = 0;
  for (const row of await store.vaults.listKeys()) {
    if (row.masterKeyId === keyring.primaryId) continue;
    const dek = keyring.unwrap(row.masterKeyId, row.dekWrapped, vaultKeyAad(row.id));
    const { sealed, keyId } = keyring.wrap(dek, vaultKeyAad(row.id));
    await store.vaults.rewrapKey(row.id, sealed, keyId);
    vaultKeys++;
  }
  let signingKeys = 0;
  const untrustedSigningKeys: string[] = [];
  for (const row of await store.signingKeys.list()) {
    if (row.masterKeyId === keyring.primaryId) continue;
    // A key that does not open signs and verifies nothing; it must not stop the rotation (and keep an old master key alive).
    if (!signingKeyOpens(row, keyring)) {
      untrustedSigningKeys.push(row.kid);
      continue;
    }
    const pkcs8 = keyring.unwrap(row.masterKeyId, row.privateSealed, signingKeyAad(row.kid, row.retiredAt));
    const { sealed, keyId } = keyring.wrap(pkcs8, signingKeyAad(row.kid, row.retiredAt));
    await store.signingKeys.rewrap(row.kid, sealed, keyId);
    signingKeys++;
  }
  const backupKey = await rewrapBackupKey(store.settings, keyring, keyring);
  const auditKey = await rewrapAuditKey(store.settings, keyring, keyring);
  const credentialPepper = await rewrapCredentialPepper(store.settings, keyring, keyring);
  return { vaultKeys, signingKeys, backupKey, auditKey, credentialPepper, untrustedSigningKeys };
}

/** Master key ids still referenced by stored wrapped keys (signing keys that do not open under `keyring` left out). */
export async function keyIdsInUse(store: Store, keyring: Keyring): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const row of await store.vaults.listKeys()) ids.add(row.masterKeyId);
  for (const row of await store.signingKeys.list()) if (signingKeyOpens(row, keyring)) ids.add(row.masterKeyId);
  for (const setting of [BACKUP_KEY_SETTING, AUDIT_KEY_SETTING, CREDENTIAL_PEPPER_SETTING]) {
    const id = await wrappedSettingKeyId(store.settings, setting);
    if (id) ids.add(id);
  }
  return ids;
}

/**
 * Rotates a file-based keyring: adds a new primary, rewraps every wrapped key
 * under it, then drops the keys nothing references any more. `onKeyring` lets
 * a running server switch to each keyring as it becomes current.
 */
export async function rotateKeyringFile(
  file: string,
  store: Store,
  onKeyring: (keyring: Keyring) => void = () => {},
  onRewrapped: () => void = () => {},
): Promise<RewrapResult & { primaryId: string; retired: string[] }> {
  const both = addPrimaryToFile(file);
  onKeyring(both);
  const result = await rewrapAll(store, both);
  // Before any key is retired: whoever holds wrapped keys read earlier must read them again.
  onRewrapped();
  const inUse = await keyIdsInUse(store, both);
  // Every key still referenced stays, this rotation's own included: the file's primary is kept as primary anyway.
  const keep = both.ids().filter((id) => inUse.has(id));
  retainOnlyInFile(file, keep);
  const final = loadKeyring({ file }).keyring;
  onKeyring(final);
  return { ...result, primaryId: final.primaryId, retired: both.ids().filter((id) => !final.has(id)) };
}
