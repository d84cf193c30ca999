import { createSecretKey, randomBytes } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.js';
import { IntegrityError } from '../crypto/envelope.js';
import { parseWrappedSetting, rewrappedUnder, unwrapFrom, wrapInto, type WrappedSetting } from '../crypto/wrapped-setting.js';
import { readRecordFile, writeFileAtomic } from '../storage/atomic-file.js';
import type { SettingsStore } from '../storage/store-types.js';
import { createAuthorizationSeal, type AuthorizationSeal } from './authorization-seal.js';

// The authorization key (see authorization-seal.ts), in the settings table
// wrapped by the master keyring. It is made by the first start of a build
// that seals authorization data, which then seals every row already stored
// (trusting them, as the only moment it can) and marks the key `bound`.
// Whether it is bound, and its generation, are in the wrapping's AAD, so a
// database writer can neither mark it unbound (to have the next start seal
// rows they added) nor relabel it. The data dir records the key's
// fingerprint, generation and that it was bound, so removing the key (to
// have one made anew) or putting back an earlier one is noticed too.
//
// A master key rotation on a server that holds its database alone renews
// it: generation n + 1 is stored beside generation n (`previous`), every
// row sealed under n is sealed again under n + 1, and n is dropped. Whoever
// holds the old master key then knows no key that seals.

export const AUTHORIZATION_KEY_SETTING = 'authorizationKey';
/** The data dir's record of the key. */
export const AUTHORIZATION_KEY_FILE = 'authorization-key.json';

interface Generation extends WrappedSetting {
  /** Absent: 0. */
  generation?: number;
}

interface Stored extends Generation {
  bound?: true;
  /** While a renewal seals the rows again: the generation before. */
  previous?: Generation;
}

const aad = (bound: boolean, generation: number) => `coffer/authorization-key/v1|${bound ? 'bound' : 'binding'}${generation === 0 ? '' : `|generation:${generation}`}`;
const parse = (raw: string) => parseWrappedSetting<Stored>(AUTHORIZATION_KEY_SETTING, raw);
const generationOf = (g: Generation) => g.generation ?? 0;

function open(g: Generation, bound: boolean, keyring: Keyring): AuthorizationSeal {
  const generation = generationOf(g);
  if (!Number.isSafeInteger(generation) || generation < 0) throw new IntegrityError(`the authorization key names generation ${String(g.generation)}`);
  const bytes = unwrapFrom(keyring, g, aad(bound, generation));
  const seal = createAuthorizationSeal(createSecretKey(bytes), generation);
  bytes.fill(0);
  return seal;
}

/** A stored key row (`raw`): bound (the rows found unsealed were sealed under it), and amid a renewal (a start's pre-flight reads it). */
export const storedKeyState = (raw: string): { bound: boolean; renewing: boolean } => {
  const stored = parse(raw);
  return { bound: stored.bound === true, renewing: stored.previous !== undefined };
};

/** The current seal of a stored key row (`raw`, the setting's value), opened under the keyring. */
export const sealOfStoredKey = (raw: string, keyring: Keyring): AuthorizationSeal => {
  const stored = parse(raw);
  return open(stored, stored.bound === true, keyring);
};

interface KeyRecord {
  fingerprint: string;
  bound: boolean;
  /** Absent: 0. */
  generation?: number;
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
  /** The generation before, while a renewal has not sealed every row again (a start finishes it). */
  previous?: AuthorizationSeal;
}

const readRecord = (file: string): KeyRecord | null => readRecordFile<KeyRecord>(file);

/** Records the key in `file` (after it was made, bound or renewed). */
export function recordAuthorizationKey(file: string, seal: AuthorizationSeal, bound: boolean): void {
  writeFileAtomic(file, JSON.stringify({ fingerprint: seal.fingerprint, bound, generation: seal.generation } satisfies KeyRecord) + '\n');
}

