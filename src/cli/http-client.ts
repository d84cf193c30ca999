import { Agent, request } from 'node:https';
import { readFileSync, existsSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { loopbackLookup } from '../net/loopback-lookup.js';

// The CLI's HTTPS client: trusts the system store plus coffer's CA, resolves
// `.localhost` names to loopback, and never logs bodies.

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = unknown>(): T;
}

export interface HttpClient {
  send(method: string, url: string, opts?: { headers?: Record<string, string>; body?: string }): Promise<HttpResponse>;
}

export function createHttpClient(caFile?: string): HttpClient {
  const ca = [...rootCertificates];
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  for (const file of [caFile, extra]) {
    if (file && existsSync(file)) ca.push(readFileSync(file, 'utf8'));
  }
  const agent = new Agent({ keepAlive: true, ca, lookup: loopbackLookup as never });
  return {
    send(method, url, opts = {}) {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
        if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
        const req = request(url, { method, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text,
              json: <T>() => (text === '' ? (undefined as T) : (JSON.parse(text) as T)),
            });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        if (opts.body !== undefined) req.write(opts.body);
        req.end();
      });
    },
  };
}
