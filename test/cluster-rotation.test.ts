import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminToken, api } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { freshPostgresDatabase, startPostgres, type TestDatabase } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A PostgreSQL cluster's master key rotation through COFFER_MASTER_KEY,
// member by member (docs/postgres.md): the members that have not restarted
// yet go on with the keys the first one renewed.

const MASTER_KEY = randomBytes(32).toString('hex');

describe('a cluster rotating its master key member by member (COFFER_MASTER_KEY)', () => {
  let db: TestDatabase;
  const members: TestServer[] = [];
  before(async () => {
    db = await startPostgres();
  });
  after(async () => {
    for (const m of members) await m.stop();
    await db?.stop();
  });

  it('renews the audit key and the credential pepper once; a member that has not restarted yet reads the new generation when it is announced or met, and the trail verifies on both', async () => {
    const url = await freshPostgresDatabase(db);
    const newKey = randomBytes(32).toString('hex');
    const envA: Record<string, string> = { COFFER_MASTER_KEY: MASTER_KEY };
    const envB: Record<string, string> = { COFFER_MASTER_KEY: MASTER_KEY };
    const args = ['--database-url', url, '--cluster'];
    const a = await startTestServer({ args, env: envA });
    members.push(a);
    const b = await startTestServer({ args, env: envB });
    members.push(b);
    await createVault(a, 'rolling');
    await secretClient(a, 'rolling').setSecret('s', 'before');
    // First round: every member learns the new key as a previous one.
    for (const [m, env] of [[a, envA], [b, envB]] as const) {
      env.COFFER_PREVIOUS_MASTER_KEYS = newKey;
      await m.restart();
    }
    // Taken now, so that b signs nobody in until the sign-in below (a sign-in meeting a newer generation reads it too).
    const bToken = await adminToken(b);
    // Second round, first member: it starts with the new key as its own, and renews every key.
    Object.assign(envA, { COFFER_MASTER_KEY: newKey, COFFER_PREVIOUS_MASTER_KEYS: MASTER_KEY });
    await a.restart();
    const stored = await new pg.Client({ connectionString: url });
    await stored.connect();
    try {
      const row = (await stored.query<{ value: string }>("SELECT value FROM settings WHERE key = 'auditKey'")).rows[0]!;
      assert.equal((JSON.parse(row.value) as { renewals: unknown[] }).renewals.length, 1);
      const pepper = (await stored.query<{ value: string }>("SELECT value FROM settings WHERE key = 'credentialPepper'")).rows[0]!;
      assert.equal((JSON.parse(pepper.value) as { generation: number }).generation, 1, 'the credential pepper renewed once');
    } finally {
      await stored.end();
    }
    // b hears of the renewal through the change feed, not at its next minute's read: a client secret it makes is
    // keyed under the new generation, which a (its conversion done) takes. Without the feed, a refuses it (401)
    // unless b's minute timer happens to fire within the half second of tries (under 1 % of runs).
    let status = 0;
    for (let i = 0; i < 5 && status !== 200; i++) {
      if (i > 0) await sleep(100);
      const made = await api(b, 'POST', '/v1.0/servicePrincipals', { displayName: `feed-${i}` }, bToken);
      assert.equal(made.status, 201);
      const token = await fetch(`${a.url}/${a.bootstrap.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: made.body!.appId, client_secret: made.body!.passwordCredentials[0].secretText, scope: `${a.url}/.default` }),
      });
      status = token.status;
    }
    assert.equal(status, 200);
    // b meets the administrator's secret keyed again under the new pepper generation, and reads the generations again.
    const signIn = await fetch(`${b.url}/${b.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: b.bootstrap.clientId, client_secret: b.bootstrap.clientSecret, scope: `${b.url}/.default` }),
    });
    assert.equal(signIn.status, 200);
    // b still holds generation 0 only: its next records meet generation 1.
    await secretClient(b, 'rolling').setSecret('s', 'from-b');
    await secretClient(a, 'rolling').setSecret('s', 'from-a');
    assert.equal((await secretClient(b, 'rolling').getSecret('s')).value, 'from-a');
    for (const m of [a, b]) {
      const verify = await api(m, 'GET', '/coffer/audit/verify');
      assert.equal(verify.body!.ok, true, JSON.stringify(verify.body));
    }
  });
});
