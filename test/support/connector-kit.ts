import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './server-fixture.js';

/** A `coffer connector run` child, with everything it has written so far. */
export interface RunningConnector {
  child: ChildProcess;
  /** The config file it runs on. */
  configFile: string;
  log(): string;
  stop(): void;
}

/**
 * Writes `config` to a file of its own and runs the connector on it, as an
 * operator would. `clientSecret` null: no COFFER_CONNECTOR_CLIENT_SECRET in
 * its environment (a certificate is its only credential).
 */
export function runConnector(config: object, clientSecret: string | null): RunningConnector {
  const file = join(mkdtempSync(join(tmpdir(), 'coffer-connector-')), 'connector.json');
  writeFileSync(file, JSON.stringify(config));
  const env = { ...process.env };
  if (clientSecret === null) delete env.COFFER_CONNECTOR_CLIENT_SECRET;
  else env.COFFER_CONNECTOR_CLIENT_SECRET = clientSecret;
  const child = spawn(process.execPath, [BIN, 'connector', 'run', '--config', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  return { child, configFile: file, log: () => output, stop: () => child.kill('SIGTERM') };
}
