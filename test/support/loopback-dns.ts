// Preloaded into test processes: `*.localhost` resolves to loopback, as it
// does for coffer's own tools (src/net/loopback-lookup.ts). The official SDKs
// then reach `https://{vault}.vault.localhost:{port}` unchanged.
import dns from 'node:dns';
import { loopbackLookup } from '../../src/net/loopback-lookup.js';

const original = dns.lookup;
(dns as { lookup: unknown }).lookup = (hostname: string, options: unknown, callback?: unknown) => {
  if (typeof hostname === 'string' && (hostname === 'localhost' || hostname.endsWith('.localhost'))) {
    return loopbackLookup(hostname, options as never, callback as never);
  }
  return (original as (...args: unknown[]) => void)(hostname, options, callback);
};
