import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { withOutput } from '../command-kit.js';
import { checkOutputOptions, print, type OutputOptions } from '../output.js';
import { createHttpClient } from '../http-client.js';
import { requestToken, parseAnswer } from '../session.js';
import type { Store } from '../../storage/store-types.js';
import { dataDirLocked, tryLockDataDir } from '../../server/data-dir-lock.js';
import { registerBackupCommands } from './admin-backup-command.js';

// coffer admin: operations on a deployment's data dir.

/** Asks the running server of this data dir to carry out an admin operation, as the deployment administrator. */
async function askServer(dataDir: string, operation: string): Promise<unknown> {
  const b = JSON.parse(readFileSync(join(dataDir, 'bootstrap.json'), 'utf8')) as { authorityHost: string; tenantId: string; clientId: string; clientSecret: string; caCertFile: string };
  const http = createHttpClient(b.caCertFile);
  const token = await requestToken(http, b.authorityHost, b.tenantId, { grant_type: 'client_credentials', client_id: b.clientId, client_secret: b.clientSecret, scope: `${b.authorityHost}/.default` });
  let answer: Awaited<ReturnType<typeof http.send>>;
  try {
    answer = await http.send('POST', `${b.authorityHost}/coffer/admin/${operation}`, { headers: { authorization: `Bearer ${token.access_token}` } });
  } catch (err) {
    // The server took the request and stopped answering (it stopped, or died): not the CLI's sign-in advice.
    throw new CliError(
      `the coffer server running on ${dataDir} stopped answering during ${operation} (${(err as Error).message}): whether it was carried out is not known. Once the server runs again, look in the audit trail (coffer audit list) before asking again.`,
    );
  }
  return parseAnswer(answer);
}

/**
 * The deployment's store, for work with the server stopped. Never a new, empty
 * SQLite file: rotating over an empty store would drop the master key that the
 * real data (in PostgreSQL) is still wrapped with.
 */
async function openOfflineStore(dataDir: string, databaseUrl: string | undefined): Promise<Store> {
  if (databaseUrl) {
    const { openPostgresStore } = await import('../../storage/postgres/pg-store.js');
    return openPostgresStore(databaseUrl);
  }
  const file = join(dataDir, 'coffer.db');
  if (!existsSync(file)) {
    throw new CliError(`${file} does not exist. If this deployment keeps its data in PostgreSQL, pass --database-url (or set COFFER_DATABASE_URL).`);
  }
  const { openSqliteStore } = await import('../../storage/sqlite/sqlite-store.js');
  return openSqliteStore({ file });
}

/** The rotation on the data dir and its store directly, with no server running (the caller holds the data dir's lock). */
async function rotateOffline(dataDir: string, keyFile: string, databaseUrl: string | undefined): Promise<unknown> {
  const { rotateKeyringFile } = await import('../../crypto/master-key-rotation.js');
  const store = await openOfflineStore(dataDir, databaseUrl);
  try {
    const { holdDigestToDataDir } = await import('../../server/authorization-digest-start.js');
    const recordDigest = databaseUrl ? null : await holdDigestToDataDir(store.settings, dataDir);
    const result = await rotateKeyringFile(keyFile, store);
    await recordDigest?.();
    // As a server records its own renewal: the row put back to the generation before is then refused at start.
    const { recordCredentialPepper, PEPPER_RECORD_FILE } = await import('../../identity/credential-pepper.js');
    const { loadKeyring } = await import('../../crypto/keyring.js');
    await recordCredentialPepper(store.settings, loadKeyring({ file: keyFile }).keyring, join(dataDir, PEPPER_RECORD_FILE));
    return result;
  } finally {
    await store.close();
  }
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('Administer a coffer deployment.');
  withOutput(admin.command('rotate-master-key'), { subscription: false })
    .description('Create a new master key, give every vault a new data key and rewrap every other key under it; the old key is then dropped.')
    .option('--data-dir <dir>', 'the server data dir', './data')
    .option('--database-url <url>', 'the PostgreSQL database of a deployment that uses one (default: COFFER_DATABASE_URL)')
    .addHelpText('after', '\nWhile the server runs, the rotation happens inside it (online); otherwise on the data dir (and database) directly.')
    .action(async (o: { dataDir: string; databaseUrl?: string } & OutputOptions) => {
      checkOutputOptions(o);
      const dataDir = resolve(o.dataDir);
      const keyFile = join(dataDir, 'master.key');
      if (!existsSync(keyFile)) throw new CliError(`${keyFile} does not exist (is the master key supplied through COFFER_MASTER_KEY?)`);
      let result: unknown;
      // Held through an offline rotation: no server may start on the data dir meanwhile.
      const lock = tryLockDataDir(dataDir);
      if (!lock) {
        result = await askServer(dataDir, 'rotate-master-key');
      } else {
        try {
          result = await rotateOffline(dataDir, keyFile, o.databaseUrl ?? process.env.COFFER_DATABASE_URL);
        } finally {
          lock.release();
        }
      }
      print(result, o);
    });
  withOutput(admin.command('rotate-signing-key'), { subscription: false })
    .description('Sign tokens with a new key from now on; the old key verifies only tokens issued before, until they expire.')
    .option('--data-dir <dir>', 'the server data dir', './data')
    .addHelpText('after', '\nThe server must be running (the rotation happens inside it); in a cluster, every member switches to the new key.')
    .action(async (o: { dataDir: string } & OutputOptions) => {
      checkOutputOptions(o);
      const dataDir = resolve(o.dataDir);
      if (!dataDirLocked(dataDir)) throw new CliError(`no coffer server is running on ${dataDir}: start it, then rotate the signing key`);
      print(await askServer(dataDir, 'rotate-signing-key'), o);
    });
  registerBackupCommands(admin);
}
