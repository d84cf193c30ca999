import Database from 'better-sqlite3';
import { settingsKeyIds } from '../crypto/master-key-rotation.js';

// The master keys a SQLite database's wrapped keys name (what keyIdsInUse
// reads from a store), read from the file without writing to it: what a
// backup needs to be restored. Each key with how many wrapped keys name it,
// so that a master key rotation under way (whose counts move from the old
// key to the new one) can be told from a settled database that names more
// than one (a signing key that no longer opens keeps its old key's name).

/** The master key ids the database `file` names, each with how many wrapped keys name it. */
export async function masterKeysOf(file: string): Promise<Map<string, number>> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const counts = new Map<string, number>();
    const add = (id: string) => counts.set(id, (counts.get(id) ?? 0) + 1);
    const wrapped = db.prepare<[], { id: string }>(
      'SELECT master_key_id AS id FROM vaults UNION ALL SELECT master_key_id FROM vault_earlier_keys UNION ALL SELECT master_key_id FROM signing_keys',
    );
    for (const { id } of wrapped.all()) add(id);
    const setting = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?');
    for (const id of await settingsKeyIds({ get: async (key: string) => setting.get(key)?.value ?? null })) add(id);
    return counts;
  } finally {
    db.close();
  }
}

/** One line for a set of counts, to compare two readings. */
export const fingerprint = (counts: Map<string, number>): string =>
  [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, n]) => `${id}:${n}`).join(',');
