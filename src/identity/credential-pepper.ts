import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { Keyring } from '../crypto/keyring.js';
import { rewrapSetting, unwrapFrom, wrapInto, type WrappedSetting } from '../crypto/wrapped-setting.js';
import type { PrincipalStore, SettingsStore } from '../storage/store-types.js';
import { createCredentialHasher, isKeyedHash, type CredentialHasher } from './password-hash.js';

// The pepper that keys every stored credential hash (password-hash.ts): a
// random key per deployment, kept wrapped by the master keyring in the
// settings table, so that no database copy holds it in the clear.
//
// Hashes stored before the pepper existed are converted once, when it is
// made. Never again: a hash written in the unkeyed form later (by whoever
// can write the database but holds no master key) must stay unusable, not
// become valid at the next start. Whether the conversion is done is bound
// into the wrapped key's AAD, so it cannot be reset without the master key;
// and the data dir records the pepper's fingerprint (credential-pepper.json),
// so a pepper removed from the database (which would look like a database
// from before the pepper, and be converted) stops the start instead.

export const CREDENTIAL_PEPPER_SETTING = 'credentialPepper';
type Stored = WrappedSetting & { converted: boolean };
const aad = (converted: boolean) => `coffer/credential-pepper/v1${converted ? '' : ';converting'}`;

export class CredentialPepperChangedError extends Error {
  constructor(file: string, found: string) {
    super(
      `${found} (${file}): it was removed or replaced in the database, and credential hashes written there without the master key could become valid. ` +
        `If the database was replaced on purpose (a restore), remove ${file} and start again.`,
    );
    this.name = 'CredentialPepperChangedError';
  }
}

const fingerprintOf = (pepper: Buffer): string => createHmac('sha256', pepper).update('coffer-credential-pepper-fingerprint').digest('hex').slice(0, 32);

/**
 * The deployment's credential hasher. On the first start with a pepper (every
 * cluster member gets the one stored first) the hashes stored before it are
 * converted (`converted` counts them); a start cut short converts the rest.
 * `file` (in the data dir) records the pepper's fingerprint.
 */
export async function openCredentialHasher(
  settings: SettingsStore,
  principals: PrincipalStore,
  keyring: Keyring,
  file: string,
): Promise<{ hasher: CredentialHasher; converted: number }> {
  const recorded = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { fingerprint: string }).fingerprint : null;
  if ((await settings.get(CREDENTIAL_PEPPER_SETTING)) === null) {
    if (recorded !== null) throw new CredentialPepperChangedError(file, "the database's credential pepper is missing, but this data dir recorded one");
    // A data dir without the record (a new cluster member's) cannot tell; keyed hashes in the database can: a pepper made them.
    if (await holdsKeyedHashes(principals)) throw new CredentialPepperChangedError(file, "the database's credential pepper is missing, but it holds hashes keyed with one");
  }
  const fresh = JSON.stringify(wrapInto(keyring, randomBytes(32), aad(false), { converted: false }));
  const stored = JSON.parse(await settings.setIfAbsent(CREDENTIAL_PEPPER_SETTING, fresh)) as Stored;
  let pepper: Buffer;
  try {
    pepper = unwrapFrom(keyring, stored, aad(stored.converted === true));
  } catch (err) {
    throw new Error(`the credential pepper (setting ${CREDENTIAL_PEPPER_SETTING}) does not open under the master key: it was changed outside coffer`, { cause: err });
  }
  const fingerprint = fingerprintOf(pepper);
  if (recorded === null) writeFileAtomic(file, JSON.stringify({ fingerprint }) + '\n');
  else if (recorded !== fingerprint) throw new CredentialPepperChangedError(file, "the database's credential pepper is another than this data dir recorded");
  const hasher = createCredentialHasher(pepper);
  if (stored.converted === true) return { hasher, converted: 0 };
  const converted = await pepperStoredHashes(principals, hasher);
  await settings.set(CREDENTIAL_PEPPER_SETTING, JSON.stringify(wrapInto(keyring, pepper, aad(true), { converted: true })));
  return { hasher, converted };
}

export const rewrapCredentialPepper = (settings: SettingsStore, from: Keyring, to: Keyring): Promise<boolean> =>
  rewrapSetting<Stored>(settings, CREDENTIAL_PEPPER_SETTING, (stored) => aad(stored.converted === true), from, to);

async function holdsKeyedHashes(principals: PrincipalStore): Promise<boolean> {
  for (const p of await principals.list()) {
    if (p.passwordHash !== null && isKeyedHash(p.passwordHash)) return true;
    if (p.kind === 'ServicePrincipal' && (await principals.listClientSecrets(p.objectId)).some((s) => isKeyedHash(s.secretHash))) return true;
  }
  return false;
}

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
