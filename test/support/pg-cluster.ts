import { randomBytes } from 'node:crypto';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './databases.js';
import { startTestServer, type TestServer } from './server-fixture.js';

/** Two coffer servers in a cluster on one fresh PostgreSQL database, sharing a master key. */
export interface PgCluster {
  db: TestDatabase;
  url: string;
  a: TestServer;
  b: TestServer;
  /** Starts one more member, on `dbUrl` (another role, say) or the cluster's database. */
  member(dbUrl?: string): Promise<TestServer>;
  stop(): Promise<void>;
}

export async function startPgCluster(): Promise<PgCluster> {
  const masterKey = randomBytes(32).toString('hex');
  const db = await startPostgres();
  const url = await freshPostgresDatabase(db);
  const member = (dbUrl = url) => startTestServer({ args: ['--database-url', dbUrl, '--cluster'], env: { COFFER_MASTER_KEY: masterKey } });
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
