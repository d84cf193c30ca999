import { createHmac, hash, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { AuditRecord, AuditRow } from '../storage/store-types.js';

// Tamper evidence: each row's MAC covers every stored column and the previous
// row's MAC, so an edited, deleted or reordered row breaks the chain at that
// row. The MAC is HMAC-SHA-256 under the deployment's audit key, which is
// wrapped by the master keyring (audit-key.ts): whoever can write the
// database but does not hold the master key cannot forge a row. A master key
// rotation renews the audit key: rows from then on are MACed under the new
// generation, and both chain ends are sealed under it, so whoever holds the
// old master key cannot forge what comes after (nor, through the chain,
// change what came before). Two sealed
// points close the chain's ends: the anchor (the last row retention removed)
// and the head checkpoint (the last row stored), rewritten in the same
// transaction as every append, so cutting rows from either end shows too.
// Appends go on from the sealed head, not from the last row: records cut
// from the end leave a gap that the next record does not close. Rows stored
// before the chain was keyed (seq below the key's `since`) carry a plain
// SHA-256 hash, and verify as such.
//
// The store chains rows inside the transaction that writes them (a record
// stored with the write it describes can then never leave a hole or a fork
// in the chain); verification happens here.

export const GENESIS = '0'.repeat(64);

/** One generation of the audit key and the first seq it MACs (up to the next generation's). */
export interface KeyPeriod {
  generation: number;
  since: number;
  key: KeyObject;
}

/** Every generation of the audit key, oldest first. */
export interface ChainKey {
  /** The current generation's key: new rows and both chain ends are sealed under it. */
  key: KeyObject;
  generation: number;
  /** The first keyed seq (the first generation's): rows before it carry an unkeyed hash. */
  since: number;
  periods: KeyPeriod[];
}

/** The keys by generation, as the appenders hold them (a plain object: the writer thread receives it by postMessage). */
export type ChainKeys = Record<number, KeyObject>;

export const keysByGeneration = (k: ChainKey): ChainKeys => Object.fromEntries(k.periods.map((p) => [p.generation, p.key]));

/** The newest generation held (-1: none). Self-contained (the writer thread runs its source). */
export function latestGeneration(keys: ChainKeys | null): number {
  let latest = -1;
  if (keys) for (const g in keys) if (Number(g) > latest) latest = Number(g);
  return latest;
}

/** A position in the chain: a row's seq and MAC (or hash). */
export interface ChainPoint {
  seq: number;
  hash: string;
}

/** A stored chain end, with its MAC under the audit key (absent on an anchor from before keying) and that key's generation (absent: 0). */
export interface SealedPoint extends ChainPoint {
  mac?: string;
  generation?: number;
}

/** Settings keys (JSON SealedPoint): the last row removed by retention, and the last row stored. */
export const ANCHOR_SETTING = 'auditAnchor';
export const HEAD_SETTING = 'auditHead';
export const NO_ANCHOR: SealedPoint = { seq: 0, hash: GENESIS };

// Each field followed by NUL, in one call: the same digest as one update per
// field. The fields are written into a reused buffer rather than joined into
// a string: the SQLite writer thread chains every record on a 1 MB young
// generation, and a string per record made its old generation grow by about
// 6 MB (the batches it holds were promoted by the extra scavenges).
// Self-contained apart from node:crypto's `hash` and `createHmac` and Buffer:
// the writer runs this function's own source (sqlite-writer-worker.ts).
/** The row's MAC under `key`, or its plain SHA-256 hash (rows from before keying) when `key` is null. */
export function rowHash(r: Omit<AuditRow, 'hash'>, key: KeyObject | null): string {
  const SCRATCH_BYTES = 64 * 1024; // records are about 1 KB; a larger one is joined instead
  const parts = [r.prevHash, String(r.seq), r.time, r.vault ?? '', r.secret ?? '', r.principal ?? '', r.operation, r.resultType, String(r.httpStatus), r.record];
  let size = 0;
  for (const p of parts) size += Buffer.byteLength(p) + 1;
  let data: Buffer | string;
  if (size > SCRATCH_BYTES) data = `${parts.join('\u0000')}\u0000`;
  else {
    const scratch = (rowHash.scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES));
    let n = 0;
    for (const p of parts) {
      n += scratch.write(p, n);
      scratch[n++] = 0;
    }
    data = scratch.subarray(0, n);
  }
  return key ? createHmac('sha256', key).update(data).digest('hex') : hash('sha256', data, 'hex');
}
rowHash.scratch = undefined as Buffer | undefined;

