import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { integrationSchema } from '../src/connector/connector-config.js';
import { describeDbError } from '../src/connector/db-clients.js';
import { createIntegrationRunner } from '../src/connector/integration-runner.js';
import { createSignInBackoff } from '../src/connector/sign-in-backoff.js';
import { ConnectorError, type Credentials } from '../src/connector/vault-reader.js';

// A secret version the database refuses is tried again less and less often
// (a database may block the account after a few failed sign-ins); another
// version is tried at once. The database here is a stand-in that counts
// sign-ins: what is checked is how often the runner signs in.

const integration = integrationSchema.parse({ name: 'db', type: 'postgresql', host: '127.0.0.1', port: 5432, database: 'app', secret: { vault: 'app-vault', name: 'db-user' }, tls: { mode: 'disable' } });

/** `refusal`: the driver's error for a wrong password (PostgreSQL's 28P01 unless given), classified by the connector's own describeDbError. */
function harness(livePassword: string, refusal: object = { code: '28P01' }) {
  const secret: Credentials = { username: 'apono', password: 'wrong', version: 'v1' };
  const signIns: string[] = [];
  let alive = true;
  const connect = async (_i: unknown, creds: Credentials) => {
    signIns.push(creds.version);
    if (creds.password !== livePassword) throw describeDbError(integration, refusal, creds.username);
    return {
      check: async () => {
        if (!alive) throw Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' });
      },
      close: async () => {},
    };
  };
  const runner = createIntegrationRunner(integration, { read: async () => ({ ...secret }) }, () => {}, { refreshSeconds: 60, connect });
  /** The refreshes (1-based) at which the runner signed in, over `n` refreshes. */
  const refreshes = async (n: number) => {
    const at: number[] = [];
    for (let i = 1; i <= n; i++) {
      const before = signIns.length;
      await runner.refresh();
      if (signIns.length > before) at.push(i);
    }
    return at;
  };
  return { secret, signIns, runner, refreshes, kill: () => (alive = false) };
}

describe('connector: sign-ins refused by the database', () => {
  it('a refused version is tried at refreshes 1, 2, 4, 8, 16...; a new version at once, and a success ends the wait', async () => {
    const h = harness('right');
    assert.deepEqual(await h.refreshes(20), [1, 2, 4, 8, 16]);
    const status = h.runner.status();
    assert.equal(status.errorKind, 'db-auth');
    assert.match(status.lastError!, /^postgresql at 127\.0\.0\.1:5432 rejected the credentials of user 'apono' from the vault \(refused 5 times in a row: tried again at about \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/);

    Object.assign(h.secret, { password: 'right', version: 'v2' });
    assert.deepEqual(await h.refreshes(1), [1], 'the new version is tried at the next refresh');
    assert.equal(h.runner.status().state, 'connected');
    assert.equal(h.runner.status().secretVersion, 'v2');
  });

  it('beside a working connection, a refused new version backs off too, and the connection is kept and checked', async () => {
    const h = harness('right');
    Object.assign(h.secret, { password: 'right' });
    await h.refreshes(1);
    assert.equal(h.runner.status().secretVersion, 'v1');
    Object.assign(h.secret, { password: 'not-yet-live', version: 'v2' });
    assert.deepEqual(await h.refreshes(8), [1, 2, 4, 8]);
    const status = h.runner.status();
    assert.equal(status.secretVersion, 'v1', 'still on the version that works');
    assert.match(status.lastError!, /^secret version v2 failed, still connected with version v1: .* \(refused 4 times in a row: tried again at about .+\)$/);
    // The kept connection dies while v2 waits: no sign-in with v2 before its time, and no connection shown.
    h.kill();
    assert.deepEqual(await h.refreshes(3), []);
    assert.equal(h.runner.status().secretVersion, null);
    assert.equal(h.runner.status().state, 'error');
  });

  it("what is not a refused password (a missing grant, a host rule, a blocked account) is retried at every refresh: fixing it ends the outage at once", async () => {
    for (const refusal of [{ code: 'ER_DBACCESS_DENIED_ERROR' }, { code: '28000' }, { errno: 4150, message: 'User is blocked' }, { errno: 3955 }]) {
      const h = harness('right', refusal);
      assert.deepEqual(await h.refreshes(6), [1, 2, 3, 4, 5, 6], JSON.stringify(refusal));
      assert.equal(h.runner.status().errorKind, 'db-auth');
    }
    const mysql = harness('right', { code: 'ER_ACCESS_DENIED_ERROR' });
    assert.deepEqual(await mysql.refreshes(4), [1, 2, 4], "MySQL's and MariaDB's refused password waits");
  });

  it('the wait doubles up to about an hour, and starts again for another version', () => {
    const b = createSignInBackoff(600, () => Date.UTC(2026, 0, 1));
    const refused = new ConnectorError('db-auth', 'refused');
    const skipped = (version: string) => {
      let n = 0;
      while (b.waiting(version)) n++;
      return n;
    };
    const waits = [];
    for (let i = 0; i < 6; i++) {
      b.refused('v1', refused);
      waits.push(skipped('v1'));
    }
    assert.deepEqual(waits, [0, 1, 3, 5, 5, 5], 'at most an hour: 5 refreshes skipped at 600 s each');
    b.refused('v1', refused);
    assert.equal(b.waiting('v2'), null, 'another version does not wait');
    assert.equal(b.refused('v2', refused).message, 'refused', 'and its first refusal is retried at the next refresh');
    b.refused('v2', refused);
    assert.equal(b.waiting('v2')!.message, 'refused (refused 2 times in a row: tried again at about 2026-01-01T00:20:00Z)');
    // A connection falling back to v1 (integration-runner.ts) ends v1's wait only: v2 keeps waiting.
    b.succeeded('v1');
    assert.equal(b.waiting('v1'), null);
    b.refused('v2', refused);
    assert.ok(b.waiting('v2'), 'v2 still waits');
  });
});
