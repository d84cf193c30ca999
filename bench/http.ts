import { Agent, request } from 'node:https';
import type { LookupFunction } from 'node:net';

// A small HTTPS client for setup and probes. glibc does not resolve
// *.localhost, so every name is resolved to 127.0.0.1 here; TLS still checks
// the server certificate against coffer's CA for the real host name (SNI).

export const loopback: LookupFunction = (_hostname, options, callback) => {
  if (options.all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

export interface Reply {
  status: number;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface HttpClient {
  send(method: string, url: string, opts?: { headers?: Record<string, string>; body?: string | object }): Promise<Reply>;
  close(): void;
}

export function httpClient(ca: string, opts: { keepAlive?: boolean; maxSockets?: number; timeoutMs?: number } = {}): HttpClient {
  const agent = new Agent({ keepAlive: opts.keepAlive ?? true, maxSockets: opts.maxSockets ?? 64, ca, lookup: loopback });
  return {
    send(method, url, { headers = {}, body } = {}) {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const all: Record<string, string> = { ...headers };
      if (payload !== undefined) {
        all['content-type'] ??= 'application/json';
        all['content-length'] = String(Buffer.byteLength(payload));
      }
      return new Promise<Reply>((res, rej) => {
        const req = request(url, { method, headers: all, agent, timeout: opts.timeoutMs ?? 60_000 }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('error', rej);
          r.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            res({ status: r.statusCode ?? 0, text, json: <T>() => JSON.parse(text) as T });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
        req.on('error', rej);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Runs fn(0..count-1) with at most `concurrency` calls in flight; stops at the first error. */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const lane = async () => {
    while (failed === null && next < count) {
      const i = next++;
      try {
        await fn(i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  if (failed !== null) throw failed;
}

export function expectStatus(r: Reply, what: string, ok: (s: number) => boolean = (s) => s >= 200 && s < 300): Reply {
  if (!ok(r.status)) throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
  return r;
}
