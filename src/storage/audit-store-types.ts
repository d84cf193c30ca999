import type { ChainEnds, ChainKey, ChainPoint, KeyRenewal } from '../audit/audit-chain.js';
import type { Page } from './store-types.js';

// The audit trail's part of the storage contract (re-exported by store-types.ts).

/** One audit record as stored: the event plus its place in the hash chain. */
export interface AuditRow {
  seq: number;
  time: string;
  vault: string | null;
  secret: string | null;
  principal: string | null;
  operation: string;
  resultType: string;
  httpStatus: number;
  /** The AuditEvent JSON (never a secret value or token). */
  record: string;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  vault?: string;
  secret?: string;
  principal?: string;
  operation?: string;
  resultType?: string;
  from?: string;
  to?: string;
}

/** An audit record as handed to the store, which numbers and chains it. */
export type AuditRecord = Omit<AuditRow, 'seq' | 'prevHash' | 'hash'>;

export interface AuditStore {
  /**
   * Appends records in order in one durable transaction, each chained to the
   * row before it (or to the anchor): seq, prevHash and hash are the store's.
   */
  append(records: AuditRecord[]): Promise<void>;
  /**
   * The keys that MAC rows and chain ends from now on (audit-chain.ts): each
   * append uses the generation the head checkpoint is sealed under. Until
   * they are given, appends are refused: no record is ever stored unkeyed.
   * `reload` gives the keys of the key row (which the store reads inside its
   * transaction) when the checkpoint names a generation not held (another
   * cluster member renewed the key).
   */
  useKey(key: ChainKey, reload?: (row: string) => ChainKey): void;
  /**
   * Starts the audit key's next generation (audit-key.ts renewAuditKey) in
   * the transaction that orders appends: the records from the next seq on
   * are MACed under it, and both chain ends are sealed under it. `current`
   * are the generations stored now. False when the row already has that
   * generation (another renewal went first); the store holds the new
   * generation otherwise.
   */
  renewKey(current: ChainKey, renewal: KeyRenewal): Promise<boolean>;
  /** The chain's ends as stored: the anchor (the last row removed by retention, else seq 0 and the genesis hash) and the head checkpoint. */
  ends(): Promise<ChainEnds>;
  /** The last row, else the anchor. */
  tip(): Promise<ChainPoint>;
  /** Rows matching the filter, oldest first, after the `after` seq cursor. */
  list(filter: AuditFilter, limit: number, after: string | null): Promise<Page<AuditRow>>;
  /** Rows in seq order from `fromSeq` (inclusive), for verification. */
  range(fromSeq: number, limit: number): Promise<AuditRow[]>;
  /** Deletes rows older than `time` and makes the last of them the anchor (sealed), in one transaction; returns how many went. */
  deleteBefore(time: string): Promise<number>;
}

/**
 * A change refused because the audit record that travels with it could not
 * be stored: the transaction was rolled back, so nothing of the change was
 * stored either.
 */
export class AuditWriteError extends Error {
  constructor(cause: unknown) {
    super(`the audit record could not be stored with the change, which was undone: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'AuditWriteError';
  }
}
