import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SettingsStore } from '../storage/store-types.js';
import { IntegrityError } from './envelope.js';
import type { Keyring } from './keyring.js';
import { maySeal, UnsealableKeyError } from './vault-key-wrap.js';
import { parseWrappedSetting, rewrappedUnder, unwrapFrom, wrapInto, type WrappedSetting } from './wrapped-setting.js';

// The deployment's backup keys, stored wrapped by the master keyring in the
// settings table. A master key rotation renews the key (a new generation,
// wrapped under the new master key only), so that whoever holds the old
// master key and a database copy cannot open backups made after it. The
// earlier generations stay, rewrapped by each rotation: every backup ever
// made stays restorable.

export const BACKUP_KEY_SETTING = 'backupKey';

/**
 * The setting's JSON: the current key (`generation` absent: 0, as stored
 * before keys were renewed) and the earlier ones by generation.
 */
interface BornKey extends WrappedSetting {
  /** The master key that was primary when this key was made (absent in keys made before it was recorded). */
  born?: string;
}

interface Stored extends BornKey {
  generation?: number;
  earlier?: Record<string, BornKey>;
}

/**
 * The wrapping binds the generation (the first one's predates generations),
 * so a database writer cannot relabel keys, and the master key it was made
 * under: a key made under a master key no longer held never seals (as a
 * vault data key, vault-key-wrap.ts), so an earlier key put back as current
 * by a database writer who knows it seals no backup they could open.
 */
const aad = (generation: number, born?: string) =>
  (generation === 0 ? 'coffer/backup-key/v1' : `coffer/backup-key/v1|generation:${generation}`) + (born === undefined ? '' : `|born:${born}`);
const wrapNew = (keyring: Keyring, key: Buffer, generation: number): BornKey => ({ ...wrapInto(keyring, key, aad(generation, keyring.primaryId), {}), born: keyring.primaryId });

const MAX_ATTEMPTS = 5;

async function readStored(settings: Pick<SettingsStore, 'get'>): Promise<{ raw: string; stored: Stored } | null> {
  const raw = await settings.get(BACKUP_KEY_SETTING);
  return raw === null ? null : { raw, stored: parseWrappedSetting<Stored>(BACKUP_KEY_SETTING, raw) };
}

/** Makes the first backup key unless one is stored (every cluster member gets the one stored first). */
export async function ensureBackupKey(settings: SettingsStore, keyring: Keyring): Promise<void> {
  const key = randomBytes(32);
  await settings.setIfAbsent(BACKUP_KEY_SETTING, JSON.stringify(wrapNew(keyring, key, 0)));
  key.fill(0);
}

/**
 * Changes the stored keys with `change` (which returns null for no change),
 * as a compare-and-set: a change made meanwhile by another rotation (another
 * cluster member's) is read and `change` applied to it again.
 */
async function update(settings: SettingsStore, change: (stored: Stored) => Stored | null): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const read = await readStored(settings);
    const next = read && change(read.stored);
    if (!read || !next) return false;
    if (await settings.replace(BACKUP_KEY_SETTING, read.raw, JSON.stringify(next))) return true;
  }
  throw new Error(`the backup key changed under ${MAX_ATTEMPTS} attempts to update it`);
}

const wrappingOf = (w: BornKey) => `${w.keyId}|${w.sealed}`;

/**
 * Gives the deployment a new backup key under the keyring's primary; the
 * current one joins the earlier ones. Returns the new key's wrapping as
 * stored (for checkRenewedBackupKey); null when there is none yet.
 */
export async function renewBackupKeyWrapping(settings: SettingsStore, keyring: Keyring): Promise<string | null> {
  let made: string | null = null;
  const renewed = await update(settings, (stored) => {
    const from = stored.generation ?? 0;
    const key = randomBytes(32);
    const previous: BornKey = { keyId: stored.keyId, sealed: stored.sealed, ...(stored.born === undefined ? {} : { born: stored.born }) };
    const next: Stored = { ...wrapNew(keyring, key, from + 1), generation: from + 1, earlier: { ...stored.earlier, [from]: previous } };
    key.fill(0);
    made = wrappingOf(next);
    return next;
  });
  return renewed ? made : null;
}

export const renewBackupKey = async (settings: SettingsStore, keyring: Keyring): Promise<boolean> => (await renewBackupKeyWrapping(settings, keyring)) !== null;

/**
 * After a rotation's renewal and rewrap: throws unless the current backup key
 * is still the one the renewal made. While the rotation runs the old master
 * key is still held, and its holder could put a key of their own there,
 * labelled as made under the new one, which the rewrap would then take.
 */
export async function checkRenewedBackupKey(settings: Pick<SettingsStore, 'get'>, renewed: string): Promise<void> {
  const read = await readStored(settings);
  if (!read || wrappingOf(read.stored) !== renewed) {
    throw new IntegrityError('the backup key was changed in the database while the master key rotation renewed it; the old master key is kept until this is looked into');
  }
}

