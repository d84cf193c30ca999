import autocannon from 'autocannon';
import { exitWithParent } from './children.js';
import type { LoadResult, LoadSpec } from './loadgen.js';

// The load generator: one autocannon run per process, so that it shares no
// event loop with the server or the orchestrator. Receives a LoadSpec over
// IPC, answers with a LoadResult (or { error }).

exitWithParent();

function pathMaker(spec: LoadSpec): () => string {
  if (!spec.names) return () => spec.path;
  const { count, order } = spec.names;
  let n = 0;
  return () => spec.path.replace('{i}', String(order === 'random' ? Math.floor(Math.random() * count) : n++ % count));
}

interface Run {
  result: autocannon.Result;
  /** Every 2xx response time in ms (autocannon's own histogram keeps whole milliseconds). */
  latencies: number[];
}

function run(spec: LoadSpec, duration: number | undefined, amount: number | undefined): Promise<Run> {
  const nextPath = pathMaker(spec);
  const latencies: number[] = [];
  const opts: autocannon.Options = {
    url: `https://127.0.0.1:${spec.port}${spec.path.replace('{i}', '0')}`,
    servername: spec.servername,
    method: spec.method,
    headers: { ...spec.headers, host: spec.host },
    connections: spec.connections,
    timeout: 30,
    requests: [{ setupRequest: (req) => ({ ...req, path: nextPath() }) }],
    ...(spec.body === undefined ? {} : { body: spec.body }),
    ...(amount === undefined ? { duration } : { amount }),
  };
  return new Promise((res, rej) => {
    const instance = autocannon(opts, (err, result) => (err ? rej(err instanceof Error ? err : new Error(String(err))) : res({ result, latencies })));
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, i)]! * 100) / 100;
}

async function measure(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmup && spec.amount === undefined) await run(spec, spec.warmup, undefined);
  process.send!({ measuring: true });
  const cpu0 = process.cpuUsage();
  const { result: r, latencies } = await run(spec, spec.duration, spec.amount);
  const cpu = process.cpuUsage(cpu0);
  const sorted = Float64Array.from(latencies).sort();
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0;
  const ok = r['2xx'];
  return {
    rps: spec.amount === undefined ? r.requests.average : ok / r.duration,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: r.duration,
    cpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / r.duration) * 100),
    statusCodes,
  };
}

process.once('message', (spec: LoadSpec) => {
  measure(spec).then(
    (result) => process.send!({ result }, () => process.exit(0)),
    (err: Error) => process.send!({ error: err.stack ?? err.message }, () => process.exit(1)),
  );
});
