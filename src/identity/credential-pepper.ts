import { randomBytes } from 'node:crypto';
import { readRecordFile, writeFileAtomic } from '../storage/atomic-file.js';
import type { Keyring } from '../crypto/keyring.js';
import { wrapInto } from '../crypto/wrapped-setting.js';
import type { PrincipalStore, SettingsStore } from '../storage/store-types.js';
import { createOwnCredentials, credentialsOf, type OwnCredentials, type StoredCredential } from './own-credentials.js';
import { createCredentialHasher, isKeyedHash, ownerId, type CredentialHasher, type PepperGenerations } from './password-hash.js';
import {
  CREDENTIAL_PEPPER_SETTING,
  currentGeneration,
  markedConverted,
  openPeppers,
  pepperAad,
  pendingTag,
  pepperFingerprint,
  readPepperRow,
  rewrapped,
  withNewGeneration,
  withPending,
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

/** The data dir file that records the newest generation this server used (a rollback is refused). */
export const PEPPER_RECORD_FILE = 'credential-pepper.json';

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
  /** Whether that generation's conversion was done (absent in records from before: not known). */
  converted?: boolean;
  /** Set once no stored hash could be left unbound to its row (bindUnboundHashes); kept from then on. */
  bound?: true;
}

/**
 * Refuses a row that lost the generation this data dir recorded (rolled
 * back, replaced), or whose conversion was put back to unfinished (a row
 * captured during the renewal, replayed).
 */
function checkRecorded(file: string, recorded: Recorded, peppers: readonly Buffer[], converted: boolean): void {
  const generation = recorded.generation ?? 0;
  if (generation >= peppers.length) {
    throw new CredentialPepperChangedError(file, `the database's credential pepper is at generation ${peppers.length - 1}, but this data dir used generation ${generation}`);
  }
  if (pepperFingerprint(peppers[generation]!) !== recorded.fingerprint) {
    throw new CredentialPepperChangedError(file, "the database's credential pepper is another than this data dir recorded");
  }
  if (generation === peppers.length - 1 && recorded.converted === true && !converted) {
    throw new CredentialPepperChangedError(file, `the database's credential pepper is converting to generation ${generation} again, but this data dir saw that conversion done`);
  }
}

/**
 * Refuses generations that differ from those a running server holds: one it
 * holds replaced (by whoever holds an older master key still in the keyring
 * and the pepper before it), fewer of them, or a finished conversion put
 * back to unfinished.
 */
function checkHeld(held: PepperGenerations, peppers: readonly Buffer[], converting: boolean): void {
  const changed = (why: string) => new Error(`the database's credential pepper ${why}: it was changed outside coffer; this server keeps the generations it holds`);
  if (peppers.length < held.peppers.length) throw changed(`is at generation ${peppers.length - 1}, older than generation ${held.peppers.length - 1} this server uses`);
  held.peppers.forEach((p, g) => {
    if (pepperFingerprint(p) !== pepperFingerprint(peppers[g]!)) throw changed(`of generation ${g} is another than this server holds`);
  });
  if (peppers.length === held.peppers.length && !held.converting && converting) throw changed(`is converting to generation ${peppers.length - 1} again, after this server saw that done`);
}

/** Refuses a database without the pepper that should have one; else the hashes stored (to be converted). */
async function refuseMissingPepper(principals: PrincipalStore, recorded: Recorded | null, file: string): Promise<StoredCredential[]> {
  if (recorded !== null) throw new CredentialPepperChangedError(file, "the database's credential pepper is missing, but this data dir recorded one");
  // A data dir without the record (a new cluster member's) cannot tell; keyed hashes in the database can: a pepper made them.
  const hashes = await storedHashes(principals);
  if (hashes.some((h) => isKeyedHash(h.hash))) throw new CredentialPepperChangedError(file, "the database's credential pepper is missing, but it holds hashes keyed with one");
  return hashes;
}

