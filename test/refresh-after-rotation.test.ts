import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api } from './support/access-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A master key rotation ends the refresh tokens issued before it (the
// credential pepper is renewed). Their holders are told that the rotation is
// why (AADSTS50173), the CLI included; a token the deployment never issued,
// or one already used, gets the generic answer as before (AADSTS9002313).

const PUBLIC_CLIENT = 'c0ffee00-0000-4000-8000-0000000000c2';
const UPN = 'rotated-out@coffer.local';
const PASSWORD = 'Rotated out password 1';
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const ROTATED = /^AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed\. The refresh token was issued before this deployment's keys were rotated \(coffer admin rotate-master-key\), so it is no longer valid: sign in again\.\r\nTrace ID/;
const GENERIC = /^AADSTS9002313: Invalid request\. Request is malformed or invalid\.\r\nTrace ID/;

describe('a refresh token issued before a master key rotation', () => {
  let server: TestServer;
  let objectId: string;
  const token = async (params: Record<string, string>) => {
    const res = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams({ scope: `${server.url}/.default offline_access`, ...params }) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const signIn = async () => (await token({ grant_type: 'password', client_id: PUBLIC_CLIENT, username: UPN, password: PASSWORD })).body.refresh_token as string;
  const refresh = (refreshToken: string, clientId = PUBLIC_CLIENT) => token({ grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken });
  /** Makes the CLI's cached access tokens stale, so that its next command refreshes. */
  const expireCachedTokens = (home: string) => {
    const file = join(home, 'profile.json');
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    for (const t of Object.values(profile.tokens) as Array<{ expiresOn: number }>) t.expiresOn = 0;
    writeFileSync(file, JSON.stringify(profile));
  };

  before(async () => {
    server = await startTestServer();
    assert.equal((await api(server, 'POST', '/v1.0/users', { userPrincipalName: UPN, displayName: 'Rotated out', passwordProfile: { password: PASSWORD } })).status, 201);
    objectId = (await api(server, 'GET', `/v1.0/users/${UPN}`)).body!.id as string;
    const b = server.bootstrap;
    const assigned = await api(server, 'PUT', `/subscriptions/${b.subscriptionId}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: `/subscriptions/${b.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${READER}`, principalId: objectId },
    });
    assert.equal(assigned.status, 201);
  });
  after(() => server?.stop());

  it('is refused as revoked by the rotation, to the CLI and on the wire; unknown and used tokens get the generic answer', async () => {
    const home = cliHome();
    const login = await coffer(home, ['login', '-u', UPN, '-p', PASSWORD, '--tenant', server.bootstrap.tenantId, '--server', server.url, '-o', 'none']);
    assert.equal(login.code, 0, login.stderr);
    const unused = await signIn();
    const used = await signIn();
    assert.equal((await refresh(used)).status, 200);

    const rotated = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(rotated.code, 0, rotated.stderr);

    // The CLI, as az: the description, then the recommendation. Twice: telling does not use the token up.
    expireCachedTokens(home);
    for (let i = 0; i < 2; i++) {
      const r = await coffer(home, ['account', 'get-access-token', '-o', 'none']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^ERROR: AADSTS50173: [^\n]*issued before this deployment's keys were rotated[^]*\nInteractive authentication is needed\. Please run:\ncoffer login\n$/);
    }

    const told = await refresh(unused);
    assert.equal(told.status, 400);
    assert.equal(told.body.error, 'invalid_grant');
    assert.deepEqual(told.body.error_codes, [50173]);
    assert.match(told.body.error_description, ROTATED);

    // Nothing to tell: a token already used before the rotation, one presented by another client, one never issued.
    const forged = `rt1.${objectId}.${randomBytes(16).toString('hex')}.${randomBytes(32).toString('base64url')}`;
    for (const [t, client] of [[used, PUBLIC_CLIENT], [unused, 'c0ffee00-0000-4000-8000-0000000000c1'], [forged, PUBLIC_CLIENT], ['not a token', PUBLIC_CLIENT]] as const) {
      const r = await refresh(t, client);
      assert.equal(r.status, 400);
      assert.deepEqual([r.body.error, r.body.error_codes], ['invalid_grant', [9002313]], t);
      assert.match(r.body.error_description, GENERIC);
    }

    // Signing in again works, and so does the next command.
    const again = await coffer(home, ['login', '-u', UPN, '-p', PASSWORD, '--tenant', server.bootstrap.tenantId, '--server', server.url, '-o', 'none']);
    assert.equal(again.code, 0, again.stderr);
    expireCachedTokens(home);
    assert.equal((await coffer(home, ['account', 'get-access-token', '-o', 'none'])).code, 0);
  });
});
