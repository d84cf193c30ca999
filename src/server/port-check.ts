import { createServer } from 'node:net';

// A first start that found its port taken used to have made the data dir, the
// master key and the database before listen() failed. The port is tried first,
// before anything is written: the server's own listen comes only after setup
// (keys, store, TLS), and a socket bound that early would accept clients that
// then wait for seconds where they are refused now. Something can still take
// the port in between; start-server.ts then removes a data dir this start made.

export class PortInUseError extends Error {
  constructor(readonly port: number, readonly host: string) {
    super(`port ${port} is already in use on ${host} (another process listens on it): stop that process, or start coffer on another port with --port`);
    this.name = 'PortInUseError';
  }
}

/** Whether an error from listen() is EADDRINUSE. */
export function isAddressInUse(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EADDRINUSE';
}

/**
 * Binds `host`:`port` as the server would (the first address `host` resolves to, as net and
 * Fastify take it) and lets it go at once; throws PortInUseError if another process holds it.
 * Port 0 (any free port) cannot be taken and is not tried. Other listen errors are left to the server's own listen.
 */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err) => (isAddressInUse(err) ? reject(new PortInUseError(port, host)) : resolve()));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