/** The refusals of openCredentialHasher, changing nothing (a start's pre-flight). */
export async function checkPepperRecord(settings: SettingsStore, principals: PrincipalStore, keyring: Keyring, file: string): Promise<void> {
  const recorded = readRecord(file);
  const read = await readPepperRow(settings);
  if (read === null) {
    await refuseMissingPepper(principals, recorded, file);
    return;
  }
  const peppers = openPeppers(keyring, read.stored);
  if (recorded !== null) checkRecorded(file, recorded, peppers, read.stored.converted === true);
}

/**
 * The deployment's credential hasher. On the first start with a pepper (every
 * cluster member gets the one stored first) the hashes stored before it are
 * converted (`converted` counts them); a start cut short converts the rest,
 * as it does for a renewal cut short. `file` (in the data dir) records the
 * newest generation's fingerprint. `reload` reads the generations again
 * (another cluster member renewed the pepper); after each read, what `own`
 * holds is keyed again (own-credentials.ts: a cluster member's directory
 * tells it what it stores; `trackStored` false, as on a single server,
 * which no other member's renewal can overtake: nothing is kept), which
 * `settled` waits for; `log` hears what that could not do.
 */
export async function openCredentialHasher(
  settings: SettingsStore,
  principals: PrincipalStore,
  keyring: Keyring,
  file: string,
  opts: { log?: { warn(obj: object, msg: string): void }; trackStored?: boolean } = {},
): Promise<{ hasher: CredentialHasher; converted: number; reload: (keyring: Keyring) => Promise<void>; settled: () => Promise<void>; own: OwnCredentials }> {
  const recorded = readRecord(file);
  if ((await settings.get(CREDENTIAL_PEPPER_SETTING)) === null) {
    const hashes = await refuseMissingPepper(principals, recorded, file);
    const first = randomBytes(32);
    // The hashes stored before the pepper: the first conversion keys those, and only those, in place.
    const pending = hashes.map((h) => tagOf(first, h));
    await settings.setIfAbsent(CREDENTIAL_PEPPER_SETTING, JSON.stringify({ ...wrapInto(keyring, first, pepperAad(0, false, true), { converted: false }), pending }));
    first.fill(0);
  }
  const { stored } = (await readPepperRow(settings))!;
  const peppers = openPeppers(keyring, stored);
  if (recorded !== null) checkRecorded(file, recorded, peppers, stored.converted === true);
  const hasher = createCredentialHasher(generationsOf(stored, peppers));
  const converted = stored.converted === true ? 0 : await finishConversion(settings, principals, keyring, hasher);
  recordGeneration(file, hasher.generations);
  const { log } = opts;
  const own = createOwnCredentials(principals, hasher, (err) => log?.warn({ err: err.message }, 'could not key a credential this server stored again under the new credential pepper generation'), opts.trackStored ?? true);
  // The same generation too: a member that read a renewal while its conversion ran must stop taking the previous generation's hashes once it is done.
  const readAgain = async (current: Keyring) => {
    const read = await readPepperRow(settings);
    if (read === null) return;
    const next = generationsOf(read.stored, openPeppers(current, read.stored));
    checkHeld(hasher.generations, next.peppers, next.converting);
    if (next.peppers.length !== hasher.generation + 1 || next.converting !== hasher.generations.converting || !sameTags(next.pending, hasher.generations.pending)) {
      hasher.use(next);
      recordGeneration(file, next);
    }
  };
  const catchUpOwn = async () => {
    const { overflowed } = await own.catchUp();
    if (overflowed > 0) log?.warn({ credentials: overflowed }, 'stored more than 10,000 credentials between two reads of the credential pepper: one renewed meanwhile by another member may not cover the earliest of them');
  };
  // One read at a time (the minute timer, sign-ins, the cluster's announcements): a read applied after a newer one would
  // look like a row put back. At most one more waits; callers meanwhile share it, since it reads what they would. A
  // catch-up follows each read, one at a time too, but no read or caller (a sign-in among them) waits for it.
  let reads: Promise<void> = Promise.resolve();
  let catchUps: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | null = null;
  let keyringForNext = keyring;
  const reload = (current: Keyring) => {
    keyringForNext = current;
    if (waiting) return waiting;
    const run = reads.then(() => {
      waiting = null;
      return readAgain(keyringForNext);
    });
    waiting = run;
    reads = run.catch(() => undefined);
    catchUps = catchUps
      .then(() => run)
      .then(catchUpOwn, () => undefined)
      .catch((err: Error) => log?.warn({ err: err.message }, 'could not key credentials this server stored again under the new credential pepper generation'));
    return run;
  };
  /** Resolves when the reads asked for so far, and the catch-ups after them, are done. */
  const settled = () => catchUps;
  return { hasher, converted, reload, settled, own };
}

