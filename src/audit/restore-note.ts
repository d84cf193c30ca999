import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { AuditEntry } from './audit-types.js';
import { systemEntry } from './audit-hook.js';

// `coffer admin restore` runs with no server, and no audit record can be
// chained then without the keys a start loads. It leaves this note in the
// data dir; the next start writes it into the restored audit trail as its
// first record and removes it. So the trail says when it was restored, from
// what, and which records the restore dropped (those after the backup's last
// one, still in the replaced database kept beside it).

export const RESTORE_NOTE_FILE = 'restored.json';

export interface RestoreNote {
  restoredAt: string;
  backupFile: string;
  backupLastAuditSeq: number;
  backupLastAuditTime: string | null;
  replacedLastAuditSeq: number | null;
  replacedKeptIn: string | null;
}

export function writeRestoreNote(dataDir: string, note: RestoreNote): void {
  writeFileAtomic(join(dataDir, RESTORE_NOTE_FILE), `${JSON.stringify(note, null, 2)}\n`);
}

export function restoreEntry(note: RestoreNote): AuditEntry {
  const backup = `${note.backupFile} (its audit trail ending at record ${note.backupLastAuditSeq}${note.backupLastAuditTime ? `, ${note.backupLastAuditTime}` : ''})`;
  const replaced =
    note.replacedKeptIn === null
      ? 'The data dir had no database before.'
      : `The database it replaced${note.replacedLastAuditSeq === null ? ' (unreadable)' : `, whose trail ended at record ${note.replacedLastAuditSeq},`} is kept in ${note.replacedKeptIn}.`;
  return systemEntry({
    operation: 'DatabaseRestore',
    resourceId: '/COFFER/DATABASE',
    vault: null,
    description: `The database was restored at ${note.restoredAt} from ${backup}. ${replaced}`,
  });
}

/**
 * Writes the restore the data dir's note tells of into the audit trail, then
 * removes the note. A note that does not parse (edited, cut short) still
 * records that a restore happened, without its details.
 */
export async function recordRestore(dataDir: string, write: (entry: AuditEntry) => Promise<void>): Promise<RestoreNote | null> {
  const file = join(dataDir, RESTORE_NOTE_FILE);
  if (!existsSync(file)) return null;
  let note: RestoreNote | null = null;
  try {
    note = JSON.parse(readFileSync(file, 'utf8')) as RestoreNote;
  } catch {
    note = null;
  }
  await write(
    note && typeof note.backupFile === 'string'
      ? restoreEntry(note)
      : systemEntry({ operation: 'DatabaseRestore', resourceId: '/COFFER/DATABASE', vault: null, description: `The database was restored from a backup; ${RESTORE_NOTE_FILE}, which told from what, could not be read.` }),
  );
  rmSync(file);
  return note;
}
