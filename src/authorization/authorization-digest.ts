import { timingSafeEqual } from 'node:crypto';
import { IntegrityError } from '../crypto/envelope.js';
import { HELD_KINDS, type AuthorizationRows, type DigestGuard, type HeldKind } from '../storage/authorization-digest-types.js';
import type { RoleAssignmentRow, RoleDefinitionRow, Store } from '../storage/store-types.js';
import { canonicalJson, type AuthorizationSeal, type FederatedCredentialSealed, type KeyCredentialSealed, type VaultSealed } from './authorization-seal.js';

// A seal proves that coffer wrote a row, not that the row is still meant: a
// database writer who kept a copy of a role assignment before it was
// deleted could put it back, and it would match its seal. So coffer also
// seals which rows there are. Per kind, the digest is the sum (modulo
// 2^256), over the rows whose seal matches, of an HMAC of the seal under the
// authorization key (keyed, so that no one without the key can pick rows
// whose sum cancels another's). A sum, not a XOR: two rows with one seal
// (ids the seal lower-cases, stored in two cases) or a journal entry planted
// twice would cancel out in a XOR, and a row put back twice would count as
// none. The record (settings row `authorizationDigest`) holds
// the digests, a counter n of the writes that sealed it, and an HMAC over
// both. A start holds every row to the record (authorization-digest-start.ts).
// Every coffer write to a sealed table then folds into the record only the
// rows it added and removed, which triggers journal (the store does it:
// sqlite-authorization-digest.ts), after checking that the journal holds no
// change of another writer: so a row put back outside coffer is never taken
// into the record, whether the triggers saw it or not, and the next start
// finds it.
// Rows whose seal does not match are not counted: they grant nothing anyway.

export const DIGEST_SETTING = 'authorizationDigest';

export const DIGEST_KINDS = ['role assignments', 'custom roles', 'group memberships', 'key credentials', 'vaults', 'federated credentials'] as const;
export type DigestKind = (typeof DIGEST_KINDS)[number];
export type Digests = Record<DigestKind, string>;

interface StoredRecord {
  generation: number;
  n: number;
  digests: Digests;
  mac: string;
}

/** Whether a row's stored seal matches it (`expected` computes its seal under a generation). */
export type IntactTest = (mac: string | null | undefined, expected: (seal: AuthorizationSeal) => string) => boolean;

/**
 * Per row, in the rows' order, its seal under `seal` if it matches (`intact`: by default its seal is `seal`'s; a
 * start that finishes a renewal a stop cut short takes either generation's), else null, by kind. A row's part in the
 * digest is its seal under the record's generation: the seal it carries, unless a renewal has sealed it again since.
 */
function sealsOf(seal: AuthorizationSeal, rows: AuthorizationRows, intact: IntactTest): Record<DigestKind, Array<string | null>> {
  // The seal under `seal` computed once per row (an HMAC over its canonical JSON: most of a start's check of the rows).
  const kept = <R extends { mac?: string | null }>(list: R[], expected: (s: AuthorizationSeal, r: R) => string) =>
    list.map((r) => {
      const mine = expected(seal, r);
      return intact(r.mac, (s) => (s === seal ? mine : expected(s, r))) ? mine : null;
    });
  return {
    'role assignments': kept(rows.assignments, (s, r) => s.assignment(r)),
    'custom roles': kept(rows.definitions, (s, r) => s.definition(r)),
    'group memberships': kept(rows.memberships, (s, r) => s.membership(r.groupId, r.memberId)),
    'key credentials': kept(rows.keyCredentials, (s, r) => s.keyCredential(r)),
    vaults: kept(rows.vaults, (s, r) => s.vault(r)),
    'federated credentials': kept(rows.federatedCredentials, (s, r) => s.federatedCredential(r)),
  };
}

const counted = (seals: Array<string | null>): string[] => seals.filter((m): m is string => m !== null);

const MOD = 1n << 256n;
const toHex = (v: bigint) => v.toString(16).padStart(64, '0');
/** A digest as a number (a malformed one as a value no sum of rows reaches in practice: it will not match). */
const fromHex = (d: string | undefined) => (d && /^[0-9a-f]{64}$/.test(d) ? BigInt(`0x${d}`) : MOD - 1n);
/** A counted row's part in its kind's digest. */
const partOf = (seal: AuthorizationSeal, kind: DigestKind, mac: string) => BigInt(`0x${seal.keyed(`row|${kind}|${mac}`).toString('hex')}`);

