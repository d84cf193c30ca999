import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

// Debian's az run by az-host.py: one Python process per profile answers command
// after command, each run as /usr/bin/az runs it. A command given while every
// host of the profile is busy starts another, as a second az process would run.

export interface AzResult {
  code: number;
  stdout: string;
  stderr: string;
}

const HOST = join(import.meta.dirname, 'az-host.py');
const TIMEOUT_MS = 120_000;
type Unrefable = { ref(): void; unref(): void };

class AzHost {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  private log = '';
  alive = true;

  constructor(env: NodeJS.ProcessEnv) {
    // What /usr/bin/az sets before it runs azure.cli.
    const path = env.PYTHONPATH ? `/usr/bin/src:${env.PYTHONPATH}` : '/usr/bin/src';
    this.child = spawn('/usr/bin/python3', [HOST], { env: { ...env, PYTHONPATH: path, AZ_INSTALLER: 'DEB' }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-8_000)));
    this.child.on('exit', () => (this.alive = false));
    this.child.stdin!.on('error', () => undefined);
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
    this.hold(false);
  }

  /** Keeps the test's process alive only while a command runs: an idle host ends with it (its stdin closes). */
  private hold(on: boolean) {
    for (const handle of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as Array<(Readable | Writable | ChildProcess) & Partial<Unrefable>>) {
      if (on) handle.ref?.();
      else handle.unref?.();
    }
  }

  async run(args: string[], cwd?: string): Promise<AzResult> {
    this.hold(true);
    let timer: NodeJS.Timeout | undefined;
    try {
      this.child.stdin!.write(JSON.stringify({ args, cwd }) + '\n');
      const timedOut = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`az ${args.join(' ')} did not finish in ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS)));
      const next = await Promise.race([this.lines.next(), timedOut]);
      if (next.done) throw new Error(`the az host exited: ${this.log}`);
      return JSON.parse(next.value) as AzResult;
    } catch (err) {
      this.alive = false;
      this.child.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
      this.hold(false);
    }
  }
}

/** A runner of az commands with `env` (its profile's AZURE_CONFIG_DIR and the rest), on hosts of its own. */
export function azHostRunner(env: NodeJS.ProcessEnv): (args: string[], cwd?: string) => Promise<AzResult> {
  const idle: AzHost[] = [];
  return async (args, cwd) => {
    const host = idle.pop() ?? new AzHost(env);
    try {
      return await host.run(args, cwd);
    } finally {
      if (host.alive) idle.push(host);
    }
  };
}
