import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { CofferConfig } from '../../config/config.js';

// `coffer server` runs the server in a worker thread of this process, so that
// its V8 heap gets limits sized for a server whose live heap is small: about
// 20 MB, 35 MB with 10,000 role assignments. Left to its defaults on a large
// machine, V8 lets garbage pile up to several times the live heap before a
// full collection (a 250 MB process for 35 MB of live data). A worker's heap
// can be limited from here, where node's own flags cannot; the process, its
// pid and SIGKILL stay the same. The main thread only relays signals.
//
// With a small maximum, V8 also grows the heap by small steps (about 1.4x the
// live size instead of up to 4x). Node's own flags win: a generation named by
// --max-old-space-size or --max-semi-space-size (command line or
// NODE_OPTIONS; V8 flags apply to every thread) is left to that flag.

/** Old generation: 7x the largest live heap measured (docs/performance.md). */
const MAX_OLD_GENERATION_MB = 256;
/** Young generation: V8 takes a third for each of its semi-spaces (default 16 MB each on 64-bit). */
const MAX_YOUNG_GENERATION_MB = 8;

export function heapLimits(nodeFlags: readonly string[]): ResourceLimits {
  const given = (flag: string) => nodeFlags.some((f) => f.replace(/_/g, '-').startsWith(flag));
  const limits: ResourceLimits = {};
  if (!given('--max-old-space-size')) limits.maxOldGenerationSizeMb = MAX_OLD_GENERATION_MB;
  if (!given('--max-semi-space-size')) limits.maxYoungGenerationSizeMb = MAX_YOUNG_GENERATION_MB;
  return limits;
}

/** Starts the server thread; resolves once it listens, rejects with its startup error. */
export function runServerThread(config: CofferConfig): Promise<void> {
  // Workers cannot change the umask: everything the server writes is private to its user.
  process.umask(0o077);
  // The same extension as this module: .js from the build, .ts when run from sources with tsx.
  const entry = new URL(`./server-thread-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  const nodeFlags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const worker = new Worker(entry, { workerData: { config }, resourceLimits: heapLimits(nodeFlags) });
  return new Promise<void>((resolve, reject) => {
    let started = false;
    worker.once('message', () => {
      started = true;
      const stop = () => worker.postMessage('stop');
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      resolve();
    });
    worker.on('error', (err) => {
      if (!started) return reject(err);
      process.stderr.write(`coffer server failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    });
    worker.on('exit', (code) => {
      if (started) process.exit(code);
      reject(new Error(`the server thread exited with code ${code} before listening`));
    });
  });
}
