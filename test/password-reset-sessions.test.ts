import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { api } from './support/access-kit.js';
import { confirmationOf, deviceLoginForm, type FormPost } from './support/device-login.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { codeFlow } from './support/sign-in-flows.js';

// An administrator's password reset ends the sign-ins made with the password
// before, as Entra ID's does (AADSTS50173): also the ones whose tokens were
// still being written as the reset landed (found by a fuzzing helper: a
// password grant checks the old password, the reset deletes the user's
// refresh tokens, then the grant stores its token), and the device and
// authorization code sign-ins approved before it and redeemed after.

const CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
const RESET_SINCE = 50173;

describe('a password reset ends the sign-ins made before it', () => {
  let server: TestServer;
  let tokenUrl: string;
  let post: FormPost;
  let userId: string;
  let password = 'Una password 1';
  const upn = 'una@coffer.local';

  before(async () => {
    server = await startTestServer();
    tokenUrl = `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`;
    post = deviceLoginForm(server.url);
    const created = await api(server, 'POST', '/v1.0/users', { userPrincipalName: upn, displayName: 'Una', passwordProfile: { password } });
    assert.equal(created.status, 201);
    userId = created.body!.id as string;
  });
  after(() => server?.stop());

  const token = async (params: Record<string, string>) => {
    const r = await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams(params) });
    return { status: r.status, body: (await r.json()) as { refresh_token?: string; access_token?: string; error?: string; error_codes?: number[]; error_description?: string } };
  };
  const signIn = () => token({ grant_type: 'password', client_id: CLI, username: upn, password, scope: `${server.url}/.default offline_access` });
  const refresh = (refreshToken: string) => token({ grant_type: 'refresh_token', client_id: CLI, refresh_token: refreshToken });
  const reset = async () => {
    password = `Una password ${randomBytes(4).toString('hex')}`;
    assert.equal((await api(server, 'PATCH', `/v1.0/users/${userId}`, { passwordProfile: { password } })).status, 204);
  };
  const refused = (answer: Awaited<ReturnType<typeof token>>, what: string) => {
    assert.equal(answer.status, 400, what);
    assert.equal(answer.body.error, 'invalid_grant', what);
    assert.deepEqual(answer.body.error_codes, [RESET_SINCE], what);
    assert.match(answer.body.error_description!, /The user might have changed or reset their password/);
  };
  /** The newest refresh token row, as stored: what a sign-in that was still writing it as the reset landed leaves. */
  const newestTokenRow = () => withDb((db) => db.prepare('SELECT * FROM refresh_tokens ORDER BY rowid DESC LIMIT 1').get() as Record<string, unknown>);
  const putBack = (row: Record<string, unknown>) =>
    withDb((db) => db.prepare(`INSERT INTO refresh_tokens (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map(() => '?').join(', ')})`).run(...Object.values(row)));
  function withDb<T>(use: (db: Database.Database) => T): T {
    const db = new Database(join(server.dataDir, 'coffer.db'));
    try {
      db.pragma('busy_timeout = 5000');
      return use(db);
    } finally {
      db.close();
    }
  }

  it("a password grant's refresh token stored after the reset redeems nothing, and a new sign-in with the new password works", async () => {
    const before = await signIn();
    assert.equal(before.status, 200);
    const row = newestTokenRow();
    await reset();
    // The reset deleted it; put back, it is the token a grant that checked the old password stored after the reset.
    assert.equal(withDb((db) => db.prepare('SELECT count(*) AS n FROM refresh_tokens WHERE token_hash = ?').get(row.token_hash) as { n: number }).n, 0);
    putBack(row);
    refused(await refresh(before.body.refresh_token!), 'the token of a sign-in with the old password');
    // The refusal ended that sign-in's family: the row is gone again.
    assert.equal(withDb((db) => db.prepare('SELECT count(*) AS n FROM refresh_tokens WHERE family_id = ?').get(row.family_id) as { n: number }).n, 0);

    const after = await signIn();
    assert.equal(after.status, 200, 'the new password signs in');
    const renewed = await refresh(after.body.refresh_token!);
    assert.equal(renewed.status, 200, 'and its sign-in refreshes');
    assert.equal((await refresh(renewed.body.refresh_token!)).status, 200, 'again and again');
  });

  it('a refresh that was renewing a sign-in from before the reset: the token it stored after the reset redeems nothing', async () => {
    const first = await signIn();
    const renewed = await refresh(first.body.refresh_token!);
    assert.equal(renewed.status, 200);
    const row = newestTokenRow();
    await reset();
    putBack(row);
    refused(await refresh(renewed.body.refresh_token!), 'a renewed token of a sign-in with the old password');
  });

  it('a device sign-in approved (or only signed in) with the old password and redeemed after the reset gets no tokens', async () => {
    const start = async () => {
      const r = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/devicecode`, { method: 'POST', body: new URLSearchParams({ client_id: CLI, scope: `${server.url}/.default offline_access` }) });
      return (await r.json()) as { device_code: string; user_code: string };
    };
    const poll = (deviceCode: string) => token({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: CLI, device_code: deviceCode });
    const approved = await start();
    const signedIn = await post({ code: approved.user_code, username: upn, password });
    assert.equal((await post({ code: approved.user_code, confirmation: confirmationOf(signedIn.text)! })).status, 200);
    // Signed in with the old password, confirmed after the reset.
    const confirmedLate = await start();
    const lateTicket = confirmationOf((await post({ code: confirmedLate.user_code, username: upn, password })).text)!;
    await reset();
    assert.equal((await post({ code: confirmedLate.user_code, confirmation: lateTicket })).status, 200);
    refused(await poll(approved.device_code), 'approved before the reset');
    refused(await poll(confirmedLate.device_code), 'confirmed after the reset, signed in before');

    const fresh = await start();
    const ticket = confirmationOf((await post({ code: fresh.user_code, username: upn, password })).text)!;
    assert.equal((await post({ code: fresh.user_code, confirmation: ticket })).status, 200);
    const tokens = await poll(fresh.device_code);
    assert.equal(tokens.status, 200, 'signed in with the new password');
    assert.equal((await refresh(tokens.body.refresh_token!)).status, 200);
  });

  it('an authorization code issued before the reset and redeemed after it gets no tokens', async () => {
    const flow = codeFlow(server, CLI);
    const code = () => flow.code({ upn, password });
    const exchange = (c: string) => token(flow.fields(c));
    const early = await code();
    await reset();
    refused(await exchange(early), 'a code of a sign-in with the old password');
    const tokens = await exchange(await code());
    assert.equal(tokens.status, 200, 'a code of a sign-in with the new password');
    assert.equal((await refresh(tokens.body.refresh_token!)).status, 200);
  });
});
