import { isIP } from 'node:net';
import { request } from 'node:https';

// A request sent exactly as written: unlike fetch, no URL normalisation, so
// paths such as /secrets/.. reach the server verbatim. `localAddress` sends it
// from another loopback address (127.0.0.2), as another client would.
export function rawRequest(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; localAddress?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const u = new URL(url);
  const rawPath = url.slice(url.indexOf('/', 'https://'.length));
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: rawPath, method: init.method ?? 'GET', headers: init.headers, servername: isIP(u.hostname) ? undefined : u.hostname, localAddress: init.localAddress }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}
