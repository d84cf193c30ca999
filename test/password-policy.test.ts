import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEV_IDS } from '../src/identity/identity-types.js';
import { meetsComplexity } from '../src/identity/password-policy.js';
import { api } from './support/access-kit.js';
import { azSignedIn, type AzResult } from './support/az-cli.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Entra ID's password policy, wherever a user's password is set: 8 to 256
// characters of ASCII, three of lowercase, uppercase, digits and symbols.

const TOO_WEAK = 'The specified password does not comply with password complexity requirements. Please provide a different password.';

/** Each refused for one reason; each good one has exactly three kinds (or the boundary length). */
const WEAK = [
  'alllowercaseletters',
  'lowercase and spaces',
  'lowercase1234567',
  'UPPERCASE-ONLY!',
  'Aa1!Aa1', // four kinds, 7 characters
  'Upper lower ünïcode 1',
  'Passwort\u00a0mit1', // a no-break space is not the blank space
];
const GOOD = ['Aa1!Aa1!', 'lower UPPER 123', 'lower-upper-SYMBOL', 'lower-1234-digits', 'UPPER-1234-DIGITS', `Aa1${'x'.repeat(253)}`];

describe('user password policy', () => {
  it('is the policy Entra ID documents, the blank space allowed but not a kind of its own', () => {
    for (const password of WEAK) assert.equal(meetsComplexity(password), false, password);
    for (const password of GOOD) assert.equal(meetsComplexity(password), true, password);
    assert.equal(meetsComplexity('lowercase with UPPER'), false, 'two kinds and blank spaces');
    assert.equal(meetsComplexity(DEV_IDS.userPassword), true, 'the --dev password the README publishes meets it');
  });

  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  const signIn = (username: string, password: string) =>
    fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', username, password, scope: `${server.url}/.default` }),
    });

  it("Graph's user creation refuses a weak password with Graph's error and creates nobody", async () => {
    for (const [i, password] of WEAK.entries()) {
      const upn = `weak-${i}@coffer.local`;
      const r = await api(server, 'POST', '/v1.0/users', { userPrincipalName: upn, displayName: 'Weak', passwordProfile: { password } });
      assert.equal(r.status, 400, password);
      assert.deepEqual([r.body!.error.code, r.body!.error.message], ['Request_BadRequest', TOO_WEAK], password);
      assert.equal((await api(server, 'GET', `/v1.0/users/${upn}`)).status, 404);
    }
    const long = await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'long@coffer.local', passwordProfile: { password: `Aa1${'x'.repeat(254)}` } });
    assert.equal(long.status, 400);
    assert.match(long.body!.error.message, /at most 256 characters/);
    for (const [i, password] of GOOD.entries()) {
      const upn = `good-${i}@coffer.local`;
      assert.equal((await api(server, 'POST', '/v1.0/users', { userPrincipalName: upn, passwordProfile: { password } })).status, 201, password);
      assert.equal((await signIn(upn, password)).status, 200);
    }
  });

  it("an administrator's reset (PATCH passwordProfile) refuses a weak password and keeps the one the user has", async () => {
    assert.equal((await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'kept@coffer.local', passwordProfile: { password: 'Kept password 1' } })).status, 201);
    const weak = await api(server, 'PATCH', '/v1.0/users/kept@coffer.local', { passwordProfile: { password: 'kept password 2' } });
    assert.deepEqual([weak.status, weak.body!.error.code, weak.body!.error.message], [400, 'Request_BadRequest', TOO_WEAK]);
    assert.equal((await signIn('kept@coffer.local', 'Kept password 1')).status, 200);
    assert.equal((await signIn('kept@coffer.local', 'kept password 2')).status, 400);
  });

  it('az ad user create and coffer ad user create say the same about a weak password', async () => {
    const az = await azSignedIn(server);
    const home = cliHome();
    const b = server.bootstrap;
    assert.equal((await coffer(home, ['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '--server', server.url, '-o', 'none'])).code, 0);
    const args = ['ad', 'user', 'create', '--user-principal-name', 'cli-weak@coffer.local', '--display-name', 'Weak', '--password', 'only lowercase here'];
    const fromAz: AzResult = await az([...args, '--only-show-errors']);
    const ours = await coffer(home, args);
    assert.deepEqual({ code: ours.code, stdout: ours.stdout, stderr: ours.stderr }, { code: fromAz.code, stdout: fromAz.stdout, stderr: fromAz.stderr });
    assert.equal(ours.stderr, `ERROR: ${TOO_WEAK}\n`);
    const update = await coffer(home, ['ad', 'user', 'update', '--id', 'kept@coffer.local', '--password', 'KEPT PASSWORD']);
    assert.deepEqual([update.code, update.stderr], [1, `ERROR: ${TOO_WEAK}\n`]);
  });
});
