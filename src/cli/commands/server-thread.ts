import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

// `coffer server` runs the server in a worker thread of this process, so that
// its V8 heap gets limits sized for a server whose live heap is small: about
// 20 MB, 35 MB with 10,000 role assignments. Left to its defaults on a large
// machine, V8 lets garbage pile up to several times the live heap before a
// full collection (a 250 MB process for 35 MB of live data). A worker's heap
// can be limited from here, where node's own flags cannot; the process, its
// pid and SIGKILL stay the same. The main thread only relays signals: the
// server thread reads and checks the configuration itself, so the main thread
// never loads the schema library or anything else of the server's.
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

/** The server's command line as parsed: flags, and the config file if any. */
export interface ServerInput {
  flags: Record<string, string | boolean | undefined>;
  configFile: string | undefined;
}

/** An invalid configuration: the server thread has said why and exits with this code. */
export const CONFIG_ERROR_EXIT_CODE = 2;

/**
 * Starts the server thread; resolves once it listens (or, for an invalid
 * configuration, once it has exited with CONFIG_ERROR_EXIT_CODE, which
 * becomes the process's), rejects with its startup error.
 */
export function runServerThread(input: ServerInput): Promise<void> {
  // Workers cannot change the umask: everything the server writes is private to its user.
  process.umask(0o077);
  // The same extension as this module: .js from the build, .ts when run from sources with tsx.
  const entry = new URL(`./server-thread-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  const nodeFlags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const worker = new Worker(entry, { workerData: input, resourceLimits: heapLimits(nodeFlags) });
  return new Promise<void>((resolve, reject) => {
    let started = false;
    let failed = false;
    worker.once('message', () => {
      started = true;
      const stop = () => worker.postMessage('stop');
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      resolve();
    });
    worker.on('error', (err) => {
      failed = true;
      if (!started) return reject(err);
      process.stderr.write(`coffer server failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    });
    worker.on('exit', (code) => {
      if (started) process.exit(code);
      if (failed) return;
      if (code === CONFIG_ERROR_EXIT_CODE) {
        process.exitCode = code;
        return resolve();
      }
      reject(new Error(`the server thread exited with code ${code} before listening`));
    });
  });
}
