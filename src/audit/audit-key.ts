import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { readRecordFile, writeFileAtomic } from '../storage/atomic-file.js';
import type { Keyring } from '../crypto/keyring.js';
import { IntegrityError } from '../crypto/envelope.js';
import { parseWrappedSetting, rewrappedUnder, unwrapFrom, wrapInto, type WrappedSetting } from '../crypto/wrapped-setting.js';
import type { AuditStore, SettingsStore } from '../storage/store-types.js';
import { ANCHOR_SETTING, AUDIT_KEY_SETTING, GENESIS, HEAD_SETTING, renewalLink, renewalMac, sealedPoint, type ChainKey, type KeyPeriod, type KeyRenewal } from './audit-chain.js';

// The audit trail's MAC key (see audit-chain.ts), stored in the settings
// table wrapped by the master keyring, like the backup key. The first seq it
// covers is bound into the wrapping (the AAD), so it cannot be moved to pass
// keyed rows off as unkeyed ones. The key is made once, on the first start
// of a version that keys the chain, together with the head checkpoint (in
// one transaction): from then on a trail without a valid checkpoint fails.
//
// Each master key rotation renews it: a new generation, wrapped under the new
// master key only (its number bound into the wrapping), whose first seq is
// decided by the store inside the transaction that orders appends and bound
// to the new key by a MAC (renewalSettings). Earlier generations stay in the
// same row, rewrapped by each rotation, to verify the rows of their period.

export { AUDIT_KEY_SETTING };

interface Renewal extends WrappedSetting {
  since: number;
  mac: string;
  /** renewalLink: the new key's fingerprint and first seq under the previous generation's key. */
  link: string;
}
/** Generation 0 as it has always been stored, and the renewals in order (generation i + 1 at index i). */
type Stored = WrappedSetting & { since: number; renewals?: Renewal[] };
const aad = (stored: { since: number }) => `coffer/audit-key/v1/since=${stored.since}`;
const renewalAad = (generation: number) => `coffer/audit-key/v1/generation=${generation}`;

const parse = (raw: string): Stored => parseWrappedSetting<Stored>(AUDIT_KEY_SETTING, raw);

/** Every generation's wrapped key with its AAD and first seq, oldest first. */
function generationsOf(stored: Stored): Array<{ generation: number; since: number; wrapped: WrappedSetting; aad: string; mac?: string; link?: string }> {
  return [
    { generation: 0, since: stored.since, wrapped: stored, aad: aad(stored) },
    ...(stored.renewals ?? []).map((r, i) => ({ generation: i + 1, since: r.since, wrapped: r, aad: renewalAad(i + 1), mac: r.mac, link: r.link })),
  ];
}

const sameMac = (a: string, b: unknown) => typeof b === 'string' && b.length === a.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The keys of a stored row, unwrapping only generations not in `held`; a
 * renewal whose first seq does not carry its MAC, or lies before the
 * previous one's, is refused (moving it would pass rows off under a key the
 * old master key's holder knows), and so is one not linked to the
 * generation before it (renewalLink: whoever holds only old generations
 * cannot add one after a generation they do not hold).
 */
function keysOf(stored: Stored, keyring: Keyring, held: Map<number, KeyObject> = new Map()): ChainKey {
  const periods: KeyPeriod[] = [];
  for (const g of generationsOf(stored)) {
    let key = held.get(g.generation);
    if (!key) {
      const bytes = unwrapFrom(keyring, g.wrapped, g.aad);
      key = createSecretKey(bytes);
      bytes.fill(0);
    }
    const before = periods.at(-1);
    if (g.generation > 0 && (!Number.isSafeInteger(g.since) || !sameMac(renewalMac(key, g.generation, g.since), g.mac) || (before && g.since < before.since))) {
      throw new IntegrityError(`the audit key's generation ${g.generation} names a first record (${g.since}) it was not renewed at`);
    }
    if (before && !sameMac(renewalLink(before.key, key, g.generation, g.since), g.link)) {
      throw new IntegrityError(`the audit key's generation ${g.generation} was not made by a renewal of generation ${before.generation}`);
    }
    periods.push({ generation: g.generation, since: g.since, key });
  }
  const current = periods.at(-1)!;
  return { key: current.key, generation: current.generation, since: periods[0]!.since, periods };
}