/** The MAC of a chain end (its generation bound in, from the first renewal on). Self-contained apart from createHmac (the writer thread runs its source). */
export function pointMac(key: KeyObject, kind: 'anchor' | 'head', p: SealedPoint): string {
  const generation = p.generation ? `\u0000generation=${p.generation}` : '';
  return createHmac('sha256', key).update(`coffer-audit-${kind}\u0000${p.seq}\u0000${p.hash}${generation}`).digest('hex');
}

/** The setting that stores a chain end, sealed under the key of `generation`. Self-contained apart from pointMac. */
export function sealedPoint(key: KeyObject, kind: 'anchor' | 'head', p: ChainPoint, generation = 0): string {
  const point: SealedPoint = generation ? { seq: p.seq, hash: p.hash, generation } : { seq: p.seq, hash: p.hash };
  return JSON.stringify({ ...point, mac: pointMac(key, kind, point) });
}

/** A stored chain end from its setting (absent: null). Self-contained (the writer thread runs its source). */
export function pointFrom(setting: string | null | undefined): SealedPoint | null {
  return setting ? (JSON.parse(setting) as SealedPoint) : null;
}

/** Whether a stored chain end carries its own MAC. Self-contained apart from pointMac and timingSafeEqual. */
export function isSealed(key: KeyObject, kind: 'anchor' | 'head', p: SealedPoint | null): boolean {
  if (!p || typeof p.mac !== 'string' || !/^[0-9a-f]{64}$/.test(p.mac)) return false;
  return timingSafeEqual(Buffer.from(pointMac(key, kind, p), 'hex'), Buffer.from(p.mac, 'hex'));
}

/** Where the next record goes, and under which key generation. */
export interface ChainStart {
  head: ChainPoint;
  /** Whether the head came from a valid checkpoint (which is then sealed again). */
  sealed: boolean;
  generation: number;
  /** The checkpoint names a newer generation than any held: another cluster member renewed the key (reload, then ask again). */
  unknownGeneration: number | null;
}

/**
 * Where the next record goes, read inside the transaction that appends it:
 * after the sealed head checkpoint, under its key generation; without a
 * valid one the database was edited, so after the last row (else the
 * anchor), under the newest key held, and the checkpoint is left as it is
 * (`sealed` false: never sealed again over the edit) so that verify keeps
 * showing it. Self-contained apart from pointFrom, isSealed, latestGeneration
 * and NO_ANCHOR (the writer thread runs its source).
 */
export function chainStart(
  keys: ChainKeys | null,
  checkpoint: string | null | undefined,
  lastRow: () => ChainPoint | null | undefined,
  anchor: () => string | null | undefined,
): ChainStart {
  const point = pointFrom(checkpoint);
  const latest = latestGeneration(keys);
  let unknownGeneration = null;
  if (point && keys) {
    const generation = point.generation === undefined ? 0 : point.generation;
    const key = Number.isSafeInteger(generation) ? keys[generation] : undefined;
    if (key && isSealed(key, 'head', point)) return { head: { seq: Number(point.seq), hash: point.hash }, sealed: true, generation, unknownGeneration };
    if (Number.isSafeInteger(generation) && generation > latest) unknownGeneration = generation;
  }
  const last = lastRow() || pointFrom(anchor()) || NO_ANCHOR;
  return { head: { seq: last.seq, hash: last.hash }, sealed: false, generation: latest, unknownGeneration };
}

