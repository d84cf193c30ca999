import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  AuthorizationDigestError,
  changedKinds,
  countRows,
  createDigestGuard,
  type CheckedRows,
  type RowsAsChecked,
  DIGEST_KINDS,
  DIGEST_SETTING,
  makeRecord,
  openRecord,
  readAuthorizationRows,
  type DigestKind,
  type Digests,
} from '../authorization/authorization-digest.js';
import { AUTHORIZATION_KEY_SETTING } from '../authorization/authorization-key.js';
import type { AuthorizationSeal } from '../authorization/authorization-seal.js';
import type { SealHolder } from '../authorization/sealed-stores.js';
import { readRecordFile, writeFileAtomic } from '../storage/atomic-file.js';
import type { AuthorizationDigestHost } from '../storage/authorization-digest-types.js';
import type { Store } from '../storage/store-types.js';

// The authorization digest at start (authorization/authorization-digest.ts):
// the rows are held to the record coffer last sealed before anything reads
// them to decide, and the record to the data dir's counter of the writes
// that sealed it (authorization-digest.json), so that a database (or its
// authorization rows with their record) put back from an earlier copy is
// noticed too, as audit-head.json notices an audit trail cut back. Then the
// store is given the guard that keeps the record in every write.

/** The data dir's record of the last write that sealed the digest. */
export const DIGEST_FILE = 'authorization-digest.json';

const readCounter = (file: string): number => Number(readRecordFile<{ n?: unknown }>(file)?.n) || 0;

/** Records `n` unless the file holds a later write already. */
function recordCounter(file: string, n: number): void {
  if (readCounter(file) < n) writeFileAtomic(file, JSON.stringify({ n }) + '\n');
}

const ZERO = '0'.repeat(64);

/** How often the data dir's counter is brought up to the last sealed write (and at shutdown), as audit-head.json is. */
const COUNTER_EVERY_MS = 1_000;

/**
 * Records the writes' counters at most once per COUNTER_EVERY_MS: a file written and synced at every authorization
 * write would cost more than the write (and hold the event loop). A database put back from a copy less than that
 * old, after a crash, is not noticed by the counter; the record in it is still held to its rows.
 */
function counterRecorder(file: string): { note(n: number): void; flush(): void } {
  let latest = 0;
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (latest > 0) recordCounter(file, latest);
  };
  return {
    note(n) {
      latest = Math.max(latest, n);
      timer ??= setTimeout(flush, COUNTER_EVERY_MS).unref();
    },
    flush,
  };
}

const behindError = (n: number, seen: number) =>
  new AuthorizationDigestError(
    [],
    `its record is of write ${n}, but this data dir saw write ${seen} (${DIGEST_FILE}): the database, or its authorization rows with their record, ` +
      `was put back from an earlier copy. A restore on purpose goes through \`coffer admin restore\`, which sets ${DIGEST_FILE} aside`,
  );

/**
 * Work on the database with the server stopped (an offline master key rotation) that seals the record again: its
 * counter held to the data dir's first (its MAC and rows are checked by the work itself), else a database put back
 * from an earlier copy would be sealed as the next write, past the counter, and start. Returns what records the
 * counter the work reached.
 */
export async function holdDigestToDataDir(settings: Pick<Store['settings'], 'get'>, dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, DIGEST_FILE);
  const counterOf = async () => {
    const raw = await settings.get(DIGEST_SETTING);
    return raw === null ? null : Number((JSON.parse(raw) as { n?: unknown }).n);
  };
  const n = await counterOf();
  const seen = readCounter(file);
  if (n !== null && !(n >= seen)) throw behindError(n, seen);
  return async () => {
    const after = await counterOf();
    if (after !== null && Number.isSafeInteger(after)) recordCounter(file, after);
  };
}

/** What a start finds of the digest: the refusal it would meet (null: none), the record's counter and the rows' digests. */
export interface DigestFound {
  refusal: AuthorizationDigestError | null;
  n: number;
  seen: number;
  live: Digests;
  changed: DigestKind[];
  /** Whether the database holds a record (false: none, or one of a key made at this start). */
  recorded: boolean;
  /** The stored record as read (null: none). */
  record: string | null;
  /** The rows the access index loads, as read here. */
  checked: CheckedRows;
}

