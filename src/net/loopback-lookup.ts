import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';

// RFC 6761 reserves `.localhost` for loopback, but glibc does not resolve
// `{vault}.vault.localhost` on most machines. coffer's own tools (CLI,
// connector) resolve such names to loopback themselves, so the default
// vault suffix works with zero setup. Other names go to the system resolver.

type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export const isLocalhostName = (host: string): boolean => host === 'localhost' || host.endsWith('.localhost');

export function loopbackLookup(hostname: string, options: LookupOptions | number | Callback, callback?: Callback): void {
  const cb = (typeof options === 'function' ? options : callback) as Callback;
  const opts: LookupOptions = typeof options === 'object' ? options : typeof options === 'number' ? { family: options } : {};
  if (!isLocalhostName(hostname.toLowerCase())) {
    dnsLookup(hostname, opts, cb as unknown as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void);
    return;
  }
  const v6 = opts.family === 6;
  const address = v6 ? '::1' : '127.0.0.1';
  const family = v6 ? 6 : 4;
  if (opts.all) cb(null, [{ address, family }]);
  else cb(null, address, family);
}
