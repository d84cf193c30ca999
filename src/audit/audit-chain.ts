import { hash } from 'node:crypto';
import type { AuditRecord, AuditRow } from '../storage/store-types.js';

// Tamper evidence: each row's hash covers every stored column and the
// previous row's hash, so an edited, deleted or reordered row breaks the
// chain at that row. The store chains rows inside the transaction that
// writes them (a record stored with the write it describes can then never
// leave a hole or a fork in the chain); verification happens here.

export const GENESIS = '0'.repeat(64);

// Each field followed by NUL, hashed in one call: the same digest as one
// update per field, and the one-shot hash is cheapest. The fields are written
// into a reused buffer rather than joined into a string: the SQLite writer
// thread chains every record on a 1 MB young generation, and a string per
// record made its old generation grow by about 6 MB (the batches it holds
// were promoted by the extra scavenges). Self-contained apart from
// node:crypto's `hash` and Buffer: the writer runs this function's own source
// (sqlite-writer-worker.ts).
export function rowHash(r: Omit<AuditRow, 'hash'>): string {
  const SCRATCH_BYTES = 64 * 1024; // records are about 1 KB; a larger one is joined instead
  const parts = [r.prevHash, String(r.seq), r.time, r.vault ?? '', r.secret ?? '', r.principal ?? '', r.operation, r.resultType, String(r.httpStatus), r.record];
  let size = 0;
  for (const p of parts) size += Buffer.byteLength(p) + 1;
  if (size > SCRATCH_BYTES) return hash('sha256', `${parts.join('\u0000')}\u0000`, 'hex');
  const scratch = (rowHash.scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES));
  let n = 0;
  for (const p of parts) {
    n += scratch.write(p, n);
    scratch[n++] = 0;
  }
  return hash('sha256', scratch.subarray(0, n), 'hex');
}
rowHash.scratch = undefined as Buffer | undefined;

export interface ChainAnchor {
  /** Seq of the last row removed by retention (0 when none). */
  seq: number;
  hash: string;
}

/** Where the chain starts when no row is left: the settings key of the anchor (JSON) and the anchor before any retention. */
export const ANCHOR_SETTING = 'auditAnchor';
export const NO_ANCHOR: ChainAnchor = { seq: 0, hash: GENESIS };

/** The anchor from its stored setting (absent: none yet). Self-contained apart from NO_ANCHOR: the writer thread runs its source. */
export function anchorFrom(setting: string | null | undefined): ChainAnchor {
  return setting ? (JSON.parse(setting) as ChainAnchor) : NO_ANCHOR;
}

/** The setting that stores an anchor: the last row removed by retention. */
export const anchorSetting = (row: ChainAnchor): string => JSON.stringify({ seq: row.seq, hash: row.hash } satisfies ChainAnchor);

/**
 * Makes `record` the row stored right after `prev` (the last row, else the
 * anchor), in place: no copy per record (see rowHash for why that matters).
 */
export function chainRecord(prev: ChainAnchor, record: AuditRecord): AuditRow {
  const row = record as AuditRow;
  row.seq = prev.seq + 1;
  row.prevHash = prev.hash;
  row.hash = rowHash(row);
  return row;
}

export type VerifyResult =
  | { ok: true; checked: number; head: number }
  | { ok: false; checked: number; firstBadSeq: number; reason: string };

/** Walks rows in seq order from the anchor; names the first row that does not fit. */
export async function verifyChain(anchor: ChainAnchor, read: (fromSeq: number, limit: number) => Promise<AuditRow[]>): Promise<VerifyResult> {
  let expectedSeq = anchor.seq + 1;
  let prev = anchor.hash;
  let checked = 0;
  for (;;) {
    const rows = await read(expectedSeq, 1000);
    if (rows.length === 0) return { ok: true, checked, head: expectedSeq - 1 };
    for (const r of rows) {
      if (r.seq !== expectedSeq) return { ok: false, checked, firstBadSeq: expectedSeq, reason: `record ${expectedSeq} is missing (next present is ${r.seq})` };
      if (r.prevHash !== prev) return { ok: false, checked, firstBadSeq: r.seq, reason: `record ${r.seq} does not follow record ${r.seq - 1} (deleted or reordered)` };
      const { hash, ...rest } = r;
      if (rowHash(rest) !== hash) return { ok: false, checked, firstBadSeq: r.seq, reason: `record ${r.seq} was modified` };
      prev = hash;
      expectedSeq++;
      checked++;
    }
  }
}