/** The audit key, made on first use; `onCreated` hears the first seq it covers when it is made here. */
export async function loadAuditKey(deps: { settings: SettingsStore; audit: AuditStore }, keyring: Keyring, onCreated: (since: number) => void = () => {}): Promise<ChainKey> {
  let raw = await deps.settings.get(AUDIT_KEY_SETTING);
  if (!raw) {
    // No record can be appended before the key exists, so the tip stays put meanwhile.
    const tip = await deps.audit.tip();
    const { anchor } = await deps.audit.ends();
    const since = tip.seq + 1;
    const bytes = randomBytes(32);
    const key = createSecretKey(bytes);
    const fresh = JSON.stringify(wrapInto(keyring, bytes, aad({ since }), { since }));
    bytes.fill(0);
    const sealed: Record<string, string> = { [HEAD_SETTING]: sealedPoint(key, 'head', tip) };
    if (anchor.seq !== 0 || anchor.hash !== GENESIS) sealed[ANCHOR_SETTING] = sealedPoint(key, 'anchor', anchor);
    raw = await deps.settings.setIfAbsent(AUDIT_KEY_SETTING, fresh, sealed);
    if (raw === fresh) onCreated(since);
  }
  return keysOf(parse(raw), keyring);
}

/** The current keys, read from the store each time (another cluster member may have renewed them), for verification and for appenders that meet a newer generation. */
export interface AuditKeySource {
  current(): Promise<ChainKey>;
  /** The keys of a key row read by the caller (an appender, inside its transaction). */
  fromRow(raw: string): ChainKey;
  /** Replaces the keyring used for unwrapping (during and after a rotation). */
  useKeyring(keyring: Keyring): void;
}

export function createAuditKeySource(settings: Pick<SettingsStore, 'get'>, initial: Keyring, loaded: ChainKey): AuditKeySource {
  let keyring = initial;
  const held = new Map(loaded.periods.map((p) => [p.generation, p.key]));
  // A database put back to a row with fewer generations (whose current key the old master key opens) is refused.
  let newest = loaded.generation;
  const fromRow = (raw: string): ChainKey => {
    const keys = keysOf(parse(raw), keyring, held);
    if (keys.generation < newest) throw new IntegrityError(`the stored audit key is of generation ${keys.generation}, older than generation ${newest} this server used`);
    newest = keys.generation;
    for (const p of keys.periods) held.set(p.generation, p.key);
    return keys;
  };
  return {
    async current() {
      const raw = await settings.get(AUDIT_KEY_SETTING);
      if (!raw) throw new IntegrityError('the audit key is missing from the database');
      return fromRow(raw);
    },
    fromRow,
    useKeyring(next) {
      keyring = next;
    },
  };
}

/** The generation after `current`'s, wrapped under the keyring's primary only. */
export function nextAuditKey(current: ChainKey, keyring: Keyring): KeyRenewal {
  const generation = current.generation + 1;
  const bytes = randomBytes(32);
  const key = createSecretKey(bytes);
  const { keyId, sealed } = wrapInto(keyring, bytes, renewalAad(generation), {});
  bytes.fill(0);
  return { generation, key, keyId, sealed };
}

/**
 * Gives the audit trail a new key generation; the records from the next one
 * on are MACed under it. False when there is no audit key yet, or another
 * renewal stored that generation first.
 */
export async function renewAuditKey(deps: { settings: SettingsStore; audit: AuditStore }, keyring: Keyring): Promise<boolean> {
  const raw = await deps.settings.get(AUDIT_KEY_SETTING);
  if (!raw) return false;
  const current = keysOf(parse(raw), keyring);
  return deps.audit.renewKey(current, nextAuditKey(current, keyring));
}

const MAX_ATTEMPTS = 5;

/** Rewraps every generation not yet under `to`'s primary (compare-and-set: a renewal meanwhile is read again); false when none was. */
export async function rewrapAuditKey(settings: SettingsStore, from: Keyring, to: Keyring): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const raw = await settings.get(AUDIT_KEY_SETTING);
    if (!raw) return false;
    const stored = parse(raw);
    let changed = false;
    const rewrap = <T extends WrappedSetting>(w: T, ad: string): T => {
      const next = rewrappedUnder(from, to, w, ad);
      changed ||= next !== w;
      return next;
    };
    const next: Stored = { ...rewrap(stored, aad(stored)), ...(stored.renewals ? { renewals: stored.renewals.map((r, i) => rewrap(r, renewalAad(i + 1))) } : {}) };
    if (!changed) return false;
    if (await settings.replace(AUDIT_KEY_SETTING, raw, JSON.stringify(next))) return true;
  }
  throw new Error(`the audit key changed under ${MAX_ATTEMPTS} attempts to rewrap it`);
}

/** Throws unless every generation of the stored audit key opens under the keyring (and its renewals carry their MACs). */
export async function checkAuditKeys(settings: Pick<SettingsStore, 'get'>, keyring: Keyring): Promise<void> {
  const raw = await settings.get(AUDIT_KEY_SETTING);
  if (raw) keysOf(parse(raw), keyring);
}

