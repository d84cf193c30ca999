import { hash } from 'node:crypto';
import type { AuditRecord, AuditRow } from '../storage/store-types.js';

// Tamper evidence: each row's hash covers every stored column and the
// previous row's hash, so an edited, deleted or reordered row breaks the
// chain at that row. The store chains rows inside the transaction that
// writes them (a record stored with the write it describes can then never
// leave a hole or a fork in the chain); verification happens here.

export const GENESIS = '0'.repeat(64);

// Self-contained apart from node:crypto's `hash`: the SQLite writer thread
// runs this function's own source (sqlite-writer.ts).
export function rowHash(r: Omit<AuditRow, 'hash'>): string {
  // Each field followed by NUL, hashed in one call (the same digest as one update per field; the one-shot hash is cheapest).
  const parts = [r.prevHash, String(r.seq), r.time, r.vault ?? '', r.secret ?? '', r.principal ?? '', r.operation, r.resultType, String(r.httpStatus), r.record];
  return hash('sha256', `${parts.join('\u0000')}\u0000`, 'hex');
}

export interface ChainAnchor {
  /** Seq of the last row removed by retention (0 when none). */
  seq: number;
  hash: string;
}

/** Where the chain starts when no row is left: the settings key of the anchor (JSON) and the anchor before any retention. */
export const ANCHOR_SETTING = 'auditAnchor';
export const NO_ANCHOR: ChainAnchor = { seq: 0, hash: GENESIS };

/** Records as rows that follow `head` (the last stored row, else the anchor). */
export function chainRecords(head: ChainAnchor, records: readonly AuditRecord[]): AuditRow[] {
  let { seq, hash } = head;
  return records.map((r) => {
    const row = { ...r, seq: ++seq, prevHash: hash };
    hash = rowHash(row);
    return { ...row, hash };
  });
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
