import { readRecordFile, writeFileAtomic } from '../storage/atomic-file.js';
import type { VerifyResult } from './audit-chain.js';

// The highest audit record this data dir has seen, kept beside the master
// key and outside the database. The chain's sealed ends catch records cut
// from either end, but a whole database put back to an earlier copy (its
// head checkpoint with it) is a consistent, shorter trail that verifies.
// Held to this mark, it does not: the trail ends before a record the server
// saw. The mark is written every few seconds and at shutdown, so a rollback
// of the last few seconds can pass. Once seen, a rollback stays reported
// (new records would otherwise grow the trail past the mark again) until
// an operator who restored the database on purpose removes the file.

export interface HighWater {
  seq: number;
  at: string;
  /** Where the trail ended when it was found behind the mark. */
  rolledBackTo?: number;
  rolledBackAt?: string;
}

function read(file: string): HighWater | null {
  const parsed = readRecordFile<HighWater>(file);
  if (parsed === null) return null;
  if (!Number.isSafeInteger(parsed.seq)) throw new Error(`${file} is not an audit high-water mark: remove it to start a new one`);
  return parsed;
}

export function createHighWater(file: string, now = () => new Date().toISOString()) {
  let mark = read(file);
  const save = (next: HighWater) => {
    mark = next;
    writeFileAtomic(file, JSON.stringify(next) + '\n');
  };
  return {
    mark: () => mark,
    /**
     * Takes in the trail's current last record: past the mark, it becomes
     * the mark; behind it, the rollback is recorded (once). Returns the
     * rollback when there is one on record.
     */
    observe(tipSeq: number): HighWater | null {
      if (mark === null || (tipSeq > mark.seq && mark.rolledBackTo === undefined)) save({ seq: tipSeq, at: now() });
      else if (tipSeq < mark.seq && mark.rolledBackTo === undefined) save({ ...mark, rolledBackTo: tipSeq, rolledBackAt: now() });
      return mark?.rolledBackTo === undefined ? null : mark;
    },
    /** A verification held to the mark. */
    hold(result: VerifyResult): VerifyResult {
      if (!result.ok || mark === null) return result;
      const behind = mark.rolledBackTo ?? (result.head < mark.seq ? result.head : undefined);
      if (behind === undefined) return result;
      return {
        ok: false,
        checked: result.checked,
        firstBadSeq: behind + 1,
        reason:
          `the trail was rolled back: this server saw record ${mark.seq} (${mark.at}), and the database's trail ended at record ${behind} after that, ` +
          `as if the database had been put back to an earlier copy. If it was restored on purpose, remove ${file}.`,
      };
    },
  };
}

export type AuditHighWater = ReturnType<typeof createHighWater>;
