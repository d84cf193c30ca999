import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, assignRole, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { createVault, credential, secretClient } from './support/clients.js';
import type { TestDatabase } from './support/databases.js';
import { startPgCluster, type PgCluster } from './support/pg-cluster.js';
import { until as waitUntil } from './support/until.js';
import type { TestServer } from './support/server-fixture.js';

// Cluster members through a database outage: a member whose lock connection
// breaks refuses requests (503, Retry-After) until it listens again, then
// reads everything again, so a change made through another member meanwhile
// (announced to nobody it reached) decides at once; a PostgreSQL restart
// under concurrent writers leaves every member up and loses nothing
// acknowledged. Each member is reached on its own port (its own issuer).

/** Patient: a PostgreSQL restart and a member's reconnection backoff can take a while on a slow machine. */
const until = (what: string, check: () => boolean | Promise<boolean>) => waitUntil(what, check, 60_000, 100);

/** The status of a request to the management plane without a token: 503 while the member does not serve, else 401. */
async function bareStatus(m: TestServer): Promise<{ status: number; retryAfter: string | null }> {
  try {
    const res = await fetch(`${m.url}/subscriptions/${m.bootstrap.subscriptionId}/resourcegroups?api-version=2022-09-01`);
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch {
    return { status: -1, retryAfter: null };
  }
}

describe('a cluster through database outages', () => {
  let cluster: PgCluster;
  let db: TestDatabase;
  let url: string;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    cluster = await startPgCluster();
    ({ db, url, a, b } = cluster);
  });
  after(() => cluster?.stop());

  it('a member whose lock connection is cut refuses requests 503 meanwhile, and then sees the changes made through another member while it was away', async () => {
    // A role of its own for the member, so that its reconnection alone can be held off while the change is made.
    await db.admin(`CREATE ROLE coffer_c LOGIN PASSWORD 'c' IN ROLE coffer`);
    const cUrl = new URL(url);
    cUrl.username = 'coffer_c';
    cUrl.password = 'c';
    const c = await cluster.member(cUrl.toString());
    try {
      const vault = await createVault(a, 'outage-vault', { enableRbacAuthorization: true });
      assert.equal((await assignRole(a, vault.id!, ROLE_IDS['Key Vault Secrets Officer'], a.bootstrap.objectId)).status, 201);
      await secretClient(a, 'outage-vault').setSecret('s', 'v1');
      const reader = await newServicePrincipal(a, 'outage-reader');
      const made = await assignRole(a, vault.id!, ROLE_IDS['Key Vault Secrets User'], reader.id);
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const readerOnC = secretClient(c, 'outage-vault', credential(c, reader.appId, reader.secret));
      await until('c grants the assignment', async () => (await readerOnC.getSecret('s').then((s) => s.value, () => null)) === 'v1');

      await db.admin('ALTER ROLE coffer_c NOLOGIN');
      await db.admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'coffer server lock' AND usename = 'coffer_c'`);
      await until('c refuses requests', async () => (await bareStatus(c)).status === 503);
      assert.equal((await bareStatus(c)).retryAfter, '5');
      const health = await fetch(`${c.url}/healthz`);
      assert.equal(health.status, 503, 'a balancer sends requests elsewhere');
      assert.deepEqual(((await health.json()) as { database: unknown }).database, { connected: false });
      // Through a, while c hears nothing.
      assert.equal((await api(a, 'DELETE', `${made.body!.id}?api-version=2022-04-01`)).status, 200);
      await secretClient(a, 'outage-vault').setSecret('s', 'v2');

      await db.admin('ALTER ROLE coffer_c LOGIN');
      await until('c serves again', async () => (await bareStatus(c)).status === 401);
      assert.equal(c.exitCode(), null, c.logs());
      // At once, no waiting for an announcement: the assignment's removal was never announced to c.
      const refused = await readerOnC.getSecret('s').then(() => 200, (err: { statusCode?: number }) => err.statusCode);
      assert.equal(refused, 403);
      assert.equal((await secretClient(c, 'outage-vault').getSecret('s')).value, 'v2');
      assert.match(c.logs(), /the database lock is held again/);
    } finally {
      await db.admin('ALTER ROLE coffer_c LOGIN');
      await c.stop();
    }
  });

  it('a PostgreSQL restart under concurrent writers through both members: both stay up, every acknowledged write is read back, and the audit trail verifies', async () => {
    await createVault(a, 'restart-vault');
    const writers = 8;
    const acked: Array<Array<{ value: string; version: string }>> = Array.from({ length: writers }, () => []);
    const tried: string[][] = Array.from({ length: writers }, () => []);
    let stop = false;
    const lastErr: string[] = [];
    const write = async (i: number) => {
      const m = i % 2 === 0 ? a : b;
      const client = secretClient(m, 'restart-vault');
      for (let n = 0; !stop; n++) {
        const value = `w${i}-${n}`;
        tried[i]!.push(value);
        try {
          const set = await client.setSecret(`w${i}`, value);
          acked[i]!.push({ value, version: set.properties.version! });
        } catch (err) {
          lastErr[i] = String((err as Error).message).slice(0, 300);
          await sleep(200);
        }
      }
    };
    const running = Array.from({ length: writers }, (_, i) => write(i));
    try {
      await until('some writes are acknowledged', () => acked.every((w) => w.length >= 2));
      await db.restart!();
      const ackedBefore = acked.map((w) => w.length);
      await until('writes are acknowledged again through both members', () => acked.every((w, i) => w.length >= ackedBefore[i]! + 2));
    } catch (err) {
      // What the writers last met, and the members' last words, to tell why.
      throw new Error(`${(err as Error).message}\nwriters: ${JSON.stringify(lastErr)}\na: ${a.logs().slice(-2000)}\nb: ${b.logs().slice(-2000)}`);
    } finally {
      stop = true;
      await Promise.all(running);
    }

    for (const m of [a, b]) {
      assert.equal(m.exitCode(), null, m.logs());
      const client = secretClient(m, 'restart-vault');
      for (let i = 0; i < writers; i++) {
        for (const w of acked[i]!) assert.equal((await client.getSecret(`w${i}`, { version: w.version })).value, w.value);
        // The latest is the last acknowledged, or one tried after it (acknowledged to nobody, but committed).
        const last = acked[i]!.at(-1)!.value;
        const latest = (await client.getSecret(`w${i}`)).value!;
        assert.ok(tried[i]!.indexOf(latest) >= tried[i]!.indexOf(last), `w${i}: latest ${latest}, last acknowledged ${last}`);
      }
      const verify = await api(m, 'GET', '/coffer/audit/verify');
      assert.equal(verify.body!.ok, true, JSON.stringify(verify.body));
    }
  });
});
