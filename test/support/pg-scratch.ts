import { after, before } from 'node:test';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './databases.js';
import { scratchDataDirs, startTestServer, type TestServer } from './server-fixture.js';

/**
 * For a test file whose cases each start servers on a database and data dir of their own: PostgreSQL is started
 * before the file's tests and stopped after them, with the data dirs made meanwhile removed.
 */
export function postgresScratch(prefix: string) {
  const scratch = scratchDataDirs(prefix);
  let db: TestDatabase | undefined;
  before(async () => {
    db = await startPostgres();
  });
  after(async () => {
    await db?.stop();
    scratch.removeAll();
  });
  return {
    /** An empty database and an empty data dir. */
    async fresh(): Promise<{ url: string; dir: string }> {
      return { url: await freshPostgresDatabase(db!), dir: scratch.make() };
    },
    /** A server on the data dir and the database. */
    start: (dataDir: string, url: string, env: Record<string, string> = {}): Promise<TestServer> => startTestServer({ dataDir, args: ['--database-url', url], env }),
  };
}
