import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { Keyring } from '../crypto/keyring.js';
import { wrapInto } from '../crypto/wrapped-setting.js';
import type { PrincipalStore, SettingsStore } from '../storage/store-types.js';
import { createCredentialHasher, isKeyedHash, type CredentialHasher } from './password-hash.js';
import {
  CREDENTIAL_PEPPER_SETTING,
  currentGeneration,
  markedConverted,
  openPeppers,
  pepperAad,
  pepperFingerprint,
  readPepperRow,
  rewrapped,
  withNewGeneration,
  type StoredPepper,
} from './credential-pepper-row.js';

// The pepper that keys every stored credential hash (password-hash.ts): a
// random key per deployment, kept wrapped by the master keyring in the
// settings table (credential-pepper-row.ts), so that no database copy holds
// it in the clear.
//
// Hashes stored before the pepper existed are converted once, when it is
// made; and each master key rotation renews the pepper, keying every stored
// hash again under the new generation. Each conversion happens once: a hash
// written in an older form later (by whoever can write the database, holding
// no master key or only an old one) must stay unusable, not become valid at
// the next start. Whether the conversion is done is bound into the wrapped
// key's AAD, so it cannot be reset without the master key; and the data dir
// records the newest generation's fingerprint (credential-pepper.json), so a
// pepper removed from the database (which would look like a database from
// before the pepper, and be converted) or rolled back stops the start instead.

export { CREDENTIAL_PEPPER_SETTING };

export class CredentialPepperChangedError extends Error {
  constructor(file: string, found: string) {
    super(
      `${found} (${file}): it was removed or replaced in the database, and credential hashes written there without the master key could become valid. ` +
        `If the database was replaced on purpose (a restore), remove ${file} and start again.`,
    );
    this.name = 'CredentialPepperChangedError';
  }
}

const MAX_ATTEMPTS = 5;

interface Recorded {
  fingerprint: string;
  /** Absent in records from before renewals: 0. */
  generation?: number;
}

/** Refuses a row that lost the generation this data dir recorded (rolled back, replaced). */
function checkRecorded(file: string, recorded: Recorded, peppers: readonly Buffer[]): void {
  const generation = recorded.generation ?? 0;
  if (generation >= peppers.length) {
    throw new CredentialPepperChangedError(file, `the database's credential pepper is at generation ${peppers.length - 1}, but this data dir used generation ${generation}`);
  }
  if (pepperFingerprint(peppers[generation]!) !== recorded.fingerprint) {
    throw new CredentialPepperChangedError(file, "the database's credential pepper is another than this data dir recorded");
  }
}

/**
 * The deployment's credential hasher. On the first start with a pepper (every
 * cluster member gets the one stored first) the hashes stored before it are
 * converted (`converted` counts them); a start cut short converts the rest,
 * as it does for a renewal cut short. `file` (in the data dir) records the
 * newest generation's fingerprint. `reload` reads the generations again
 * (another cluster member renewed the pepper).
 */
export async function openCredentialHasher(
  settings: SettingsStore,
  principals: PrincipalStore,
  keyring: Keyring,
  file: string,
): Promise<{ hasher: CredentialHasher; converted: number; reload: (keyring: Keyring) => Promise<void> }> {
  const recorded = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Recorded) : null;
  if ((await settings.get(CREDENTIAL_PEPPER_SETTING)) === null) {
    if (recorded !== null) throw new CredentialPepperChangedError(file, "the database's credential pepper is missing, but this data dir recorded one");
    // A data dir without the record (a new cluster member's) cannot tell; keyed hashes in the database can: a pepper made them.
    if (await holdsKeyedHashes(principals)) throw new CredentialPepperChangedError(file, "the database's credential pepper is missing, but it holds hashes keyed with one");
  }
  const first = randomBytes(32);
  await settings.setIfAbsent(CREDENTIAL_PEPPER_SETTING, JSON.stringify(wrapInto(keyring, first, pepperAad(0, false), { converted: false })));
  first.fill(0);
  const { stored } = (await readPepperRow(settings))!;
  const peppers = openPeppers(keyring, stored);
  if (recorded !== null) checkRecorded(file, recorded, peppers);
  const hasher = createCredentialHasher({ peppers, converting: false });
  const converted = stored.converted === true ? 0 : await finishConversion(settings, principals, keyring, hasher);
  recordGeneration(file, peppers);
  // The same generation too: a member that read a renewal while its conversion ran must stop taking the previous generation's hashes once it is done.
  const reload = async (current: Keyring) => {
    const read = await readPepperRow(settings);
    if (read === null || currentGeneration(read.stored) < hasher.generation) return;
    hasher.use({ peppers: openPeppers(current, read.stored), converting: read.stored.converted !== true });
  };
  return { hasher, converted, reload };
}

function recordGeneration(file: string, peppers: readonly Buffer[]): void {
  const record: Recorded = { fingerprint: pepperFingerprint(peppers[peppers.length - 1]!), generation: peppers.length - 1 };
  writeFileAtomic(file, JSON.stringify(record) + '\n');
}

/** Records a renewal done by this server in its data dir (as a start would), so that rolling it back is refused. */
export async function recordCredentialPepper(settings: SettingsStore, keyring: Keyring, file: string): Promise<void> {
  const read = await readPepperRow(settings);
  if (read !== null) recordGeneration(file, openPeppers(keyring, read.stored));
}

/**
 * Converts the stored hashes to the current generation (unkeyed ones for
 * generation 0, keyed ones of the previous generation after a renewal),
 * then marks the conversion done. Returns how many hashes it converted.
 */