/**
 * What the start's pre-flight found (start-preflight.ts), and under which stored authorization key. `found` (every
 * authorization row read) is taken once by the start, which sets it to null: whatever keeps this object (a closure of
 * the start's that lives as long as the server) does not keep the rows.
 */
export interface ForeseenDigest {
  found: DigestFound | null;
  key: string;
}

/**
 * Holds every row to the stored record and the record to the data dir's counter; reads only (the start's
 * pre-flight runs it too, so that a start it refuses writes nothing: server/start-preflight.ts).
 */
export async function findDigest(
  store: Pick<Store, 'settings' | 'roleAssignments' | 'roleDefinitions' | 'groups' | 'principals' | 'vaults'>,
  seal: AuthorizationSeal,
  opts: { dataDir: string; trusted: boolean; keyBoundNow?: boolean },
): Promise<DigestFound> {
  const file = join(opts.dataDir, DIGEST_FILE);
  const seen = readCounter(file);
  const rows = await readAuthorizationRows(store);
  const { digests: live, matched } = countRows(seal, rows);
  const checked: CheckedRows = {
    assignments: { rows: rows.assignments, match: matched['role assignments'] },
    memberships: { rows: rows.memberships, match: matched['group memberships'] },
  };
  const raw = opts.keyBoundNow ? null : await store.settings.get(DIGEST_SETTING);
  let refusal: AuthorizationDigestError | null = null;
  let n = 0;
  let changed: DigestKind[] = [];
  if (raw === null) {
    const holdsRows = DIGEST_KINDS.some((k) => live[k] !== ZERO);
    // Removed from the database, it would have the rows found sealed as they are: so only where none was ever seen.
    if (seen > 0) refusal = new AuthorizationDigestError([], `its record (settings row ${DIGEST_SETTING}) is missing, though this data dir saw write ${seen} of it (${DIGEST_FILE})`);
    else if (holdsRows && !opts.trusted) {
      refusal = new AuthorizationDigestError([], `the database holds authorization rows but no record of them (settings row ${DIGEST_SETTING}), and this data dir has not run against it before`);
    }
    changed = holdsRows ? [...DIGEST_KINDS] : [];
  } else {
    try {
      const opened = openRecord(seal, raw);
      n = opened.n;
      changed = changedKinds(opened.digests, live);
      if (changed.length > 0) refusal = new AuthorizationDigestError(changed);
      else if (n < seen) refusal = behindError(n, seen);
    } catch (err) {
      if (!(err instanceof AuthorizationDigestError)) throw err;
      refusal = err;
      changed = [...DIGEST_KINDS];
    }
  }
  return { refusal, n, seen, live, changed, recorded: raw !== null, record: raw, checked };
}

/**
 * The pre-flight's findings, if they still hold: the same stored key and record, the journal's triggers found intact
 * as the store opened, and nothing in the journal since (every row added or removed meanwhile would be in it, coffer's
 * own start steps included). Holding 10,000 role assignments to the record twice cost a large start about 0.2 s.
 */
async function foreseenStill(
  store: Pick<Store, 'settings'>,
  host: AuthorizationDigestHost,
  opts: { foreseen?: ForeseenDigest | null; keyBoundNow?: boolean },
): Promise<DigestFound | null> {
  const f = opts.foreseen;
  const found = f?.found ?? null;
  if (f) f.found = null;
  if (!f || !found || opts.keyBoundNow || host.restoredTriggers.length > 0) return null;
  if ((await store.settings.get(AUTHORIZATION_KEY_SETTING)) !== f.key || (await store.settings.get(DIGEST_SETTING)) !== found.record) return null;
  return (await host.journalEmpty()) ? found : null;
}