/** Settings key of the audit key (audit-key.ts keeps its format; renewalSettings extends it). */
export const AUDIT_KEY_SETTING = 'auditKey';

/** Binds a renewal's first seq to its key. Self-contained apart from createHmac. */
export function renewalMac(key: KeyObject, generation: number, since: number): string {
  return createHmac('sha256', key).update(`coffer-audit-key-since\u0000${generation}\u0000${since}`).digest('hex');
}

/**
 * Binds a renewal to the generation before it: a MAC, under the previous
 * generation's key, of the new key's fingerprint and its first seq. Whoever
 * holds an old master key (so old generations) cannot add a generation
 * after one they do not hold. Self-contained apart from createHmac.
 */
export function renewalLink(previous: KeyObject, key: KeyObject, generation: number, since: number): string {
  const fingerprint = createHmac('sha256', key).update('coffer-audit-key-fingerprint').digest('hex');
  return createHmac('sha256', previous).update(`coffer-audit-key-next\u0000${generation}\u0000${since}\u0000${fingerprint}`).digest('hex');
}

/** A new generation of the audit key, wrapped by the master keyring under audit-key.ts's AAD for it. */
export interface KeyRenewal {
  generation: number;
  key: KeyObject;
  keyId: string;
  sealed: string;
}

/**
 * The settings a key renewal writes, inside the transaction that orders the
 * chain's appends (so no record falls between the periods): the key row
 * with the new generation, which covers the records from the next seq on;
 * the head checkpoint and the anchor sealed again under it (each only if it
 * was sealed under the previous generation: an edited end stays as it is,
 * for verify to show). Null when the row already has that generation
 * (another renewal went first). Self-contained apart from renewalMac,
 * renewalLink, sealedPoint, isSealed, pointFrom and the settings' names.
 */
export function renewalSettings(keys: ChainKeys, renewal: KeyRenewal, keyRow: string, start: ChainStart, anchorSetting: string | null | undefined): Record<string, string> | null {
  const row = JSON.parse(keyRow);
  const renewals = Array.isArray(row.renewals) ? row.renewals : [];
  const previous = keys[renewal.generation - 1];
  if (renewal.generation !== renewals.length + 1 || !previous) return null;
  const since = start.head.seq + 1;
  const added = { since, keyId: renewal.keyId, sealed: renewal.sealed, mac: renewalMac(renewal.key, renewal.generation, since), link: renewalLink(previous, renewal.key, renewal.generation, since) };
  const next = { ...row, renewals: [...renewals, added] };
  const settings: Record<string, string> = { [AUDIT_KEY_SETTING]: JSON.stringify(next) };
  if (start.sealed && start.generation === renewal.generation - 1) settings[HEAD_SETTING] = sealedPoint(renewal.key, 'head', start.head, renewal.generation);
  const anchor = pointFrom(anchorSetting);
  if (anchor && previous && isSealed(previous, 'anchor', anchor)) settings[ANCHOR_SETTING] = sealedPoint(renewal.key, 'anchor', anchor, renewal.generation);
  return settings;
}

/**
 * Makes `record` the row stored right after `prev` (the last row, else the
 * anchor), in place: no copy per record (see rowHash for why that matters).
 */
export function chainRecord(prev: ChainPoint, record: AuditRecord, key: KeyObject): AuditRow {
  const row = record as AuditRow;
  row.seq = prev.seq + 1;
  row.prevHash = prev.hash;
  row.hash = rowHash(row, key);
  return row;
}

/** What verification reads from the store: both ends of the chain. */
export interface ChainEnds {
  anchor: SealedPoint;
  head: SealedPoint | null;
}

export type VerifyResult =
  /** keyedFrom: the first record under the audit key (those before it verify by their unkeyed hash). */
  | { ok: true; checked: number; head: number; keyedFrom: number }
  | { ok: false; checked: number; firstBadSeq: number; reason: string };

