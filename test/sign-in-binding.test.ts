import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { decodeJwt } from 'jose';
import { api } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A refresh token names the sign-in it continues (identity/refresh-token-binding.ts):
// rows rewritten by someone who can write the database redeem nothing.
// (Device and authorization codes: device-code.test.ts, auth-code.test.ts.)

describe('refresh tokens bound to their sign-in', () => {
  let server: TestServer;
  let tokenUrl: string;
  before(async () => {
    server = await startTestServer();
    tokenUrl = `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`;
    const created = await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'alice@coffer.local', displayName: 'Alice', passwordProfile: { password: 'Correct horse battery 9' } });
    assert.equal(created.status, 201);
  });
  after(() => server?.stop());

  const form = (fields: Record<string, string>) =>
    fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

  it("a refresh token row moved to another user, family or client in the database redeems nothing: the token names its sign-in", async () => {
    const cliClient = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
    const scope = `${server.url}/.default offline_access`;
    const signIn = async () => ((await (await form({ grant_type: 'password', client_id: cliClient, username: 'alice@coffer.local', password: 'Correct horse battery 9', scope })).json()) as { refresh_token: string }).refresh_token;
    const refresh = (token: string) => form({ grant_type: 'refresh_token', client_id: cliClient, refresh_token: token });
    const alice = decodeJwt(((await (await form({ grant_type: 'password', client_id: cliClient, username: 'alice@coffer.local', password: 'Correct horse battery 9', scope })).json()) as { access_token: string }).access_token).oid as string;
    const token = await signIn();
    assert.match(token, new RegExp(`^rt1\\.${alice}\\.[0-9a-f]{32}\\.[A-Za-z0-9_-]{43}$`), 'the token names its user and family');
    const edits = [
      // The newest row (the token just issued) given to the administrator, to another family, to another client.
      `UPDATE refresh_tokens SET object_id = '${server.bootstrap.objectId}' WHERE rowid = (SELECT MAX(rowid) FROM refresh_tokens)`,
      `UPDATE refresh_tokens SET family_id = '${'0'.repeat(32)}' WHERE rowid = (SELECT MAX(rowid) FROM refresh_tokens)`,
      `UPDATE refresh_tokens SET client_id = '1950a258-227b-4e31-a9cf-717495945fc2' WHERE rowid = (SELECT MAX(rowid) FROM refresh_tokens)`,
    ];
    for (const edit of edits) {
      const fresh = await signIn();
      const db = new Database(join(server.dataDir, 'coffer.db'));
      try {
        db.prepare(edit).run();
      } finally {
        db.close();
      }
      const client = edit.includes('client_id') ? '1950a258-227b-4e31-a9cf-717495945fc2' : cliClient;
      const res = await form({ grant_type: 'refresh_token', client_id: client, refresh_token: fresh });
      assert.deepEqual([res.status, ((await res.json()) as { error_codes: number[] }).error_codes], [400, [9002313]], edit);
    }
    // Untouched, the same kind of token works; one naming someone else is unknown; so is a token of the old format.
    assert.equal((await refresh(await signIn())).status, 200);
    const forged = token.replace(alice, server.bootstrap.objectId);
    assert.equal((await refresh(forged)).status, 400);
    assert.equal((await refresh(randomBytes(32).toString('base64url'))).status, 400);
  });
});
