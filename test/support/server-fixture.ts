import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'node:https';
import type { BootstrapInfo } from '../../src/server/bootstrap.js';

// Runs the real server (the built executable) in a child process on a free
// port with its own data dir, trusting the test CA made by scripts/test.mjs.

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'coffer.js');

/** bootstrap.json as the server writes it; a fresh test server's always holds the administrator's secret. */
export type Bootstrap = Omit<BootstrapInfo, 'clientSecret'> & { clientSecret: string };

export interface TestServer {
  port: number;
  dataDir: string;
  url: string;
  bootstrap: Bootstrap;
  vaultUrl(name: string): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** Stops the server and starts it again on its data dir; `between` runs while it is stopped. */
  restart(between?: () => Promise<void>): Promise<void>;
  logs(): string;
  /** The process's exit code once it has exited by itself (null while it runs or if a signal ended it). */
  exitCode(): number | null;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

function ping(url: string): Promise<boolean> {
  return new Promise((res) => {
    const req = request(`${url}/healthz`, { method: 'GET', timeout: 1000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.on('timeout', () => {
      req.destroy();
      res(false);
    });
    req.end();
  });
}

export function testCaDir(): string {
  const dir = process.env.COFFER_TEST_CA_DIR;
  if (!dir) throw new Error('COFFER_TEST_CA_DIR is not set: run the tests through `npm test`');
  return dir;
}

/** Runs `coffer server ARGS` (on the test CA, unthrottled) to its end: for starts that must fail, killed after `timeoutMs`. */
export function runServerToEnd(args: string[], timeoutMs = 30_000, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'server', '--no-throttle', '--tls-ca-dir', testCaDir(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export async function startTestServer(
  opts: { dev?: boolean; env?: Record<string, string>; args?: string[]; dataDir?: string; throttle?: boolean; startTimeoutMs?: number; fileLimit?: number } = {},
): Promise<TestServer> {
  const port = await freePort();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'coffer-test-'));
  let child: ChildProcess | null = null;
  let output = '';

  async function launch() {
    const args = [BIN, 'server', '--port', String(port), '--data-dir', dataDir, '--tls-ca-dir', testCaDir(), '--log-level', 'warn', ...(opts.dev === false ? [] : ['--dev']), ...(opts.throttle ? [] : ['--no-throttle']), ...(opts.args ?? [])];
    // fileLimit: the process's open file limit (ulimit -n), set by a shell that then becomes the server.
    const [cmd, argv] = opts.fileLimit === undefined ? [process.execPath, args] : ['bash', ['-c', `ulimit -n ${opts.fileLimit} && exec "$0" "$@"`, process.execPath, ...args]];
    child = spawn(cmd, argv, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const url = `https://localhost:${port}`;
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${output}`);
      if (existsSync(join(dataDir, 'bootstrap.json')) && (await ping(url))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server did not start:\n${output}`);
  }

  const exited = (signal: NodeJS.Signals) =>
    new Promise<void>((res) => {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return res();
      c.once('exit', () => res());
      c.kill(signal);
    });

  await launch();
  const bootstrap = JSON.parse(readFileSync(join(dataDir, 'bootstrap.json'), 'utf8')) as Bootstrap;
  return {
    port,
    dataDir,
    url: `https://localhost:${port}`,
    bootstrap,
    vaultUrl: (name) => `https://${name}.${bootstrap.vaultDnsSuffix}:${port}`,
    async stop() {
      await exited('SIGTERM');
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    kill: () => exited('SIGKILL'),
    async restart(between) {
      await exited('SIGTERM');
      await between?.();
      await launch();
    },
    logs: () => output,
    exitCode: () => child?.exitCode ?? null,
  };
}

/** Asserts that the server's log shows `re`, waiting up to `ms` for it: a line may reach the output after the response. */
export async function assertLogged(server: Pick<TestServer, 'logs'>, re: RegExp, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!re.test(server.logs()) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  assert.match(server.logs(), re);
}

/** A start on `dataDir` (with `args`: a database URL, say) that must end refused: its output. */
export async function refusedStart(dataDir: string, args: string[] = []): Promise<string> {
  const { code, output } = await runServerToEnd(['--port', String(await freePort()), '--data-dir', dataDir, '--dev', '--log-level', 'warn', ...args]);
  assert.notEqual(code, 0, `the start was not refused:\n${output}`);
  return output;
}

/** Data dirs a test file makes (named after `prefix`), removed together in its `after`. */
export function scratchDataDirs(prefix: string): { make(): string; removeAll(): void } {
  const dirs: string[] = [];
  return {
    make() {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    removeAll: () => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })),
  };
}