const defaultIntact = (seal: AuthorizationSeal): IntactTest => (mac, expected) => seal.intact(mac, expected(seal));

/** The digests, and per kind which rows (in their order) match their seal: a start's one pass over the rows. */
export function countRows(seal: AuthorizationSeal, rows: AuthorizationRows, intact: IntactTest = defaultIntact(seal)): { digests: Digests; matched: Record<DigestKind, boolean[]> } {
  const seals = sealsOf(seal, rows, intact);
  const digests = {} as Digests;
  const matched = {} as Record<DigestKind, boolean[]>;
  for (const kind of DIGEST_KINDS) {
    digests[kind] = toHex(counted(seals[kind]).reduce((d, mac) => (d + partOf(seal, kind, mac)) % MOD, 0n));
    matched[kind] = seals[kind].map((m) => m !== null);
  }
  return { digests, matched };
}

/** The rows the access index loads, as a start's check of the digest read them, and which of them match their seal. */
export interface CheckedRows {
  assignments: { rows: RoleAssignmentRow[]; match: boolean[] };
  memberships: { rows: AuthorizationRows['memberships']; match: boolean[] };
}

/** The rows a start held to the record, for the access index's first load (sealed-stores.ts), while they are still those. */
export interface RowsAsChecked {
  /** The rows of `kind` as checked, once, if nothing changed since (null otherwise: read them). */
  take<K extends keyof CheckedRows>(kind: K): Promise<CheckedRows[K] | null>;
}

export const digestsOf = (seal: AuthorizationSeal, rows: AuthorizationRows, intact: IntactTest = defaultIntact(seal)): Digests => countRows(seal, rows, intact).digests;

const recordMac = (seal: AuthorizationSeal, n: number, digests: Digests) => seal.keyed(`record|${canonicalJson({ generation: seal.generation, n, digests })}`).toString('base64url');

export function makeRecord(seal: AuthorizationSeal, digests: Digests, n: number): string {
  return JSON.stringify({ generation: seal.generation, n, digests, mac: recordMac(seal, n, digests) } satisfies StoredRecord);
}

/** The record's counter and digests, once its MAC is checked under `seal`; throws an IntegrityError otherwise. */
export function openRecord(seal: AuthorizationSeal, raw: string): { n: number; digests: Digests } {
  let r: StoredRecord;
  try {
    r = JSON.parse(raw) as StoredRecord;
  } catch {
    throw new AuthorizationDigestError([], 'its record (settings row authorizationDigest) is not JSON');
  }
  const digests = {} as Digests;
  for (const kind of DIGEST_KINDS) digests[kind] = String(r.digests?.[kind]);
  const expected = Buffer.from(recordMac(seal, Number(r.n), digests));
  const ok = Number.isSafeInteger(r.n) && r.generation === seal.generation && typeof r.mac === 'string' && r.mac.length === expected.length && timingSafeEqual(Buffer.from(r.mac), expected);
  if (!ok) throw new AuthorizationDigestError([], 'its record (settings row authorizationDigest) does not match its MAC: it was changed outside coffer, or is of another authorization key');
  return { n: r.n, digests };
}

/**
 * The record with the parts of rows sealed again under the same key (`from` seal for `to` seal, each a row's) swapped,
 * as write n + 1: it holds the rows exactly as it held them before (a row it counted counts, one it did not count
 * still does not), whatever else differs. Throws an AuthorizationDigestError if the record does not open.
 */
export function resealedRecord(seal: AuthorizationSeal, raw: string, kind: DigestKind, swaps: ReadonlyArray<{ from: string; to: string }>): string {
  const { n, digests } = openRecord(seal, raw);
  const d = swaps.reduce((v, { from, to }) => (v - partOf(seal, kind, from) + partOf(seal, kind, to) + MOD) % MOD, fromHex(digests[kind]));
  return makeRecord(seal, { ...digests, [kind]: toHex(d) }, n + 1);
}

