import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { withOutput } from '../command-kit.js';
import { checkOutputOptions, print, type OutputOptions } from '../output.js';
import { tryLockDataDir } from '../../server/data-dir-lock.js';

// coffer admin backup | restore: the embedded (SQLite) store's backups. A
// PostgreSQL deployment backs up with PostgreSQL's own tools.

const POSTGRES_ADVICE = 'this deployment keeps its data in PostgreSQL: back it up with pg_dump and restore with pg_restore (docs/postgres.md, "Backing up")';

interface DataDirOptions extends OutputOptions {
  dataDir: string;
  databaseUrl?: string;
}

/** The data dir's SQLite database; refused for a deployment on PostgreSQL. */
function databaseOf(o: DataDirOptions, mustExist: boolean): { dataDir: string; file: string } {
  if (o.databaseUrl ?? process.env.COFFER_DATABASE_URL) throw new CliError(POSTGRES_ADVICE);
  const dataDir = resolve(o.dataDir);
  const file = join(dataDir, 'coffer.db');
  if (mustExist && !existsSync(file)) throw new CliError(`${file} does not exist: is ${dataDir} the server's data dir? (A deployment on PostgreSQL: ${POSTGRES_ADVICE}.)`);
  return { dataDir, file };
}

/** The master keyring a start would use: COFFER_MASTER_KEY (and COFFER_PREVIOUS_MASTER_KEYS), else the data dir's key file. */
async function keyringFor(dataDir: string) {
  const { loadKeyring } = await import('../../crypto/keyring.js');
  const file = join(dataDir, 'master.key');
  const masterKey = process.env.COFFER_MASTER_KEY;
  // Never a new key: loadKeyring makes one when there is none, which no backup would open.
  if (!masterKey && !existsSync(file)) throw new CliError(`${file} does not exist and COFFER_MASTER_KEY is not set: the backup opens only with the master key it was made under`);
  const previousKeys = (process.env.COFFER_PREVIOUS_MASTER_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  return loadKeyring({ masterKey, previousKeys, file }).keyring;
}

async function failsAsCliError<T>(task: () => Promise<T>): Promise<T> {
  const { BackupFileError } = await import('../../storage/sqlite/sqlite-backup.js');
  try {
    return await task();
  } catch (err) {
    if (err instanceof BackupFileError) throw new CliError(err.message);
    throw err;
  }
}

/** How many times a backup taken while a master key rotation ran is taken again, a second apart. */
const RETAKES = 30;

/**
 * A backup, with the master keys it needs. One taken while a master key rotation ran names the old key and
 * the new one, and restores only with both: it is taken again, once a second, while what it names keeps
 * changing; if it still names more than one, the summary says that restoring it needs them all.
 */
async function backupBetweenRotations(file: string, target: string) {
  const { backupDatabase, fsyncPath } = await import('../../storage/sqlite/sqlite-backup.js');
  const { fingerprint, masterKeysOf } = await import('../../server/backup-master-keys.js');
  let summary = backupDatabase(file, target);
  let keys = await masterKeysOf(target);
  for (let retake = 0; keys.size > 1 && retake < RETAKES; retake++) {
    await new Promise((r) => setTimeout(r, 1000));
    const before = fingerprint(keys);
    // Taken beside the first, which stays until the new one is whole: a retake that fails leaves it.
    const next = `${target}.retake-${process.pid}`;
    rmSync(next, { force: true });
    summary = { ...backupDatabase(file, next), file: target };
    keys = await masterKeysOf(next);
    renameSync(next, target);
    fsyncPath(dirname(target), 'r');
    if (fingerprint(keys) === before) break;
  }
  const masterKeys = [...keys.keys()];
  if (masterKeys.length <= 1) return { ...summary, masterKeys };
  const note = `the backup names ${masterKeys.length} master keys (a rotation was under way, or a key no longer opens): restoring it needs all of them: COFFER_MASTER_KEY set to one and COFFER_PREVIOUS_MASTER_KEYS to the others`;
  return { ...summary, masterKeys, note };
}

export function registerBackupCommands(admin: Command): void {
  withOutput(admin.command('backup'), { subscription: false })
    .description('Write a consistent copy of the SQLite database to a new file, with the server running or not.')
    .requiredOption('--file <file>', 'the backup file to write (a new file)')
    .option('--data-dir <dir>', 'the server data dir', './data')
    .option('--database-url <url>', 'refused: a PostgreSQL deployment backs up with pg_dump')
    .addHelpText('after', '\nThe backup holds secrets encrypted under the master key, not the key itself: keep a copy of master.key, apart from the backups.')
    .action(async (o: DataDirOptions & { file: string }) => {
      checkOutputOptions(o);
      const { file } = databaseOf(o, true);
      print(await failsAsCliError(() => backupBetweenRotations(file, resolve(o.file))), o);
    });
  withOutput(admin.command('restore'), { subscription: false })
    .description("Put a backup in place of the data dir's database, with the server stopped; the database it replaces is kept.")
    .requiredOption('--file <file>', 'the backup file (from coffer admin backup)')
    .option('--data-dir <dir>', 'the server data dir', './data')
    .option('--database-url <url>', 'refused: a PostgreSQL deployment restores with pg_restore')
    .addHelpText(
      'after',
      '\nThe backup must open under the master key (COFFER_MASTER_KEY, or the data dir\'s master.key); one made before a master key rotation needs the old key in COFFER_PREVIOUS_MASTER_KEYS. The next start records the restore in the audit trail.',
    )
    .action(async (o: DataDirOptions & { file: string }) => {
      checkOutputOptions(o);
      const { dataDir } = databaseOf(o, false);
      if (!existsSync(dataDir)) throw new CliError(`${dataDir} does not exist: create the data dir (with the master key) first`);
      const lock = tryLockDataDir(dataDir);
      if (!lock) throw new CliError(`a coffer server (or another admin command) is running on ${dataDir}: stop it, then restore`);
      try {
        const keyring = await keyringFor(dataDir);
        const { restoreDatabase } = await import('../../server/database-restore.js');
        print(await failsAsCliError(() => restoreDatabase({ dataDir, backupFile: resolve(o.file), keyring })), o);
      } finally {
        lock.release();
      }
    });
}