/** The hasher's view of a row: its peppers, whether it converts, and which hashes (absent: every one). */
function generationsOf(stored: StoredPepper, peppers: Buffer[]): PepperGenerations {
  const converting = stored.converted !== true;
  if (stored.pending !== undefined && !(Array.isArray(stored.pending) && stored.pending.every((t) => typeof t === 'string'))) {
    throw new Error("the credential pepper's list of hashes to convert is not a list of tags: it was changed outside coffer");
  }
  return { peppers, converting, ...(converting && stored.pending ? { pending: new Set(stored.pending) } : {}) };
}

const sameTags = (a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined) => a?.size === b?.size && [...(a ?? [])].every((t) => b!.has(t));

function recordGeneration(file: string, generations: PepperGenerations, bound = false): void {
  const { peppers } = generations;
  const record: Recorded = { fingerprint: pepperFingerprint(peppers[peppers.length - 1]!), generation: peppers.length - 1, converted: !generations.converting };
  if (bound || readRecord(file)?.bound === true) record.bound = true;
  writeFileAtomic(file, JSON.stringify(record) + '\n');
}

const readRecord = (file: string): Recorded | null => readRecordFile<Recorded>(file);

/**
 * Hashes made before hashes were bound to their row (no `/k` in their
 * label, password-hash.ts) verify in any row they are copied into, until a
 * renewal keys them again, binding each to the row it is in. Unless this
 * data dir recorded that none can be left, the stored hashes are read at
 * start, and if any that verifies now is unbound, the pepper is renewed
 * once (which also ends refresh tokens and codes issued before, as a master
 * key rotation does). Returns how many were unbound (0: nothing renewed).
 */
export async function bindUnboundHashes(settings: SettingsStore, principals: PrincipalStore, keyring: Keyring, hasher: CredentialHasher, file: string): Promise<number> {
  if (readRecord(file)?.bound === true) return 0;
  const unbound = (await storedHashes(principals)).filter((h) => hasher.unbound(h.hash)).length;
  if (unbound > 0) await renewCredentialPepper(settings, principals, keyring, hasher);
  recordGeneration(file, hasher.generations, true);
  return unbound;
}

/** Records a renewal done by this server in its data dir (as a start would), so that rolling it back is refused. */
export async function recordCredentialPepper(settings: SettingsStore, keyring: Keyring, file: string): Promise<void> {
  const read = await readPepperRow(settings);
  if (read !== null) recordGeneration(file, generationsOf(read.stored, openPeppers(keyring, read.stored)));
}

/**
 * Converts the stored hashes to the current generation (unkeyed ones for
 * generation 0, keyed ones of the previous generation after a renewal),
 * only those the row's list names (every one in rows from before lists),
 * then marks the conversion done. Returns how many hashes it converted.
 */
