import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { ConnectionStats } from './connection-limits.js';

// Prometheus metrics (text exposition format 0.0.4) for `GET
// /coffer/metrics`: requests by operation and status, their latency, open
// and refused connections, and the process's health. Counting a request is a
// map lookup and a few additions, done in the audit hook every request
// passes; connections are counted by connection-limits.ts as they open and
// close; everything else is computed when scraped.

/** Request latency buckets, in seconds: from a cached read to a slow durable write. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/**
 * Operations are route names and templates (a bounded set); the cap only
 * guards the scrape's size should that ever change: past it, `other`.
 */
const MAX_OPERATIONS = 500;
const OTHER = 'other';

interface OperationStats {
  /** Per bucket (not cumulative; summed when rendered), and one past the last bucket. */
  counts: number[];
  sum: number;
  count: number;
  byStatus: Map<number, number>;
}

export interface Metrics {
  /** One answered request: its operation (the audit trail's name), HTTP status and duration in milliseconds. */
  observe(operation: string, status: number, ms: number): void;
  /** The exposition text; `auditHealthy` is read at each scrape. */
  render(state: { auditHealthy: boolean }): string;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const number = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

function family(lines: string[], name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

/** `connections`: the counts kept by the connection limits (connection-limits.ts), read at each scrape. */
export function createMetrics(opts: { version: string; connections?: ConnectionStats }): Metrics {
  const operations = new Map<string, OperationStats>();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();

  function statsOf(operation: string): OperationStats {
    let stats = operations.get(operation);
    if (stats === undefined) {
      const name = operations.size < MAX_OPERATIONS ? operation : OTHER;
      stats = operations.get(name);
      if (stats === undefined) operations.set(name, (stats = { counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0, byStatus: new Map() }));
    }
    return stats;
  }

  return {
    observe(operation, status, ms) {
      const stats = statsOf(operation);
      const seconds = ms / 1000;
      let i = 0;
      while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
      stats.counts[i]!++;
      stats.sum += seconds;
      stats.count++;
      stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
    },

    render({ auditHealthy }) {
      const lines: string[] = [];
      const sorted = [...operations.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      family(lines, 'coffer_http_requests_total', 'counter', 'Requests answered, by operation (as the audit trail names it) and HTTP status code.');
      for (const [operation, stats] of sorted) {
        for (const [status, n] of [...stats.byStatus.entries()].sort(([a], [b]) => a - b)) {
          lines.push(`coffer_http_requests_total{operation="${escapeLabel(operation)}",code="${status}"} ${n}`);
        }
      }
      family(lines, 'coffer_http_request_duration_seconds', 'histogram', 'Time from the arrival of a request to its answer, by operation.');
      for (const [operation, stats] of sorted) {
        const label = `operation="${escapeLabel(operation)}"`;
        let cumulative = 0;
        BUCKETS.forEach((le, i) => {
          cumulative += stats.counts[i]!;
          lines.push(`coffer_http_request_duration_seconds_bucket{${label},le="${le}"} ${cumulative}`);
        });
        lines.push(`coffer_http_request_duration_seconds_bucket{${label},le="+Inf"} ${stats.count}`);
        lines.push(`coffer_http_request_duration_seconds_sum{${label}} ${number(stats.sum)}`);
        lines.push(`coffer_http_request_duration_seconds_count{${label}} ${stats.count}`);
      }
      family(lines, 'coffer_audit_healthy', 'gauge', '1 while audit records are being stored; 0 while they fail (requests are then refused with 503).');
      lines.push(`coffer_audit_healthy ${auditHealthy ? 1 : 0}`);
      if (opts.connections) {
        const { open, refused } = opts.connections;
        family(lines, 'coffer_connections_open', 'gauge', 'Connections open, TLS handshakes in progress included.');
        lines.push(`coffer_connections_open ${open}`);
        family(lines, 'coffer_connections_refused_total', 'counter', 'Connections closed on arrival over a limit: total (maxConnections) or per_client (maxConnectionsPerClient).');
        lines.push(`coffer_connections_refused_total{reason="total"} ${refused.total}`);
        lines.push(`coffer_connections_refused_total{reason="per_client"} ${refused.per_client}`);
      }
      const cpu = process.cpuUsage();
      family(lines, 'process_cpu_seconds_total', 'counter', 'User and system CPU time of the server process, in seconds.');
      lines.push(`process_cpu_seconds_total ${number((cpu.user + cpu.system) / 1e6)}`);
      family(lines, 'process_resident_memory_bytes', 'gauge', 'Resident memory of the server process, in bytes.');
      lines.push(`process_resident_memory_bytes ${process.memoryUsage.rss()}`);
      family(lines, 'process_start_time_seconds', 'gauge', 'Start time of the server process, in seconds since the Unix epoch.');
      lines.push(`process_start_time_seconds ${number(Math.round(Date.now() / 1000 - process.uptime()))}`);
      const heap = getHeapStatistics();
      family(lines, 'coffer_serving_heap_used_bytes', 'gauge', 'V8 heap in use by the serving thread, in bytes.');
      lines.push(`coffer_serving_heap_used_bytes ${heap.used_heap_size}`);
      family(lines, 'coffer_event_loop_delay_seconds', 'gauge', 'Delay of the event loop of the serving thread since the previous scrape: its median, 99th percentile and maximum.');
      for (const [stat, value] of [['p50', loopDelay.percentile(50)], ['p99', loopDelay.percentile(99)], ['max', loopDelay.max]] as const) {
        lines.push(`coffer_event_loop_delay_seconds{stat="${stat}"} ${number(loopDelay.count > 0 ? value / 1e9 : 0)}`);
      }
      loopDelay.reset();
      family(lines, 'coffer_build_info', 'gauge', 'The coffer version serving (always 1).');
      lines.push(`coffer_build_info{version="${escapeLabel(opts.version)}"} 1`);
      return `${lines.join('\n')}\n`;
    },
  };
}
