import { randomBytes } from 'node:crypto';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './databases.js';
import { startTestServer, type TestServer } from './server-fixture.js';
import { startBalancer, type TcpBalancer } from './tcp-balancer.js';

/** Two coffer servers in a cluster on one fresh PostgreSQL database, sharing a master key. */
export interface PgCluster {
  db: TestDatabase;
  url: string;
  /** The members' COFFER_MASTER_KEY. */
  masterKey: string;
  a: TestServer;
  b: TestServer;
  /** Starts one more member, on `dbUrl` (another role, say) or the cluster's database. */
  member(dbUrl?: string): Promise<TestServer>;
  stop(): Promise<void>;
}

/** `args`: more command-line arguments for every member. */
export async function startPgCluster(args: string[] = []): Promise<PgCluster> {
  const masterKey = randomBytes(32).toString('hex');
  const db = await startPostgres();
  const url = await freshPostgresDatabase(db);
  const member = (dbUrl = url) => startTestServer({ args: ['--database-url', dbUrl, '--cluster', ...args], env: { COFFER_MASTER_KEY: masterKey } });
  const started: TestServer[] = [];
  try {
    started.push(await member(), await member());
  } catch (err) {
    for (const m of started) await m.stop();
    await db.stop();
    throw err;
  }
  const [a, b] = started as [TestServer, TestServer];
  return {
    db,
    url,
    masterKey,
    a,
    b,
    member,
    async stop() {
      await a.stop();
      await b.stop();
      await db.stop();
    },
  };
}

/** A cluster behind a load balancer (--public-port is its port), as clients reach one. */
export interface BalancedPgCluster extends PgCluster {
  lb: TcpBalancer;
  /** The cluster as clients see it: the balancer's URLs (routed to `a` at first; `lb.route` picks a member). */
  pub: TestServer;
}

export async function startBalancedPgCluster(): Promise<BalancedPgCluster> {
  const lb = await startBalancer();
  let cluster: PgCluster;
  try {
    cluster = await startPgCluster(['--public-port', String(lb.port)]);
  } catch (err) {
    await lb.close();
    throw err;
  }
  const { a } = cluster;
  await lb.route(a.port);
  const pub: TestServer = { ...a, url: `https://localhost:${lb.port}`, vaultUrl: (name) => `https://${name}.${a.bootstrap.vaultDnsSuffix}:${lb.port}` };
  return {
    ...cluster,
    lb,
    pub,
    async stop() {
      await cluster.stop();
      await lb.close();
    },
  };
}