/** Rewraps every backup key (current and earlier) not yet under the keyring's primary; false when none was. */
export const rewrapBackupKeys = (settings: SettingsStore, keyring: Keyring): Promise<boolean> =>
  update(settings, (stored) => {
    const rewrap = (w: BornKey, generation: number): BornKey => {
      const { keyId, sealed, born } = rewrappedUnder(keyring, keyring, w, aad(generation, w.born));
      return { keyId, sealed, ...(born === undefined ? {} : { born }) };
    };
    const earlier = Object.fromEntries(Object.entries(stored.earlier ?? {}).map(([g, w]) => [g, rewrap(w, Number(g))]));
    const next: Stored = { ...stored, ...rewrap(stored, stored.generation ?? 0), ...(stored.earlier ? { earlier } : {}) };
    return JSON.stringify(next) === JSON.stringify(stored) ? null : next;
  });

/** At start: renews the backup key unless it may seal (made under a master key no longer held, or before that was recorded). */
export async function renewUnsealableBackupKey(settings: SettingsStore, keyring: Keyring): Promise<boolean> {
  const read = await readStored(settings);
  return read !== null && !maySeal(keyring, read.stored.born ?? null) && renewBackupKey(settings, keyring);
}

/** Throws unless every stored backup key (current and earlier) opens under the keyring. */
export async function checkBackupKeys(settings: Pick<SettingsStore, 'get'>, keyring: Keyring): Promise<void> {
  const read = await readStored(settings);
  if (!read) return;
  const { stored } = read;
  unwrapFrom(keyring, stored, aad(stored.generation ?? 0, stored.born)).fill(0);
  for (const [g, w] of Object.entries(stored.earlier ?? {})) unwrapFrom(keyring, w, aad(Number(g), w.born)).fill(0);
}

/** The master key ids the stored backup keys are wrapped with. */
export async function backupKeyIds(settings: Pick<SettingsStore, 'get'>): Promise<string[]> {
  const read = await readStored(settings);
  return read ? [read.stored.keyId, ...Object.values(read.stored.earlier ?? {}).map((w) => w.keyId)] : [];
}

export interface BackupKeys {
  /** The key new backups are sealed with: the stored current one, read each time (another cluster member may have renewed it). */
  sealing(): Promise<{ generation: number; key: Buffer }>;
  /** The key of `generation`, or null when the deployment has none of that generation. */
  opening(generation: number): Promise<Buffer | null>;
  /** Replaces the keyring used for unwrapping (during and after a rotation). */
  useKeyring(keyring: Keyring): void;
}

export function createBackupKeys(settings: Pick<SettingsStore, 'get'>, initial: Keyring): BackupKeys {
  let keyring = initial;
  // Each generation's key with the stored wrapping it was last opened from: a
  // wrapping that differs (a rotation's rewrap, or a row changed by a database
  // writer) is opened again before sealing, which authenticates its `born`.
  const held = new Map<number, { key: Buffer; from: string }>();
  // The newest generation sealed with: a database put back to an older current key (one the old master key opens) is refused.
  let newest = 0;
  const fingerprint = (w: BornKey) => `${w.keyId}|${w.born ?? ''}|${w.sealed}`;
  const keyOf = (generation: number, wrapped: BornKey): Buffer => {
    const cached = held.get(generation);
    const from = fingerprint(wrapped);
    if (cached?.from === from) return cached.key;
    const key = unwrapFrom(keyring, wrapped, aad(generation, wrapped.born));
    if (cached && !(cached.key.length === key.length && timingSafeEqual(cached.key, key))) {
      key.fill(0);
      throw new IntegrityError(`the stored backup key of generation ${generation} is not the one this server opened before`);
    }
    if (cached) key.fill(0);
    const kept = cached?.key ?? key;
    held.set(generation, { key: kept, from });
    return kept;
  };
  const stored = async (): Promise<Stored> => {
    const read = await readStored(settings);
    if (!read) throw new IntegrityError('the backup key is missing from the database');
    return read.stored;
  };
  return {
    async sealing() {
      const current = await stored();
      const generation = current.generation ?? 0;
      if (generation < newest) throw new IntegrityError(`the stored backup key is of generation ${generation}, older than generation ${newest} this server sealed with`);
      // Opened first: `born` is trusted only once the wrapping's AAD has vouched for it.
      const key = keyOf(generation, current);
      if (!maySeal(keyring, current.born ?? null)) throw new UnsealableKeyError(`the stored backup key (generation ${generation})`);
      newest = generation;
      return { generation, key };
    },
    async opening(generation) {
      const cached = held.get(generation);
      if (cached) return cached.key;
      const current = await stored();
      const wrapped = generation === (current.generation ?? 0) ? current : current.earlier?.[String(generation)];
      return wrapped ? keyOf(generation, wrapped) : null;
    },
    useKeyring(next) {
      keyring = next;
    },
  };
}
