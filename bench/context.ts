import type { Api } from './api.js';
import { cpuSeconds, machineBusySeconds, rssMb, type Coffer } from './coffer.js';
import { failures, runLoad, type LoadResult, type LoadSpec } from './loadgen.js';

// What the scenarios share: the server, the setup API, and the recorder of
// rows (one per measurement) and extras (setup times, cold starts).

export interface Row {
  /** Stable id used by the targets, e.g. "get@64". */
  key: string;
  scenario: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  /** req/s over the baseline's req/s at the same number of connections. */
  ratio: number | null;
  rssMb: number | null;
  /** CPU use during the measured run, 100 = one core. */
  serverCpuPercent: number | null;
  /**
   * Server CPU time (all threads) per response in µs: the cost of a request,
   * steadier than req/s when the load generator or the machine drifts.
   */
  serverCpuUs: number | null;
  loadgenCpuPercent: number;
  /** CPU used by everything else on the machine meanwhile: other work skews the numbers. */
  otherCpuPercent: number | null;
  note: string;
}

export interface Extra {
  key: string;
  what: string;
  value: number;
  unit: string;
}

export interface Bench {
  coffer: Coffer;
  api: Api;
  rows: Row[];
  extras: Extra[];
  baselineRps: Map<number, number>;
  /** Size of a GET-secret response body (the baseline answers as many bytes). */
  getBodyBytes: number;
  /** Runs one measurement against coffer (or `pid`'s server) and records it. */
  measure(key: string, scenario: string, spec: Omit<LoadSpec, 'port' | 'host' | 'servername'> & Partial<LoadSpec>, pid?: number): Promise<Row>;
  extra(key: string, what: string, value: number, unit: string): void;
  /** Times an async step and records it as an extra (seconds). */
  timed<T>(key: string, what: string, step: () => Promise<T>): Promise<T>;
  log(line: string): void;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const QUIET_PERCENT = 25;
const QUIET_MAX_WAIT_MS = Number(process.env.BENCH_QUIET_WAIT ?? 10) * 1000;

/**
 * Waits (at most BENCH_QUIET_WAIT seconds, default 10) until the machine is
 * nearly idle over half a second, so that a measurement does not start while
 * other work runs. Returns the milliseconds waited.
 */
export async function quiet(): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const busy0 = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 500));
    const busyPercent = ((machineBusySeconds() - busy0) / 0.5) * 100;
    if (busyPercent < QUIET_PERCENT || performance.now() - t0 > QUIET_MAX_WAIT_MS) return performance.now() - t0 - 500;
  }
}

export function createBench(coffer: Coffer, api: Api): Bench {
  const rows: Row[] = [];
  const extras: Extra[] = [];
  const baselineRps = new Map<number, number>();
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

  const bench: Bench = {
    coffer,
    api,
    rows,
    extras,
    baselineRps,
    getBodyBytes: 0,
    log,
    async measure(key, scenario, spec, pid) {
      const full: LoadSpec = { port: coffer.port, host: `localhost:${coffer.port}`, servername: 'localhost', ...spec };
      const waited = await quiet();
      if (waited >= 500) log(`waited ${(waited / 1000).toFixed(1)} s for other work on the machine to stop`);
      const target = pid ?? coffer.pid();
      let cpu0: number | null = null;
      let busy0 = 0;
      let t0 = 0;
      const r: LoadResult = await runLoad(full, () => {
        cpu0 = cpuSeconds(target);
        busy0 = machineBusySeconds();
        t0 = performance.now();
      });
      const cpu1 = cpuSeconds(target);
      const wall = (performance.now() - t0) / 1000;
      const percent = (seconds: number) => Math.round((seconds / wall) * 100);
      const server = cpu0 === null || cpu1 === null ? null : percent(cpu1 - cpu0);
      const responses = r.ok + r.non2xx;
      const base = key.startsWith('baseline') ? null : baselineRps.get(spec.connections);
      const row: Row = {
        key,
        scenario,
        connections: spec.connections,
        rps: round(r.rps, 0),
        p50: r.p50,
        p99: r.p99,
        ratio: base ? round(r.rps / base) : null,
        rssMb: rssMb(target),
        serverCpuPercent: server,
        serverCpuUs: cpu0 === null || cpu1 === null || responses === 0 ? null : round(((cpu1 - cpu0) * 1e6) / responses, 0),
        loadgenCpuPercent: r.cpuPercent,
        otherCpuPercent: server === null ? null : Math.max(0, percent(machineBusySeconds() - busy0) - server - r.cpuPercent),
        note: failures(r),
      };
      rows.push(row);
      log(`${scenario} @${row.connections}: ${row.rps} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, RSS ${row.rssMb} MB, server CPU ${row.serverCpuUs} µs/req, CPU % server ${row.serverCpuPercent} / load ${row.loadgenCpuPercent} / other ${row.otherCpuPercent}${row.note ? ` — ${row.note}` : ''}`);
      return row;
    },
    extra(key, what, value, unit) {
      extras.push({ key, what, value: round(value), unit });
      log(`${what}: ${round(value)} ${unit}`);
    },
    async timed(key, what, step) {
      const t0 = performance.now();
      const out = await step();
      bench.extra(key, what, (performance.now() - t0) / 1000, 's');
      return out;
    },
  };
  return bench;
}

/** Host/SNI fields of a LoadSpec aimed at a vault. */
export function atVault(b: Bench, vault: string): Pick<LoadSpec, 'host' | 'servername'> {
  return { host: `${b.coffer.vaultHost(vault)}:${b.coffer.port}`, servername: b.coffer.vaultHost(vault) };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