/** Opens the stored row and holds it to the data dir's record (null: none); throws what does not match. */
function openRecorded(raw: string, keyring: Keyring, recorded: KeyRecord | null, file: string): LoadedAuthorizationKey {
  const stored = parse(raw);
  const bound = stored.bound === true;
  const seal = open(stored, bound, keyring);
  const previous = stored.previous && open(stored.previous, true, keyring);
  // A renewal replaces generation n by n + 1 only.
  if (previous && previous.generation !== seal.generation - 1) throw new AuthorizationKeyChangedError(file, `keeps generation ${previous.generation} beside ${seal.generation}`);
  if (recorded) {
    const was = recorded.generation ?? 0;
    if (seal.generation < was) throw new AuthorizationKeyChangedError(file, `is of generation ${seal.generation}, older than generation ${was}`);
    if (seal.generation === was && seal.fingerprint !== recorded.fingerprint) throw new AuthorizationKeyChangedError(file, 'is another');
    // A newer generation (a renewal this data dir did not record) is made under the current master key; one wrapped
    // under an earlier master key still held (a rotation's) may be the work of whoever held that key.
    if (seal.generation > was && stored.keyId !== keyring.primaryId) throw new AuthorizationKeyChangedError(file, `is a generation ${seal.generation} not wrapped under the current master key`);
    // The generation before is kept only until the renewal this data dir saw begin is finished: once recorded
    // finished, a row keeping it again is one put back, whose rows of that generation must not be sealed again.
    if (previous && (previous.generation !== was || previous.fingerprint !== recorded.fingerprint)) {
      throw new AuthorizationKeyChangedError(file, `keeps generation ${previous.generation} as unfinished, which this data dir did not see`);
    }
    if (recorded.bound && !bound) throw new AuthorizationKeyChangedError(file, 'is marked as not yet bound, though it was');
  }
  return { seal, bound, ...(previous ? { previous } : {}) };
}

/**
 * Holds the stored key to the data dir's record, changing nothing: a start
 * does so before a rotation at start (COFFER_PREVIOUS_MASTER_KEYS) rewraps or
 * renews it, which would otherwise take a row planted under the old master key.
 */
export async function checkAuthorizationKeyRecord(settings: Pick<SettingsStore, 'get'>, keyring: Keyring, file: string): Promise<void> {
  const recorded = readRecord(file);
  const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  if (raw === null) {
    if (recorded) throw new AuthorizationKeyChangedError(file, 'is missing');
    return;
  }
  openRecorded(raw, keyring, recorded, file);
}

/** The key, made here if the database has none; held to the record in `file` (the data dir's). */
export async function loadAuthorizationKey(settings: SettingsStore, keyring: Keyring, file: string): Promise<LoadedAuthorizationKey> {
  const recorded = readRecord(file);
  let raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  if (raw === null) {
    if (recorded) throw new AuthorizationKeyChangedError(file, 'is missing');
    const bytes = randomBytes(32);
    const fresh = JSON.stringify(wrapInto(keyring, bytes, aad(false, 0), {}));
    bytes.fill(0);
    raw = await settings.setIfAbsent(AUTHORIZATION_KEY_SETTING, fresh);
  }
  const loaded = openRecorded(raw, keyring, recorded, file);
  const { seal, bound } = loaded;
  // An unfinished renewal is recorded once finished (openAuthorizationSeal), not before.
  if (!loaded.previous && (!recorded || recorded.bound !== bound || recorded.fingerprint !== seal.fingerprint)) recordAuthorizationKey(file, seal, bound);
  return loaded;
}

/** Marks the stored key bound (rewrapped under the bound AAD), in the database and in `file`. */
export async function markAuthorizationKeyBound(settings: SettingsStore, keyring: Keyring, file: string): Promise<void> {
  const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  if (raw === null) throw new IntegrityError('the authorization key is missing from the database');
  const stored = parse(raw);
  if (!stored.bound) {
    const bytes = unwrapFrom(keyring, stored, aad(false, generationOf(stored)));
    const next = { ...wrapInto(keyring, bytes, aad(true, generationOf(stored)), {}), ...(stored.generation ? { generation: stored.generation } : {}), bound: true as const };
    bytes.fill(0);
    // Another cluster member may have bound it meanwhile: then it is bound either way.
    await settings.replace(AUTHORIZATION_KEY_SETTING, raw, JSON.stringify(next));
  }
  recordAuthorizationKey(file, sealOfStoredKey((await settings.get(AUTHORIZATION_KEY_SETTING))!, keyring), true);
}

