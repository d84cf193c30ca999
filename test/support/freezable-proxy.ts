import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

// A TCP proxy in front of a database whose traffic can be frozen, for tests of
// a network partition: frozen, nothing passes in either direction and nothing
// is closed (the sockets stop reading, as packets would be dropped and
// retransmitted later); thawed, what was held flows on, and a side closed
// meanwhile closes the other, as a peer's reset would once the network is back.

export interface FreezableProxy {
  port: number;
  freeze(): void;
  /**
   * Freezes right after passing on the next client bytes that contain `marker` (a statement sent, its answer held),
   * on a connection that has sent `after` since (a statement of the request meant, not another's on its own connection).
   */
  freezeOnceSent(marker: string, after: string): void;
  thaw(): void;
  /** Whether it holds the traffic now (freezeOnceSent's freeze has come). */
  frozen(): boolean;
  close(): Promise<void>;
}

export async function startFreezableProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FreezableProxy> {
  let frozen = false;
  let armed: { marker: string; after: string } | null = null;
  /** The connections that sent the armed `after`. */
  const primed = new WeakSet<Socket>();
  const sockets = new Set<Socket>();
  const heldCloses: Array<() => void> = [];
  const server = createServer((inbound) => {
    const outbound = connect(targetPort, targetHost);
    const pair = [inbound, outbound];
    for (const s of pair) {
      sockets.add(s);
      if (frozen) s.pause();
    }
    inbound.on('data', (d: Buffer) => {
      outbound.write(d);
      if (armed === null) return;
      if (d.includes(armed.after)) primed.add(inbound);
      if (primed.has(inbound) && d.lastIndexOf(armed.marker) > d.lastIndexOf(armed.after)) {
        armed = null;
        freeze();
      }
    });
    outbound.on('data', (d) => void inbound.write(d));
    const end = () => {
      for (const s of pair) {
        sockets.delete(s);
        s.destroy();
      }
    };
    for (const s of pair) {
      s.on('error', () => undefined);
      s.on('close', () => (frozen ? heldCloses.push(end) : end()));
    }
  });
  const freeze = () => {
    frozen = true;
    for (const s of sockets) s.pause();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze,
    freezeOnceSent(marker, after) {
      armed = { marker, after };
    },
    thaw() {
      frozen = false;
      for (const s of sockets) s.resume();
      for (const end of heldCloses.splice(0)) end();
    },
    frozen: () => frozen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
