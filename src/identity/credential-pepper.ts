import { randomBytes } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.js';
import { rewrapSetting, unwrapFrom, wrapInto, type WrappedSetting } from '../crypto/wrapped-setting.js';
import type { PrincipalStore, SettingsStore } from '../storage/store-types.js';
import { createCredentialHasher, type CredentialHasher } from './password-hash.js';

// The pepper that keys every stored credential hash (password-hash.ts): a
// random key per deployment, kept wrapped by the master keyring in the
// settings table, so that no database copy holds it in the clear.
//
// Hashes stored before the pepper existed are converted once, when it is
// made. Never again: a hash written in the unkeyed form later (by whoever
// can write the database but holds no master key) must stay unusable, not
// become valid at the next start. Whether the conversion is done is bound
// into the wrapped key's AAD, so it cannot be reset without the master key.

export const CREDENTIAL_PEPPER_SETTING = 'credentialPepper';
type Stored = WrappedSetting & { converted: boolean };
const aad = (converted: boolean) => `coffer/credential-pepper/v1${converted ? '' : ';converting'}`;

/**
 * The deployment's credential hasher. On the first start with a pepper (every
 * cluster member gets the one stored first) the hashes stored before it are
 * converted (`converted` counts them); a start cut short converts the rest.
 */
export async function openCredentialHasher(settings: SettingsStore, principals: PrincipalStore, keyring: Keyring): Promise<{ hasher: CredentialHasher; converted: number }> {
  const fresh = JSON.stringify(wrapInto(keyring, randomBytes(32), aad(false), { converted: false }));
  const stored = JSON.parse(await settings.setIfAbsent(CREDENTIAL_PEPPER_SETTING, fresh)) as Stored;
  let pepper: Buffer;
  try {
    pepper = unwrapFrom(keyring, stored, aad(stored.converted === true));
  } catch (err) {
    throw new Error(`the credential pepper (setting ${CREDENTIAL_PEPPER_SETTING}) does not open under the master key: it was changed outside coffer`, { cause: err });
  }
  const hasher = createCredentialHasher(pepper);
  if (stored.converted === true) return { hasher, converted: 0 };
  const converted = await pepperStoredHashes(principals, hasher);
  await settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(wrapInto(keyring, pepper, aad(true), { converted: true })));
  return { hasher, converted };
}

export const rewrapCredentialPepper = (settings: SettingsStore, from: Keyring, to: Keyring): Promise<boolean> =>
  rewrapSetting<Stored>(settings, CREDENTIAL_PEPPER_SETTING, (stored) => aad(stored.converted === true), from, to);

/** Keys the unkeyed hashes in place; each row changes only if it still holds the hash read, so members starting together agree. */
async function pepperStoredHashes(principals: PrincipalStore, hasher: CredentialHasher): Promise<number> {
  let converted = 0;
  for (const p of await principals.list()) {
    const password = p.passwordHash === null ? null : hasher.upgrade(p.passwordHash);
    if (password !== null && (await principals.replaceCredentialHash(p.objectId, null, p.passwordHash!, password))) converted++;
    if (p.kind !== 'ServicePrincipal') continue;
    for (const s of await principals.listClientSecrets(p.objectId)) {
      const secret = hasher.upgrade(s.secretHash);
      if (secret !== null && (await principals.replaceCredentialHash(p.objectId, s.keyId, s.secretHash, secret))) converted++;
    }
  }
  return converted;
}
