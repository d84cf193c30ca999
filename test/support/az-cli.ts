import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { azHostRunner, type AzResult } from './az-host.js';
import type { TestServer } from './server-fixture.js';

// Debian's az 2.45 signed in to a test server registered as a custom cloud (the README's steps), to compare
// what it prints with what coffer prints for the same command line.

const run = promisify(execFile);

export type { AzResult };

/**
 * Runs az commands with `env` (a profile's AZURE_CONFIG_DIR and the rest) as its environment: in az-host.py's
 * long-lived hosts, or, with COFFER_TEST_AZ=process, each as a /usr/bin/az process of its own.
 */
export function azRunner(env: NodeJS.ProcessEnv): (args: string[], cwd?: string) => Promise<AzResult> {
  if (process.env.COFFER_TEST_AZ !== 'process') return azHostRunner(env);
  return (args, cwd) =>
    run('/usr/bin/az', args, { env, cwd, timeout: 120_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
    );
}

/** Registers the server with a fresh az profile, signs in as its administrator, and returns a runner. */
export async function azSignedIn(server: TestServer): Promise<(args: string[], cwd?: string) => Promise<AzResult>> {
  const az = await azRegistered(server);
  const b = server.bootstrap;
  const r = await az(['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '-o', 'none', '--only-show-errors']);
  if (r.code !== 0) throw new Error(`az login: ${r.stderr}`);
  return az;
}

/** A new, empty az profile (AZURE_CONFIG_DIR), with the command index az built once for the run (scripts/test.mjs). */
export function freshAzProfile(prefix = 'coffer-az-'): string {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const template = process.env.COFFER_TEST_AZ_TEMPLATE;
  if (template && existsSync(join(template, 'commandIndex.json'))) copyFileSync(join(template, 'commandIndex.json'), join(home, 'commandIndex.json'));
  return home;
}

/**
 * Registers the server with a fresh az profile and returns a runner, signed in as nobody. `ownHome`: HOME is
 * the profile's folder too (az writes the certificates it makes to HOME).
 */
export async function azRegistered(server: TestServer, opts: { ownHome?: boolean } = {}): Promise<(args: string[], cwd?: string) => Promise<AzResult>> {
  const home = freshAzProfile();
  const env = { ...process.env, AZURE_CONFIG_DIR: home, ...(opts.ownHome ? { HOME: home } : {}), REQUESTS_CA_BUNDLE: process.env.COFFER_TEST_CA_BUNDLE, AZURE_CORE_COLLECT_TELEMETRY: 'false' };
  const az = azRunner(env);
  const base = `${server.url}/`;
  const cloud = {
    endpoints: { resourceManager: base, activeDirectory: `${server.url}/adfs`, activeDirectoryResourceId: base, activeDirectoryGraphResourceId: base, microsoftGraphResourceId: base },
    suffixes: { keyvaultDns: `.${server.bootstrap.vaultDnsSuffix}:${server.port}` },
  };
  const file = join(home, 'coffer-cloud.json');
  writeFileSync(file, JSON.stringify(cloud));
  for (const args of [
    ['cloud', 'register', '-n', 'coffer', '--cloud-config', `@${file}`],
    ['cloud', 'set', '-n', 'coffer'],
  ]) {
    const r = await az([...args, '--only-show-errors']);
    if (r.code !== 0) throw new Error(`az ${args.join(' ')}: ${r.stderr}`);
  }
  return az;
}

/** az's report of an error it did not expect, without the traceback (what coffer prints for one). */
export const withoutTraceback = (stderr: string) => stderr.split('\n').slice(0, 2).join('\n') + '\n';

/** What a CLI run printed and how it ended, for comparing az's with coffer's. */
export const outcome = (r: AzResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

/**
 * `keyvault create` by az and by coffer, each with a vault name of its own (`prefix`-az-N, `prefix`-co-N) in
 * group `rg`: what each printed.
 */
export function keyvaultCreateByBoth(az: () => (args: string[], cwd?: string) => Promise<AzResult>, cofferRun: (args: string[], cwd?: string) => Promise<AzResult>, prefix: string) {
  let n = 0;
  return async (args: string[], cwd?: string) => {
    n++;
    const a = await az()(['keyvault', 'create', '-n', `az-${prefix}-${n}`, '-g', 'rg', ...args], cwd);
    const c = await cofferRun(['keyvault', 'create', '-n', `co-${prefix}-${n}`, '-g', 'rg', ...args], cwd);
    return { az: outcome(a), coffer: outcome(c) };
  };
}
