import type pg from 'pg';

// The pool's connections, cut when the store session breaks (pg-lock-renewal.ts's `interrupted`). Through a
// network partition (packets dropped, no reset) a statement in flight waits for PostgreSQL's reply until the
// kernel gives up on the connection, 15 minutes and more: its request hangs, and its pooled connection with
// it. The lock connection's heartbeat notices the partition within seconds; at that break every connection
// the pool holds is ended, so that what is in flight fails at once ("Connection terminated", answered 503)
// and the pool opens fresh connections for the next queries. Only pg's public API is used: Client.end()
// destroys the socket when a query is active (pg: "a hung query could block end forever"), and an idle
// client's 'error' makes the pool drop it (pg-pool's documented handling of idle clients' errors).

export interface PoolCut {
  /** Ends every connection the pool holds: checked out ones at once, idle ones dropped from the pool. Returns how many were checked out. */
  cut(): number;
}

export function trackPoolConnections(pool: pg.Pool): PoolCut {
  const all = new Set<pg.PoolClient>();
  const checkedOut = new Set<pg.PoolClient>();
  pool.on('connect', (c) => void all.add(c));
  pool.on('remove', (c) => {
    all.delete(c);
    checkedOut.delete(c);
  });
  pool.on('acquire', (c) => void checkedOut.add(c));
  pool.on('release', (_err, c) => void checkedOut.delete(c));
  return {
    cut() {
      const busy = [...checkedOut];
      for (const c of all) {
        all.delete(c);
        if (checkedOut.has(c)) {
          // Its statement fails now; released by its user, the pool drops it (it is ending).
          c.end().catch(() => undefined);
        } else {
          // Idle: the pool ends and drops it, as it does an idle connection that broke.
          c.emit('error', new Error('Connection terminated: the store session broke'));
        }
      }
      return busy.length;
    },
  };
}
