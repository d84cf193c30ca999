import { isIP } from 'node:net';
import { request } from 'node:https';
import { connect } from 'node:tls';

// A request sent exactly as written: unlike fetch, no URL normalisation, so
// paths such as /secrets/.. reach the server verbatim. `localAddress` sends it
// from another loopback address (127.0.0.2), as another client would.
export function rawRequest(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; localAddress?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const u = new URL(url);
  const rawPath = url.slice(url.indexOf('/', 'https://'.length));
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: rawPath, method: init.method ?? 'GET', headers: init.headers, servername: isIP(u.hostname) ? undefined : u.hostname, localAddress: init.localAddress }, (res) => {
      // Decoded whole: a character split across two chunks would be mangled chunk by chunk.
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

/**
 * `rawRequest` under `base` with a bearer token (and a JSON content type when a body is sent), its body parsed
 * as an error answer: how the hostile-input tests send what a client library would not.
 */
export function authorizedRaw(base: () => string, token: () => string) {
  return async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await rawRequest(`${base()}${path}`, { method, headers: { authorization: `Bearer ${token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body });
    return { status: res.status, text: res.text, json: res.text ? (JSON.parse(res.text) as { error?: { code: string; message: string } }) : null };
  };
}

/** Sends bytes as they are over TLS to 127.0.0.1:`port` (SNI `host`) and returns what comes back until the server closes the connection. */
export function rawExchange(port: number, host: string, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: host, rejectUnauthorized: false }, () => socket.write(bytes));
    const got: Buffer[] = [];
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('close', () => resolve(Buffer.concat(got).toString('utf8')));
    socket.on('error', reject);
  });
}
