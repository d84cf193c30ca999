import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// A load balancer in front of a cluster's members, for tests: it passes TCP
// (TLS included) through to one member, and a test chooses which. Changing
// the member closes the connections clients keep, so their next request
// connects again, to the new one.

export interface TcpBalancer {
  port: number;
  /** Sends every connection from now on to this port on loopback. */
  route(port: number): Promise<void>;
  close(): Promise<void>;
}

export async function startBalancer(): Promise<TcpBalancer> {
  let target = 0;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    open.add(client);
    const end = () => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) s.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  });
  // Both loopback families: clients may resolve localhost to either.
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '::', ipv6Only: false }, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async route(port) {
      target = port;
      for (const s of open) s.destroy();
      // Let clients see their pooled connections close before they pick one for the next request. The clients
      // are in this process: they see it when the event loop next polls for I/O. The pause alone does not
      // ensure that: a loop held up past it (a loaded machine) runs the timer before that poll, and the test's
      // next request went out on a closed connection ("socket hang up"). setImmediate runs after the poll.
      await sleep(100);
      await new Promise((resolve) => setImmediate(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