/** The kinds whose rows differ from the record's digests. */
export const changedKinds = (a: Digests, b: Digests): DigestKind[] => DIGEST_KINDS.filter((k) => a[k] !== b[k]);

export const REPLAY_ADVICE =
  'Put the database back from a backup; or, once the rows are checked against the audit trail, start once with --accept-authorization-rows ' +
  '(COFFER_ACCEPT_AUTHORIZATION_ROWS=1), which seals them as they are.';

/** The stored authorization rows are not those coffer last sealed (or the record of them was changed). */
export class AuthorizationDigestError extends IntegrityError {
  constructor(
    readonly kinds: readonly string[],
    detail?: string,
  ) {
    super(
      detail
        ? `the authorization digest: ${detail}. ${REPLAY_ADVICE}`
        : `${kinds.join(', ')} in the database are not those coffer last sealed: rows were added, put back or removed outside coffer since its last write (a row put back matches its seal, and would grant again). ${REPLAY_ADVICE}`,
    );
    this.name = 'AuthorizationDigestError';
  }
}

/** A row's seal function, by kind. */
const SEAL_OF: Record<DigestKind, (s: AuthorizationSeal, row: never) => string> = {
  'role assignments': (s, r: RoleAssignmentRow) => s.assignment(r),
  'custom roles': (s, r: RoleDefinitionRow) => s.definition(r),
  'group memberships': (s, r: { groupId: string; memberId: string }) => s.membership(r.groupId, r.memberId),
  'key credentials': (s, r: KeyCredentialSealed) => s.keyCredential(r),
  vaults: (s, r: VaultSealed) => s.vault(r),
  'federated credentials': (s, r: FederatedCredentialSealed) => s.federatedCredential(r),
};

const isKind = (kind: string): kind is DigestKind => (DIGEST_KINDS as readonly string[]).includes(kind);
const isHeld = (kind: DigestKind): kind is HeldKind => (HELD_KINDS as readonly string[]).includes(kind);

/** A journal entry's row as the seal reads it (its JSON columns parsed, its certificate bytes), with its stored seal. */
function entryRow(kind: DigestKind, fields: string): Record<string, unknown> & { mac?: unknown } {
  const row = JSON.parse(fields) as Record<string, unknown>;
  // Text in SQLite and in PostgreSQL's text columns; PostgreSQL's jsonb (a federated credential's audiences) is embedded as JSON.
  const parse = (k: string) => (row[k] = typeof row[k] === 'string' ? JSON.parse(row[k]) : row[k]);
  if (kind === 'custom roles') ['permissions', 'assignableScopes'].forEach(parse);
  if (kind === 'vaults') parse('properties');
  if (kind === 'federated credentials') parse('audiences');
  if (kind === 'key credentials') row.certificate = Buffer.from(String(row.certificate), 'hex');
  return row;
}

/** The entry's seal if it is its row's under `seal` (the row counts), else null (it grants nothing, and is not counted). */
function countedSeal(seal: AuthorizationSeal, kind: DigestKind, fields: string): string | null {
  try {
    const row = entryRow(kind, fields);
    const expected = SEAL_OF[kind](seal, row as never);
    return typeof row.mac === 'string' && seal.intact(row.mac, expected) ? expected : null;
  } catch {
    return null; // Not JSON where the seal reads JSON: no seal matches it.
  }
}

/**
 * Holds each write to the record: opens it, folds the journal of the rows it added and removed into it, and seals
 * it again (the store calls it in the write's transaction: sqlite-authorization-digest.ts).
 */
