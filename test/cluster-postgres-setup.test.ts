import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api } from './support/access-kit.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { startBalancer, type TcpBalancer } from './support/tcp-balancer.js';

// A cluster's first start (cluster-postgres.test.ts has the running cluster):
// members started together on an empty database make one deployment.

const MASTER_KEY = randomBytes(32).toString('hex');

describe('a cluster started all at once on an empty database', () => {
  let db: TestDatabase;
  let lb: TcpBalancer;
  const members: TestServer[] = [];
  before(async () => {
    db = await startPostgres();
    lb = await startBalancer();
  });
  after(async () => {
    for (const m of members) await m.stop();
    await lb?.close();
    await db?.stop();
  });

  it('makes one deployment: one administrator, one signing key, whichever member sets up first', async () => {
    const url = await freshPostgresDatabase(db);
    // Not --dev: the ids and the administrator are made at random, so two setups would differ.
    const args = ['--database-url', url, '--cluster', '--public-port', String(lb.port)];
    members.push(...(await Promise.all([1, 2, 3].map(() => startTestServer({ dev: false, args, env: { COFFER_MASTER_KEY: MASTER_KEY } })))));
    const [first] = members as [TestServer];
    assert.deepEqual(new Set(members.map((m) => JSON.stringify([m.bootstrap.tenantId, m.bootstrap.subscriptionId, m.bootstrap.objectId, m.bootstrap.clientId]))).size, 1);
    const keys = (await (await fetch(`${first.url}/${first.bootstrap.tenantId}/discovery/v2.0/keys`)).json()) as { keys: unknown[] };
    assert.equal(keys.keys.length, 1);
    // Each member's bootstrap secret is the one administrator's, and the administrator may write the
    // directory through any member.
    await lb.route(members[2]!.port);
    for (const m of members) {
      const pub = { ...m, url: `https://localhost:${lb.port}` };
      const made = await api(pub, 'POST', '/v1.0/servicePrincipals', { displayName: `made-with-${m.port}` });
      assert.equal(made.status, 201, JSON.stringify(made.body));
    }
  });
});
