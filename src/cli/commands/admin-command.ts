import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { createHttpClient } from '../http-client.js';
import { requestToken, parseAnswer } from '../session.js';

// coffer admin: operations on a deployment's data dir.

function serverRunning(dataDir: string): boolean {
  const pidFile = join(dataDir, 'server.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('Administer a coffer deployment.');
  admin
    .command('rotate-master-key')
    .description('Create a new master key and rewrap every vault key under it; the old key is then dropped.')
    .option('--data-dir <dir>', 'the server data dir', './data')
    .addHelpText('after', '\nWhile the server runs, the rotation happens inside it (online); otherwise on the data dir directly.')
    .action(async (o: { dataDir: string }) => {
      const dataDir = resolve(o.dataDir);
      const keyFile = join(dataDir, 'master.key');
      if (!existsSync(keyFile)) throw new CliError(`${keyFile} does not exist (is the master key supplied through COFFER_MASTER_KEY?)`);
      let result: unknown;
      if (serverRunning(dataDir)) {
        const b = JSON.parse(readFileSync(join(dataDir, 'bootstrap.json'), 'utf8')) as { authorityHost: string; tenantId: string; clientId: string; clientSecret: string; caCertFile: string };
        const http = createHttpClient(b.caCertFile);
        const token = await requestToken(http, b.authorityHost, b.tenantId, { grant_type: 'client_credentials', client_id: b.clientId, client_secret: b.clientSecret, scope: `${b.authorityHost}/.default` });
        result = parseAnswer(await http.send('POST', `${b.authorityHost}/coffer/admin/rotate-master-key`, { headers: { authorization: `Bearer ${token.access_token}` } }));
      } else {
        const { openSqliteStore } = await import('../../storage/sqlite/sqlite-store.js');
        const { rotateKeyringFile } = await import('../../crypto/master-key-rotation.js');
        const store = openSqliteStore({ file: join(dataDir, 'coffer.db') });
        try {
          result = await rotateKeyringFile(keyFile, store);
        } finally {
          await store.close();
        }
      }
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    });
}
