import { createSecretKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Keyring } from '../crypto/keyring.js';
import { IntegrityError } from '../crypto/envelope.js';
import { parseWrappedSetting, rewrappedUnder, unwrapFrom, wrapInto, type WrappedSetting } from '../crypto/wrapped-setting.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { SettingsStore } from '../storage/store-types.js';
import { createAuthorizationSeal, type AuthorizationSeal } from './authorization-seal.js';

// The authorization key (see authorization-seal.ts), in the settings table
// wrapped by the master keyring. It is made by the first start of a build
// that seals authorization data, which then seals every row already stored
// (trusting them, as the only moment it can) and marks the key `bound`.
// Whether it is bound is in the wrapping's AAD, so a database writer cannot
// mark it unbound to have the next start seal rows they added; the data dir
// records the key's fingerprint and that it was bound, so removing the key
// (to have one made anew) or putting back its unbound row is noticed too.

export const AUTHORIZATION_KEY_SETTING = 'authorizationKey';
/** The data dir's record of the key. */
export const AUTHORIZATION_KEY_FILE = 'authorization-key.json';

interface Stored extends WrappedSetting {
  bound?: true;
}

const aad = (bound: boolean) => `coffer/authorization-key/v1|${bound ? 'bound' : 'binding'}`;
const parse = (raw: string) => parseWrappedSetting<Stored>(AUTHORIZATION_KEY_SETTING, raw);

/** The seal of a stored key row (`raw`, the setting's value), opened under the keyring. */
export const sealOfStoredKey = (raw: string, keyring: Keyring): AuthorizationSeal => sealOf(parse(raw), keyring);

function sealOf(stored: Stored, keyring: Keyring): AuthorizationSeal {
  const bytes = unwrapFrom(keyring, stored, aad(stored.bound === true));
  const seal = createAuthorizationSeal(createSecretKey(bytes));
  bytes.fill(0);
  return seal;
}

interface KeyRecord {
  fingerprint: string;
  bound: boolean;
}

export class AuthorizationKeyChangedError extends Error {
  constructor(file: string, what: string) {
    super(
      `the database's authorization key ${what} (${file} records another state): it was removed, replaced or put back in the database, ` +
        'which would let rows added by a database writer be sealed as genuine. If the database was replaced on purpose, remove that file and start again.',
    );
    this.name = 'AuthorizationKeyChangedError';
  }
}

export interface LoadedAuthorizationKey {
  seal: AuthorizationSeal;
  /** False until every row stored before the key has been sealed (bindAuthorizationData, then markBound). */
  bound: boolean;
}

/** The key, made here if the database has none; held to the record in `file` (the data dir's). */
export async function loadAuthorizationKey(settings: SettingsStore, keyring: Keyring, file: string): Promise<LoadedAuthorizationKey> {
  const recorded = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as KeyRecord) : null;
  let raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  if (raw === null) {
    if (recorded) throw new AuthorizationKeyChangedError(file, 'is missing');
    const bytes = randomBytes(32);
    const fresh = JSON.stringify(wrapInto(keyring, bytes, aad(false), {}));
    bytes.fill(0);
    raw = await settings.setIfAbsent(AUTHORIZATION_KEY_SETTING, fresh);
  }
  const stored = parse(raw);
  const seal = sealOf(stored, keyring);
  const bound = stored.bound === true;
  if (recorded && recorded.fingerprint !== seal.fingerprint) throw new AuthorizationKeyChangedError(file, 'is another');
  if (recorded?.bound && !bound) throw new AuthorizationKeyChangedError(file, 'is marked as not yet bound, though it was');
  if (!recorded || recorded.bound !== bound) writeFileAtomic(file, JSON.stringify({ fingerprint: seal.fingerprint, bound } satisfies KeyRecord) + '\n');
  return { seal, bound };
}

/** Marks the stored key bound (rewrapped under the bound AAD), in the database and in `file`. */
export async function markAuthorizationKeyBound(settings: SettingsStore, keyring: Keyring, file: string): Promise<void> {
  const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  if (raw === null) throw new IntegrityError('the authorization key is missing from the database');
  const stored = parse(raw);
  if (!stored.bound) {
    const bytes = unwrapFrom(keyring, stored, aad(false));
    const next = { ...wrapInto(keyring, bytes, aad(true), {}), bound: true as const };
    bytes.fill(0);
    // Another cluster member may have bound it meanwhile: then it is bound either way.
    await settings.replace(AUTHORIZATION_KEY_SETTING, raw, JSON.stringify(next));
  }
  const seal = sealOf(parse((await settings.get(AUTHORIZATION_KEY_SETTING))!), keyring);
  writeFileAtomic(file, JSON.stringify({ fingerprint: seal.fingerprint, bound: true } satisfies KeyRecord) + '\n');
}

const MAX_ATTEMPTS = 5;

/** Rewraps the key under `to`'s primary (a master key rotation); false when it is there already or there is none. */
export async function rewrapAuthorizationKey(settings: SettingsStore, from: Keyring, to: Keyring): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
    if (raw === null) return false;
    const stored = parse(raw);
    const next = rewrappedUnder(from, to, stored, aad(stored.bound === true));
    if (next === stored) return false;
    if (await settings.replace(AUTHORIZATION_KEY_SETTING, raw, JSON.stringify(next))) return true;
  }
  throw new Error(`the authorization key changed under ${MAX_ATTEMPTS} attempts to rewrap it`);
}

/** Throws unless the stored key opens under the keyring. */
export async function checkAuthorizationKey(settings: Pick<SettingsStore, 'get'>, keyring: Keyring): Promise<void> {
  const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  if (raw !== null) sealOf(parse(raw), keyring);
}

/** The master key id the stored key is wrapped with (none when there is no key yet). */
export async function authorizationKeyIds(settings: Pick<SettingsStore, 'get'>): Promise<string[]> {
  const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  return raw === null ? [] : [parse(raw).keyId];
}