const HEX_64 = /^[0-9a-f]{64}$/;
/** a is a MAC or hash we hold (64 hex digits); b is what was stored, of any shape. */
const sameHex = (a: string, b: unknown): boolean => typeof b === 'string' && HEX_64.test(b) && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));

/**
 * Walks rows in seq order from the anchor and names the first that does not
 * fit; then the walk must have passed the head checkpoint. The checkpoint is
 * read before the rows, so rows appended meanwhile lie past it and verify.
 */
export async function verifyChain(
  ends: ChainEnds,
  keys: ChainKey,
  read: (fromSeq: number, limit: number) => Promise<AuditRow[]>,
  pageSize = 1000,
  /** The keys as stored now: rows appended past the checkpoint may be under a generation renewed since `keys` were read. */
  reread?: () => Promise<ChainKey>,
): Promise<VerifyResult> {
  const { anchor, head } = ends;
  let chainKey = keys;
  const fail = (checked: number, firstBadSeq: number, reason: string): VerifyResult => ({ ok: false, checked, firstBadSeq, reason });
  // Both ends are sealed under the current generation: one sealed under an older key (which its holder could forge) does not count.
  const current = (p: SealedPoint, kind: 'anchor' | 'head') => (p.generation ?? 0) === chainKey.generation && isSealed(chainKey.key, kind, p);
  // Only the genesis needs no seal: keying seals the anchor it finds, and retention seals each one it writes.
  const genesis = anchor.seq === 0 && anchor.hash === GENESIS;
  if (!genesis && !current(anchor, 'anchor')) {
    return fail(0, anchor.seq + 1, `the chain's anchor (record ${anchor.seq}, where retention last cut) was changed`);
  }
  if (!head || !current(head, 'head')) return fail(0, anchor.seq + 1, `the chain's head checkpoint is missing or was changed`);
  if (head.seq < anchor.seq || (head.seq === anchor.seq && !sameHex(head.hash, anchor.hash))) {
    return fail(0, anchor.seq + 1, `the head checkpoint (record ${head.seq}) lies before the anchor (record ${anchor.seq})`);
  }
  let expectedSeq = anchor.seq + 1;
  let prev = anchor.hash;
  let checked = 0;
  // The key of the period a row falls in (rows come in seq order); null before the first keyed seq.
  let period = -1;
  const keyFor = (seq: number): KeyObject | null => {
    while (period + 1 < chainKey.periods.length && chainKey.periods[period + 1]!.since <= seq) period++;
    return period < 0 ? null : chainKey.periods[period]!.key;
  };
  for (;;) {
    const rows = await read(expectedSeq, pageSize);
    if (rows.length === 0) break;
    for (const r of rows) {
      if (r.seq !== expectedSeq) return fail(checked, expectedSeq, `record ${expectedSeq} is missing (next present is ${r.seq})`);
      if (!sameHex(prev, r.prevHash)) return fail(checked, r.seq, `record ${r.seq} does not follow record ${r.seq - 1} (deleted or reordered)`);
      const { hash: stored, ...rest } = r;
      let verified = sameHex(rowHash(rest, keyFor(r.seq)), stored);
      if (!verified && r.seq > head.seq && reread && chainKey === keys) {
        // Keys that cannot be read again leave the row unverified, as it is.
        chainKey = await reread().catch(() => chainKey);
        period = -1;
        verified = sameHex(rowHash(rest, keyFor(r.seq)), stored);
      }
      if (!verified) return fail(checked, r.seq, `record ${r.seq} was modified`);
      if (r.seq === head.seq && !sameHex(head.hash, stored)) return fail(checked, r.seq, `record ${r.seq} is not the one the head checkpoint names`);
      prev = stored;
      expectedSeq++;
      checked++;
    }
  }
  if (expectedSeq - 1 < head.seq) {
    return fail(checked, expectedSeq, `records ${expectedSeq} to ${head.seq} are missing: the trail was cut at its end`);
  }
  return { ok: true, checked, head: expectedSeq - 1, keyedFrom: keys.since };
}
