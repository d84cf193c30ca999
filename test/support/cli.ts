import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, type TestServer } from './server-fixture.js';

// Runs the built `coffer` executable as a user would, with its own home.

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = unknown>(): T;
}

export function cliHome(): string {
  return mkdtempSync(join(tmpdir(), 'coffer-cli-'));
}

export function coffer(home: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, COFFER_HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, json: <T>() => JSON.parse(stdout) as T }));
  });
}

/** What the CLI tests call: `cli` runs a command and asserts it exited 0, `json` parses what it printed, `fails` asserts a failure, `signIn` logs in as the bootstrap administrator; `home` is read at each call (tests set it in a before hook). */
export function cliRunners(home: () => string) {
  const ok = (r: CliResult) => {
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
    return r;
  };
  const cli = async (...args: string[]) => ok(await coffer(home(), args));
  const json = async <T = any>(...args: string[]) => (await cli(...args)).json<T>();
  /** Runs a command that must fail with this exit code and a stderr matching `pattern`. */
  const fails = async (args: string[], pattern: RegExp, code = 1) => {
    const r = await coffer(home(), args);
    assert.equal(r.code, code, `expected exit ${code}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, pattern);
  };
  /** Signs in as the server's bootstrap administrator (its service principal). */
  const signIn = async (server: TestServer) => {
    const b = server.bootstrap;
    await cli('login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '--server', server.url, '-o', 'none');
  };
  return { ok, cli, json, fails, signIn };
}
