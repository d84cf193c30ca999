import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Every child process and temporary directory the bench creates is registered
// here, so that a normal end, an error or a signal stops and removes them all.

export const ROOT = resolve(import.meta.dirname, '..');

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, ...options });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Runs a TypeScript module under bench/ in its own Node process, with an IPC channel. */
export function spawnWorker(module: string, extraNodeArgs: string[] = []): ChildProcess {
  return spawnTracked(process.execPath, [...extraNodeArgs, '--import', 'tsx', join(ROOT, 'bench', module)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise((res) => {
    if (exited(child)) return res();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      res();
    });
    child.kill('SIGTERM');
  });
}

export async function cleanup(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c)));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** Last resort on process exit: only synchronous work is possible there. */
function cleanupSync(): void {
  for (const child of live) if (!exited(child)) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

export function installExitHandlers(): void {
  process.once('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}

/** In a worker: exit when the orchestrator goes away (its IPC channel closes). */
export function exitWithParent(): void {
  process.on('disconnect', () => process.exit(1));
}
