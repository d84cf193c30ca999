import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { freePort, type Bootstrap } from '../test/support/server-fixture.js';
import { join } from 'node:path';
import { exited, ROOT, spawnTracked, stopChild, tempDir } from './children.js';
import { httpClient } from './http.js';

// The coffer server under test: the built executable in its own process, on a
// temporary data dir and a fresh temporary CA dir, throttling off.

export interface Coffer {
  port: number;
  dataDir: string;
  bootstrap: Bootstrap;
  ca: string;
  /** https://localhost:P */
  url: string;
  vaultHost(vault: string): string;
  vaultUrl(vault: string): string;
  pid(): number;
  /** Launches the process without waiting (for cold start timing). */
  launch(): void;
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  /**
   * Stops the server, copies its data dir (the SQLite store) to a new
   * temporary dir and starts it again; returns the copy. Null when the store
   * is elsewhere (BENCH_SERVER_ARGS=--database-url …).
   */
  snapshot(): Promise<string | null>;
  /** Stops the server, puts a snapshot's copy in place of its data dir and starts it again. */
  restore(snapshot: string): Promise<void>;
  logs(): string;
}

// One free-port helper for tests and bench alike.
export { freePort };

export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, all threads) the process has used so far; Linux clock ticks are 1/100 s. */
export function cpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat). */
export function machineBusySeconds(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

export async function startCoffer(serverNodeArgs: string[] = []): Promise<Coffer> {
  const port = await freePort();
  const dataDir = tempDir('coffer-bench-data-');
  const caDir = tempDir('coffer-bench-ca-');
  let child: ChildProcess | null = null;
  let output = '';
  const args = [...serverNodeArgs, join(ROOT, 'bin', 'coffer.js'), 'server', '--dev', '--port', String(port), '--data-dir', dataDir, '--tls-ca-dir', caDir, '--no-throttle', '--log-level', 'warn', ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)];

  const launch = () => {
    output = '';
    child = spawnTracked(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  };

  async function waitHealthy(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!child || exited(child)) throw new Error(`coffer exited (${child?.exitCode ?? child?.signalCode}):\n${output}`);
      const caFile = join(caDir, 'ca.pem');
      if (existsSync(join(dataDir, 'bootstrap.json')) && existsSync(caFile)) {
        const probe = httpClient(readFileSync(caFile, 'utf8'), { keepAlive: false, timeoutMs: 1000 });
        const ok = await probe.send('GET', `https://localhost:${port}/healthz`).then((r) => r.status === 200, () => false);
        probe.close();
        if (ok) return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`coffer did not become healthy:\n${output}`);
  }

  const storeInDataDir = !args.some((a) => a.startsWith('--database-url'));
  const stop = async () => {
    if (child) await stopChild(child, 10_000);
  };
  const restart = async (copy: () => void) => {
    await stop();
    copy();
    launch();
    await waitHealthy();
  };

  launch();
  await waitHealthy();
  const bootstrap = JSON.parse(readFileSync(join(dataDir, 'bootstrap.json'), 'utf8')) as Bootstrap;
  const ca = readFileSync(bootstrap.caCertFile, 'utf8');
  return {
    port,
    dataDir,
    bootstrap,
    ca,
    url: `https://localhost:${port}`,
    vaultHost: (vault) => `${vault}.${bootstrap.vaultDnsSuffix}`,
    vaultUrl: (vault) => `https://${vault}.${bootstrap.vaultDnsSuffix}:${port}`,
    pid: () => {
      if (!child?.pid || exited(child)) throw new Error('coffer is not running');
      return child.pid;
    },
    launch,
    waitHealthy,
    stop,
    snapshot: async () => {
      if (!storeInDataDir) return null;
      const copy = tempDir('coffer-bench-snapshot-');
      await restart(() => cpSync(dataDir, copy, { recursive: true }));
      return copy;
    },
    restore: (snapshot) =>
      restart(() => {
        rmSync(dataDir, { recursive: true, force: true });
        cpSync(snapshot, dataDir, { recursive: true });
      }),
    logs: () => output,
  };
}