async function finishConversion(settings: SettingsStore, principals: PrincipalStore, keyring: Keyring, hasher: CredentialHasher): Promise<number> {
  const convert = hasher.generation === 0 ? (h: string) => hasher.upgrade(h) : (h: string) => hasher.layer(h);
  hasher.use({ peppers: peppersOf(hasher, keyring, await readPepperRow(settings)), converting: true });
  // Twice: a credential written by this server with the previous generation while the first pass ran is caught by the second.
  const converted = (await convertStoredHashes(principals, convert)) + (await convertStoredHashes(principals, convert));
  for (let attempt = 0; ; attempt++) {
    if (attempt === MAX_ATTEMPTS) throw new Error(`the credential pepper changed under ${MAX_ATTEMPTS} attempts to mark its conversion done`);
    const read = (await readPepperRow(settings))!;
    // Done by another member meanwhile (or renewed again by one: that renewal converts these hashes further).
    if (read.stored.converted === true || currentGeneration(read.stored) !== hasher.generation) break;
    const peppers = openPeppers(keyring, read.stored);
    if (await settings.replace(CREDENTIAL_PEPPER_SETTING, read.raw, JSON.stringify(markedConverted(keyring, read.stored, peppers[peppers.length - 1]!)))) break;
  }
  const now = (await readPepperRow(settings))!.stored;
  hasher.use({ peppers: openPeppers(keyring, now), converting: now.converted !== true });
  return converted;
}

function peppersOf(hasher: CredentialHasher, keyring: Keyring, read: { stored: StoredPepper } | null): Buffer[] {
  const peppers = openPeppers(keyring, read!.stored);
  if (peppers.length - 1 !== hasher.generation) throw new Error('the credential pepper was renewed twice at once');
  return peppers;
}

/**
 * Gives the deployment a new pepper generation under the keyring's primary
 * and keys every stored hash again under it. `hasher` (a running server's)
 * hashes with the new generation from the moment it is stored. False when
 * there is no pepper yet.
 */
export async function renewCredentialPepper(settings: SettingsStore, principals: PrincipalStore, keyring: Keyring, hasher?: CredentialHasher): Promise<boolean> {
  const first = await readPepperRow(settings);
  if (first === null) return false;
  const own = hasher ?? createCredentialHasher({ peppers: openPeppers(keyring, first.stored), converting: false });
  for (let attempt = 0; ; attempt++) {
    if (attempt === MAX_ATTEMPTS) throw new Error(`the credential pepper changed under ${MAX_ATTEMPTS} attempts to renew it`);
    const read = (await readPepperRow(settings))!;
    const peppers = openPeppers(keyring, read.stored);
    if (read.stored.converted !== true) {
      // A conversion left unfinished (a start cut short, another member's renewal) is finished first: its hashes would otherwise stay behind for good.
      own.use({ peppers, converting: true });
      await finishConversion(settings, principals, keyring, own);
      continue;
    }
    const pepper = randomBytes(32);
    if (await settings.replace(CREDENTIAL_PEPPER_SETTING, read.raw, JSON.stringify(withNewGeneration(keyring, read.stored, peppers, pepper)))) {
      own.use({ peppers: [...peppers, pepper], converting: true });
      break;
    }
    pepper.fill(0);
  }
  await finishConversion(settings, principals, keyring, own);
  return true;
}

/** Rewraps every pepper generation not yet under `to`'s primary; false when none was. */
export async function rewrapCredentialPepper(settings: SettingsStore, from: Keyring, to: Keyring): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const read = await readPepperRow(settings);
    const next = read && rewrapped(from, to, read.stored);
    if (!read || !next) return false;
    if (await settings.replace(CREDENTIAL_PEPPER_SETTING, read.raw, JSON.stringify(next))) return true;
  }
  throw new Error(`the credential pepper changed under ${MAX_ATTEMPTS} attempts to rewrap it`);
}

/** Throws unless every pepper generation opens under the keyring (and links to the one before). */
export async function checkCredentialPepper(settings: SettingsStore, keyring: Keyring): Promise<void> {
  const read = await readPepperRow(settings);
  if (read !== null) openPeppers(keyring, read.stored).forEach((p) => p.fill(0));
}

async function holdsKeyedHashes(principals: PrincipalStore): Promise<boolean> {
  for (const p of await principals.list()) {
    if (p.passwordHash !== null && isKeyedHash(p.passwordHash)) return true;
    if (p.kind === 'ServicePrincipal' && (await principals.listClientSecrets(p.objectId)).some((s) => isKeyedHash(s.secretHash))) return true;
  }
  return false;
}

/** Replaces each hash `convert` has a new form for; each row changes only if it still holds the hash read, so members starting together agree. */
async function convertStoredHashes(principals: PrincipalStore, convert: (stored: string) => string | null): Promise<number> {
  let converted = 0;
  for (const p of await principals.list()) {
    const password = p.passwordHash === null ? null : convert(p.passwordHash);
    if (password !== null && (await principals.replaceCredentialHash(p.objectId, null, p.passwordHash!, password))) converted++;
    if (p.kind !== 'ServicePrincipal') continue;
    for (const s of await principals.listClientSecrets(p.objectId)) {
      const secret = convert(s.secretHash);
      if (secret !== null && (await principals.replaceCredentialHash(p.objectId, s.keyId, s.secretHash, secret))) converted++;
    }
  }
  return converted;
}