const MAX_ATTEMPTS = 5;

/** Changes the stored row with `change` (null: no change) by compare-and-set, reading it again if it changed meanwhile; false when nothing changed. */
async function update(settings: SettingsStore, change: (stored: Stored) => Stored | null): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
    const next = raw === null ? null : change(parse(raw));
    if (raw === null || next === null) return false;
    if (await settings.replace(AUTHORIZATION_KEY_SETTING, raw, JSON.stringify(next))) return true;
  }
  throw new Error(`the authorization key changed under ${MAX_ATTEMPTS} attempts to update it`);
}

/**
 * Stores generation n + 1 (wrapped under the keyring's primary) as current,
 * keeping n as `previous`; returns both seals (null: no bound key to renew,
 * or a renewal unfinished, which finishRenewal must end first).
 */
export async function beginRenewal(settings: SettingsStore, keyring: Keyring): Promise<{ from: AuthorizationSeal; to: AuthorizationSeal } | null> {
  const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  if (raw === null) return null;
  const stored = parse(raw);
  if (!stored.bound || stored.previous) return null;
  const from = open(stored, true, keyring);
  const generation = from.generation + 1;
  const bytes = randomBytes(32);
  const to = createAuthorizationSeal(createSecretKey(bytes), generation);
  const next: Stored = { ...wrapInto(keyring, bytes, aad(true, generation), {}), generation, bound: true, previous: { keyId: stored.keyId, sealed: stored.sealed, ...(stored.generation ? { generation: stored.generation } : {}) } };
  bytes.fill(0);
  return (await settings.replace(AUTHORIZATION_KEY_SETTING, raw, JSON.stringify(next))) ? { from, to } : null;
}

/** Drops the previous generation once every row is sealed under the current one. */
export const finishRenewal = (settings: SettingsStore): Promise<boolean> =>
  update(settings, (stored) => {
    if (!stored.previous) return null;
    const { previous: _dropped, ...rest } = stored;
    return rest;
  });

/**
 * Rewraps the current generation under `to`'s primary (a master key rotation
 * that did not renew it); false when it is there already or there is none. A
 * `previous` generation kept by an unfinished renewal is never rewrapped: a
 * copy of it wrapped under the new master key, put back later, would have a
 * start seal again the rows of the generation whoever held the old one knows.
 */
export const rewrapAuthorizationKey = (settings: SettingsStore, from: Keyring, to: Keyring): Promise<boolean> =>
  update(settings, (stored) => {
    const current = rewrappedUnder(from, to, stored, aad(stored.bound === true, generationOf(stored)));
    return current === stored ? null : { ...current, ...(stored.previous ? { previous: stored.previous } : {}) };
  });

/**
 * After a renewal: throws unless the stored key is exactly the generation the
 * renewal made (nothing kept beside it), so that a row put there meanwhile, by
 * whoever holds the master key being retired, is not taken.
 */
export async function checkRenewedAuthorizationKey(settings: Pick<SettingsStore, 'get'>, keyring: Keyring, renewed: AuthorizationSeal): Promise<void> {
  const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  const stored = raw === null ? null : parse(raw);
  const ok = stored !== null && !stored.previous && stored.keyId === keyring.primaryId && sealOfStoredKey(raw!, keyring).fingerprint === renewed.fingerprint;
  if (!ok) throw new IntegrityError('the authorization key was changed in the database while the master key rotation renewed it; the old master key is kept until this is looked into');
}

/** Throws unless the stored key (and a previous generation kept) opens under the keyring. */
export async function checkAuthorizationKey(settings: Pick<SettingsStore, 'get'>, keyring: Keyring): Promise<void> {
  const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  if (raw === null) return;
  const stored = parse(raw);
  open(stored, stored.bound === true, keyring);
  if (stored.previous) open(stored.previous, true, keyring);
}

/** The master key ids the stored key is wrapped with (none when there is no key yet). */
export async function authorizationKeyIds(settings: Pick<SettingsStore, 'get'>): Promise<string[]> {
  const raw = await settings.get(AUTHORIZATION_KEY_SETTING);
  if (raw === null) return [];
  const stored = parse(raw);
  return [stored.keyId, ...(stored.previous ? [stored.previous.keyId] : [])];
}
