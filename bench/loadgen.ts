import { spawnWorker, stopChild } from './children.js';

// Orchestrator side of the load generator: spawns bench/load.ts for one
// measurement and waits for its result.

export interface LoadSpec {
  /** Connections go to 127.0.0.1:port with this Host header and TLS server name. */
  port: number;
  host: string;
  servername: string;
  method: 'GET' | 'PUT' | 'POST';
  /** Request path; `{i}` is replaced per request when `names` is set. */
  path: string;
  names?: { count: number; order: 'random' | 'sequential' };
  headers: Record<string, string>;
  body?: string;
  connections: number;
  /** Seconds of load (ignored when `amount` is set). */
  duration?: number;
  /** A fixed number of requests instead of a duration (bulk setup). */
  amount?: number;
  /** Seconds of unmeasured load first (connections, JIT). */
  warmup?: number;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /** The load generator's own CPU use during the measured run (100 = one core). */
  cpuPercent: number;
  statusCodes: Record<string, number>;
}

export const DURATION = Number(process.env.BENCH_DURATION ?? 5);
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);

/** `onMeasuring` is called when the measured run starts (after the warm-up). */
export async function runLoad(spec: LoadSpec, onMeasuring?: () => void): Promise<LoadResult> {
  const worker = spawnWorker('load.ts');
  const limitMs = ((spec.amount ? 900 : (spec.duration ?? DURATION) + (spec.warmup ?? 0)) + 60) * 1000;
  try {
    return await new Promise<LoadResult>((res, rej) => {
      const fail = (msg: string) => {
        clearTimeout(timer);
        rej(new Error(msg));
      };
      const timer = setTimeout(() => fail(`load worker timed out after ${limitMs} ms`), limitMs);
      worker.on('message', (m: { measuring?: true; result?: LoadResult; error?: string }) => {
        if (m.measuring) return onMeasuring?.();
        clearTimeout(timer);
        if (m.result) res(m.result);
        else rej(new Error(`load worker failed: ${m.error}`));
      });
      // A result sent just before exiting may still be in flight: give it a moment.
      worker.once('exit', (code) => setTimeout(() => fail(`load worker exited with ${code} before reporting`), 200).unref());
      worker.send({ duration: DURATION, warmup: WARMUP, ...spec } satisfies LoadSpec);
    });
  } finally {
    await stopChild(worker);
  }
}

/** Describes failed requests, or '' when every response was 2xx. */
export function failures(r: LoadResult): string {
  if (r.non2xx === 0 && r.errors === 0) return '';
  const codes = Object.entries(r.statusCodes)
    .filter(([c]) => !c.startsWith('2'))
    .map(([c, n]) => `${n}×${c}`)
    .join(', ');
  return `${r.non2xx} non-2xx${codes ? ` (${codes})` : ''}, ${r.errors} errors`;
}