async function finishConversion(settings: SettingsStore, principals: PrincipalStore, keyring: Keyring, hasher: CredentialHasher): Promise<number> {
  const read = await readPepperRow(settings);
  const peppers = openPeppers(keyring, read!.stored);
  if (peppers.length - 1 !== hasher.generation) throw new Error('the credential pepper was renewed twice at once');
  const state = generationsOf(read!.stored, peppers);
  hasher.use(state);
  // Marked done by another member meanwhile.
  if (!state.converting) return 0;
  // Asked of the hasher at each hash: one replaced or removed through this server meanwhile is listed no more (unlist).
  const convert = (h: StoredCredential) => (!hasher.listed(h.hash, h.owner) ? null : hasher.generation === 0 ? hasher.upgrade(h.hash, h.owner) : hasher.layer(h.hash, h.owner));
  // Twice: a listed hash this server's first pass could not replace (changed meanwhile by another member's conversion) is met again.
  const converted = (await convertStoredCredentiales(principals, convert)) + (await convertStoredCredentiales(principals, convert));
  for (let attempt = 0; ; attempt++) {
    if (attempt === MAX_ATTEMPTS) throw new Error(`the credential pepper changed under ${MAX_ATTEMPTS} attempts to mark its conversion done`);
    const now = (await readPepperRow(settings))!;
    // Done by another member meanwhile (or renewed again by one: that renewal converts these hashes further).
    if (now.stored.converted === true || currentGeneration(now.stored) !== hasher.generation) break;
    const ps = openPeppers(keyring, now.stored);
    if (await settings.replace(CREDENTIAL_PEPPER_SETTING, now.raw, JSON.stringify(markedConverted(keyring, now.stored, ps[ps.length - 1]!)))) break;
  }
  const done = (await readPepperRow(settings))!.stored;
  hasher.use(generationsOf(done, openPeppers(keyring, done)));
  return converted;
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
  // Hashes this server makes under the previous generation while the stored ones are read join the list too.
  const tracking = own.trackMade();
  try {
    for (let attempt = 0; ; attempt++) {
      if (attempt === MAX_ATTEMPTS) throw new Error(`the credential pepper changed under ${MAX_ATTEMPTS} attempts to renew it`);
      const read = (await readPepperRow(settings))!;
      const peppers = openPeppers(keyring, read.stored);
      if (read.stored.converted !== true) {
        // A conversion left unfinished (a start cut short, another member's renewal) is finished first: its hashes would otherwise stay behind for good.
        own.use(generationsOf(read.stored, peppers));
        await finishConversion(settings, principals, keyring, own);
        continue;
      }
      const pepper = randomBytes(32);
      const listedMade = tracking.made();
      const pending = [...(await storedHashes(principals)).map((h) => tagOf(pepper, h)), ...listedMade.map((m) => pendingTag(pepper, m.owner, m.hash))];
      if (await settings.replace(CREDENTIAL_PEPPER_SETTING, read.raw, JSON.stringify(withNewGeneration(keyring, read.stored, peppers, pepper, pending)))) {
        own.use({ peppers: [...peppers, pepper], converting: true, pending: new Set(pending) });
        // Made between the listing and the switch: under the previous generation, by this server.
        const late = tracking.made().slice(listedMade.length);
        if (late.length > 0) await addPending(settings, keyring, own, late.map((m) => pendingTag(pepper, m.owner, m.hash)));
        break;
      }
      pepper.fill(0);
    }
  } finally {
    tracking.stop();
  }
  await finishConversion(settings, principals, keyring, own);
  return true;
}

async function addPending(settings: SettingsStore, keyring: Keyring, hasher: CredentialHasher, tags: string[]): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const read = (await readPepperRow(settings))!;
    if (read.stored.converted === true || currentGeneration(read.stored) !== hasher.generation) return;
    const next = withPending(read.stored, tags);
    if (await settings.replace(CREDENTIAL_PEPPER_SETTING, read.raw, JSON.stringify(next))) {
      hasher.use(generationsOf(next, openPeppers(keyring, next)));
      return;
    }
  }
  throw new Error(`the credential pepper changed under ${MAX_ATTEMPTS} attempts to list the hashes to convert`);
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

const tagOf = (pepper: Buffer, h: StoredCredential) => pendingTag(pepper, ownerId(h.owner), h.hash);

/** Every stored credential hash: users' passwords and service principals' client secrets. */
async function storedHashes(principals: PrincipalStore): Promise<StoredCredential[]> {
  const hashes: StoredCredential[] = [];
  for (const p of await principals.list()) hashes.push(...(await credentialsOf(principals, p)));
  return hashes;
}

/** Replaces each hash `convert` has a new form for; each row changes only if it still holds the hash read, so members starting together agree. */
async function convertStoredCredentiales(principals: PrincipalStore, convert: (stored: StoredCredential) => string | null): Promise<number> {
  let converted = 0;
  for (const h of await storedHashes(principals)) {
    const next = convert(h);
    if (next !== null && (await principals.replaceCredentialHash(h.owner.objectId, h.owner.keyId ?? null, h.hash, next))) converted++;
  }
  return converted;
}
