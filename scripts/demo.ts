// `npm run demo`: the seed workflow, step by step, against a local MariaDB.
// Starts a throwaway coffer server and MariaDB (Debian's mariadb-server must
// be installed: `apt-get install mariadb-server`), prints every command it
// runs and what came back, then stops everything.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { databaseCa, startMariaDb } from '../test/support/databases.js';
import { freePort } from '../test/support/server-fixture.js';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin', 'coffer.js');
const work = mkdtempSync(join(tmpdir(), 'coffer-demo-'));
const home = join(work, 'home');
const children: ChildProcess[] = [];
let stopDatabase: () => Promise<void> = async () => {};
const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);

/** An argument as a POSIX shell takes it back: bare, in single quotes, or in double quotes when it holds a single quote. */
function shellQuote(a: string): string {
  if (!/[\s'"{}$`\\*?[\]|&;<>()#!]/.test(a)) return a;
  if (!a.includes("'")) return `'${a}'`;
  return `"${a.replace(/["$`\\]/g, '\\$&')}"`;
}

function coffer(...args: string[]): string {
  process.stdout.write(`$ coffer ${args.map(shellQuote).join(' ')}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, COFFER_HOME: home }, encoding: 'utf8' });
  if (r.stdout.trim()) process.stdout.write(`${r.stdout.trim()}\n`);
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

async function status(port: number) {
  const s = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { integrations: Array<{ state: string; lastError: string | null; secretVersion: string | null }> };
  return s.integrations[0]!;
}

async function waitFor(port: number, pred: (s: Awaited<ReturnType<typeof status>>) => boolean) {
  for (let i = 0; i < 100; i++) {
    try {
      const s = await status(port);
      if (pred(s)) return s;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the connector did not reach the expected state');
}

async function main() {
  say('Start a coffer server (dev mode) and a MariaDB that serves TLS');
  const port = await freePort();
  const server = spawn(process.execPath, [bin, 'server', '--dev', '--port', String(port), '--data-dir', join(work, 'data'), '--log-level', 'warn'], { stdio: 'ignore' });
  children.push(server);
  const dbCa = await databaseCa({ dir: join(work, 'db-tls') });
  const maria = await startMariaDb({ tls: dbCa.server });
  stopDatabase = maria.stop;
  for (let i = 0; i < 100 && !existsBootstrap(); i++) await new Promise((r) => setTimeout(r, 100));
  await maria.admin("CREATE DATABASE app; CREATE USER 'apono'@'%' IDENTIFIED BY 'demo-Passw0rd'; GRANT ALL ON app.* TO 'apono'@'%';");
  process.stdout.write(`coffer on https://localhost:${port}, MariaDB on 127.0.0.1:${maria.port} with user 'apono', its certificate from the CA ${dbCa.caFile}\n`);

  say('Log in and create a vault');
  coffer('login', '--bootstrap', join(work, 'data', 'bootstrap.json'), '-o', 'none');
  coffer('group', 'create', '--name', 'demo-rg', '--location', 'local', '-o', 'none');
  const vaultId = JSON.parse(coffer('keyvault', 'create', '--name', 'demo-vault', '--resource-group', 'demo-rg', '--query', 'id')) as string;

  say("Store the database credentials (the seed's command, az replaced by coffer)");
  coffer('keyvault', 'secret', 'set', '--vault-name', 'demo-vault', '--name', 'apono-mysql-user', '--value', '{"username": "apono", "password": "demo-Passw0rd"}', '--query', 'id', '-o', 'tsv');

  say('Create the connector identity');
  const sp = JSON.parse(coffer('ad', 'sp', 'create-for-rbac', '--name', 'apono-connector', '--query', '{appId: appId, password: password}')) as { appId: string; password: string };

  say('Start the connector (no grant yet)');
  const statusPort = await freePort();
  const config = join(work, 'connector.json');
  const bootstrap = JSON.parse(readFileSync(join(work, 'data', 'bootstrap.json'), 'utf8')) as { tenantId: string; caCertFile: string };
  writeFileSync(config, JSON.stringify({ authority: `https://localhost:${port}`, tenantId: bootstrap.tenantId, clientId: sp.appId, caFile: bootstrap.caCertFile, refreshSeconds: 1, statusPort, integrations: [{ name: 'mysql', type: 'mysql', host: '127.0.0.1', port: maria.port, database: 'app', secret: { vault: 'demo-vault', name: 'apono-mysql-user' }, tls: { caFile: dbCa.caFile } }] }, null, 2));
  children.push(spawn(process.execPath, [bin, 'connector', 'run', '--config', config], { env: { ...process.env, COFFER_CONNECTOR_CLIENT_SECRET: sp.password }, stdio: 'ignore' }));
  process.stdout.write(`connector: ${(await waitFor(statusPort, (s) => s.state === 'error')).lastError}\n`);

  say('Grant "Key Vault Secrets User" on that one secret');
  coffer('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', sp.appId, '--scope', `${vaultId}/secrets/apono-mysql-user`, '--query', 'roleDefinitionName', '-o', 'tsv');
  const ok = await waitFor(statusPort, (s) => s.state === 'connected');
  process.stdout.write(`connector: ${ok.state}, secret version ${ok.secretVersion}\n`);
  coffer('connector', 'status', '--url', `http://127.0.0.1:${statusPort}/health`, '-o', 'table', '--query', 'integrations');

  say('Why may the connector read it?');
  coffer('role', 'check-access', '--assignee', 'apono-connector', '--scope', `${vaultId}/secrets/apono-mysql-user`, '--query', "data[?operation=='SecretGet'].grants[0].{role: roleName, scope: scope}", '-o', 'table');
}

const existsBootstrap = () => {
  try {
    readFileSync(join(work, 'data', 'bootstrap.json'));
    return true;
  } catch {
    return false;
  }
};

main()
  .then(() => say('Done: the connector connected with credentials it never stored.'))
  .catch((err) => {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of children) c.kill('SIGTERM');
    await stopDatabase();
    setTimeout(() => rmSync(work, { recursive: true, force: true }), 500);
  });