export function createDigestGuard(
  seal: () => AuthorizationSeal,
  /** The record's counter the start held the rows to (or sealed). */
  from: number,
  onSealed: (n: number) => void,
  onRefused: (err: AuthorizationDigestError) => void,
): DigestGuard {
  const refused = (err: AuthorizationDigestError): never => {
    onRefused(err);
    throw err;
  };
  // The last write this server sealed. A record older than that was put back while the server ran (with the rows it
  // counts): its MAC and digests hold, and writes on top of it would carry its counter past the data dir's before
  // the next start could compare them.
  let last = from;
  return {
    open(record, since = last) {
      try {
        if (record === null) throw new AuthorizationDigestError([], 'its record (settings row authorizationDigest) is missing');
        const opened = openRecord(seal(), record);
        if (opened.n < since) {
          throw new AuthorizationDigestError(
            [],
            `its record is of write ${opened.n}, but this server sealed write ${since}: the database, or its authorization rows with their record, was put back from an earlier copy while it ran`,
          );
        }
        return opened;
      } catch (err) {
        if (err instanceof AuthorizationDigestError) onRefused(err);
        throw err;
      }
    },
    fold(digests, entries) {
      const s = seal();
      const out = new Map<DigestKind, bigint>();
      const held: Array<{ kind: HeldKind; added: boolean; mac: string }> = [];
      for (const e of entries) {
        if (!isKind(e.kind)) continue;
        const mac = countedSeal(s, e.kind, e.fields);
        if (mac === null) continue;
        const d = out.get(e.kind) ?? fromHex(digests[e.kind]);
        // A row removed takes its part away: removing one never counted leaves a digest no set of rows makes.
        const part = partOf(s, e.kind, mac);
        out.set(e.kind, (e.added ? d + part : d - part + MOD) % MOD);
        if (isHeld(e.kind)) held.push({ kind: e.kind, added: e.added, mac });
      }
      return { digests: { ...digests, ...Object.fromEntries([...out].map(([k, d]) => [k, toHex(d)])) }, held };
    },
    unchanged(before, after) {
      const changed = changedKinds(before as Digests, after as Digests);
      if (changed.length > 0) refused(new AuthorizationDigestError(changed));
    },
    record: (digests, n) => makeRecord(seal(), digests as Digests, n),
    counted: (kind, rows) => counted(sealsOf(seal(), rows, defaultIntact(seal()))[kind]),
    digestOf: (kind, rows) => digestsOf(seal(), rows)[kind],
    mark: () => last,
    sealed(n) {
      last = Math.max(last, n);
      onSealed(n);
    },
    tampered: (detail) => refused(new AuthorizationDigestError([], detail)),
    refuse(kind) {
      onRefused(new AuthorizationDigestError([kind]));
      return false;
    },
  };
}

/** Every row of authorization data, through the store's reads (at start, and around a renewal of the key). */
export async function readAuthorizationRows(store: Pick<Store, 'roleAssignments' | 'roleDefinitions' | 'groups' | 'principals' | 'vaults'>): Promise<AuthorizationRows> {
  const vaults: AuthorizationRows['vaults'] = [];
  for (const k of await store.vaults.listKeys()) {
    const row = k.current ? await store.vaults.getById(k.id) : null;
    if (row) vaults.push(row);
  }
  return {
    assignments: await store.roleAssignments.list(),
    definitions: await store.roleDefinitions.list(),
    memberships: await store.groups.allMemberships(),
    keyCredentials: await store.principals.allKeyCredentials(),
    vaults,
    federatedCredentials: await store.principals.allFederatedCredentials(),
  };
}

type DigestStore = Pick<Store, 'roleAssignments' | 'roleDefinitions' | 'groups' | 'principals' | 'vaults' | 'settings' | 'authorizationDigest'>;

/** The stored record's counter once it is checked against the rows under `seal` (null: no record); throws AuthorizationDigestError. */
export async function checkStoredDigest(store: DigestStore, seal: AuthorizationSeal, intact?: IntactTest): Promise<number | null> {
  const raw = await store.settings.get(DIGEST_SETTING);
  if (raw === null) return null;
  const { n, digests } = openRecord(seal, raw);
  const changed = changedKinds(digests, digestsOf(seal, await readAuthorizationRows(store), intact));
  if (changed.length > 0) throw new AuthorizationDigestError(changed);
  return n;
}

/** Seals the rows as they are now under `seal`, as the `n`-th write. */
export async function storeDigest(store: DigestStore, seal: AuthorizationSeal, n: number): Promise<void> {
  const digests = digestsOf(seal, await readAuthorizationRows(store));
  await store.settings.set(DIGEST_SETTING, makeRecord(seal, digests, n));
  // What the journal held is in the record now.
  await store.authorizationDigest?.reset();
}