/** The master key ids the stored audit key generations are wrapped with. */
export async function auditKeyIds(settings: Pick<SettingsStore, 'get'>): Promise<string[]> {
  const raw = await settings.get(AUDIT_KEY_SETTING);
  return raw ? generationsOf(parse(raw)).map((g) => g.wrapped.keyId) : [];
}

/**
 * The audit key's fingerprint and first seq, kept in the data dir beside the
 * master key: outside the database, so that someone who can only write the
 * database cannot remove the key (which would make the server key the trail
 * anew, from its last record, and leave everything before it verifiable by
 * unkeyed hashes that anyone can recompute) without the next start noticing.
 * The newest generation seen is kept too: a row put back to fewer
 * generations (whose current key an old master key opens) is noticed as well.
 */
interface KeyRecord {
  fingerprint: string;
  since: number;
  /** Absent: 0 (recorded before the key was renewed). */
  generation?: number;
  /** The fingerprint of that generation's key: one put in its place (under an old master key still in the keyring) is noticed. */
  newest?: string;
}

const fingerprintOfKey = (key: KeyObject): string => createHmac('sha256', key).update('coffer-audit-key-fingerprint').digest('hex').slice(0, 32);
/** The first generation's: it never changes while the trail is the same. */
const fingerprintOf = (key: ChainKey): string => fingerprintOfKey(key.periods[0]!.key);

export class AuditKeyChangedError extends Error {
  constructor(file: string, recorded: KeyRecord, found: string) {
    super(
      `the database's audit key ${found}, but this data dir recorded one keyed from record ${recorded.since} (${file}): ` +
        'the audit key was removed or replaced in the database, and the trail before the new key would verify by unkeyed hashes only. ' +
        `If the database was replaced on purpose, remove ${file} and start again.`,
    );
    this.name = 'AuditKeyChangedError';
  }
}

const recordOf = (key: ChainKey): KeyRecord => ({ fingerprint: fingerprintOf(key), since: key.since, generation: key.generation, newest: fingerprintOfKey(key.key) });

/** Records a newer generation in `file` (after a rotation renewed the key); an older one is never recorded over it. */
export function recordAuditKeyGeneration(file: string, key: ChainKey): void {
  const recorded = readRecordFile<KeyRecord>(file);
  if (!recorded || (recorded.generation ?? 0) < key.generation) writeFileAtomic(file, JSON.stringify(recordOf(key)) + '\n');
}

/** loadAuditKey, held to the record in `file`: a database whose key went missing, changed or lost generations is refused before anything is keyed anew. */
export async function loadRecordedAuditKey(deps: { settings: SettingsStore; audit: AuditStore }, keyring: Keyring, file: string, onCreated?: (since: number) => void): Promise<ChainKey> {
  const recorded = readAuditKeyRecord(file);
  if (recorded && (await deps.settings.get(AUDIT_KEY_SETTING)) === null) throw new AuditKeyChangedError(file, recorded, 'is missing');
  const key = await loadAuditKey(deps, keyring, onCreated);
  holdToRecord(file, recorded, key);
  recordAuditKeyGeneration(file, key);
  return key;
}

const readAuditKeyRecord = (file: string): KeyRecord | null => readRecordFile<KeyRecord>(file);

/** The refusals of loadRecordedAuditKey, changing nothing (a start's pre-flight): a key missing or other than this data dir recorded. */
export async function checkAuditKeyRecord(settings: Pick<SettingsStore, 'get'>, keyring: Keyring, file: string): Promise<void> {
  const recorded = readAuditKeyRecord(file);
  if (!recorded) return;
  const raw = await settings.get(AUDIT_KEY_SETTING);
  if (raw === null) throw new AuditKeyChangedError(file, recorded, 'is missing');
  holdToRecord(file, recorded, keysOf(parse(raw), keyring));
}

function holdToRecord(file: string, recorded: KeyRecord | null, key: ChainKey): void {
  const current = recordOf(key);
  if (recorded && (recorded.fingerprint !== current.fingerprint || recorded.since !== current.since)) throw new AuditKeyChangedError(file, recorded, `is another (keyed from record ${current.since})`);
  if (recorded && (recorded.generation ?? 0) > key.generation) {
    throw new AuditKeyChangedError(file, recorded, `has generations up to ${key.generation} only, where this data dir saw generation ${recorded.generation}`);
  }
  const seen = recorded?.newest === undefined ? undefined : key.periods.find((p) => p.generation === (recorded.generation ?? 0));
  if (seen && fingerprintOfKey(seen.key) !== recorded!.newest) {
    throw new AuditKeyChangedError(file, recorded!, `has another key as generation ${seen.generation} than this data dir saw`);
  }
}