export async function startAuthorizationDigest(
  store: Store,
  holder: SealHolder,
  opts: {
    dataDir: string;
    /** Rows found without a record may be sealed as found (the rule of authorization-sealing.ts's `trusted`). */
    trusted: boolean;
    /** --accept-authorization-rows: rows that are not those last sealed are sealed as found. */
    accept: boolean;
    /**
     * The authorization key was made and bound at this start: a record stored before is of a key since removed
     * (refused by authorization-key.json where the data dir has run against the database), and means nothing.
     * Only rows this start sealed can match the new key, and it sealed them as found only where `trusted`.
     */
    keyBoundNow?: boolean;
    /** What the pre-flight found, taken as the start's own if nothing changed since (foreseenStill). */
    foreseen?: ForeseenDigest | null;
  },
  log: Pick<Logger, 'warn' | 'error'>,
): Promise<{ flush: () => void; asChecked: RowsAsChecked }> {
  const host = store.authorizationDigest;
  if (!host) return { flush: () => undefined, asChecked: { take: async () => null } };
  const file = join(opts.dataDir, DIGEST_FILE);
  // Rows changed while they were missing are not in the journal: the full check below holds them to the record.
  if (host.restoredTriggers.length > 0) log.warn({ triggers: host.restoredTriggers }, "put back the authorization journal's triggers, found dropped or changed outside coffer (and dropped any trigger or rule not coffer's)");
  const seal = holder.current();
  // On a database other servers write (a cluster), their guarded writes wait meanwhile: the rows and the record read are of one moment.
  const exclusive = host.exclusive ?? (<T>(check: () => Promise<T>) => check());
  // The last write sealed: the guard refuses a record older than it (one put back while the server runs).
  let lastSealed = 0;
  // The rows as held to the record here, and the record they were held to.
  let checkedRows: CheckedRows | null = null;
  let checkedRecord: string | null = null;
  await exclusive(async () => {
    const { refusal, seen, live, changed, recorded, checked, record, ...found } = (await foreseenStill(store, host, opts)) ?? (await findDigest(store, seal, opts));
    let n = found.n;
    if (refusal && !opts.accept) throw refusal;
    checkedRows = checked;
    checkedRecord = record;
    if (refusal || !recorded) {
      n = Math.max(n, seen) + 1;
      checkedRecord = makeRecord(seal, live, n);
      await store.settings.set(DIGEST_SETTING, checkedRecord);
      if (refusal) log.warn({ kinds: refusal.kinds }, `started with --accept-authorization-rows: sealed the authorization rows as found (${refusal.message}); remove the flag now`);
      else if (changed.length > 0) log.warn('sealed which authorization rows the database holds (the first start of a build that keeps the authorization digest)');
    } else if (opts.accept) log.warn('started with --accept-authorization-rows, though the authorization rows are those coffer last sealed: remove the flag');
    recordCounter(file, n);
    lastSealed = n;
    // Every row was just held to the record (or sealed into it): what the journal held since the last write is in it.
    await host.reset();
  });
  const counter = counterRecorder(file);
  await host.use(
    createDigestGuard(
      () => holder.current(),
      lastSealed,
      (m) => counter.note(m),
      // A write refused, or key credentials left out at a sign-in.
      (err) => log.error({ kinds: err.kinds }, `refused authorization rows: ${err.message}`),
    ),
  );
  const asChecked = rowsAsChecked(store, host, checkedRows, checkedRecord);
  // The guard's closures keep this function's scope as long as the server runs: the rows are the index's to take, not its.
  checkedRows = null;
  return { flush: counter.flush, asChecked };
}

/**
 * The rows are still those checked while the record is the one they were held to (any write coffer seals stores
 * another) and the journal, emptied at the check, is empty (any row added or removed since is in it). Each kind is
 * given once, then dropped: the index keeps what it needs of them.
 */
function rowsAsChecked(store: Pick<Store, 'settings'>, host: AuthorizationDigestHost, checked: CheckedRows | null, record: string | null): RowsAsChecked {
  const left: Partial<CheckedRows> = checked ? { ...checked } : {};
  return {
    async take(kind) {
      const rows = left[kind];
      delete left[kind];
      if (!rows || (await store.settings.get(DIGEST_SETTING)) !== record || !(await host.journalEmpty())) return null;
      return rows as CheckedRows[typeof kind];
    },
  };
}
