import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api } from './support/access-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { approveDeviceSignIn, deviceLoginForm } from './support/device-login.js';
import { BIN, startTestServer, type TestServer } from './support/server-fixture.js';

// People sign in: password login, silent refresh, and the device-code flow
// with the /devicelogin page.

describe('coffer login for people', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    const r = await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'sam@coffer.local', displayName: 'Sam', passwordProfile: { password: 'Sam password 123' } });
    assert.equal(r.status, 201);
  });
  after(() => server?.stop());

  it('a server it cannot reach or trust: the error says what usually fixes it', async () => {
    const args = ['login', '-u', 'sam@coffer.local', '-p', 'Sam password 123', '--tenant', server.bootstrap.tenantId];
    const closed = await coffer(cliHome(), [...args, '--server', 'https://localhost:1']);
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /^ERROR: cannot reach the coffer server \(connect ECONNREFUSED [^)]+\)\. Is it running\? Name it with --server URL \(or COFFER_SERVER\)/);
    const untrusted = await coffer(cliHome(), [...args, '--server', server.url], { NODE_EXTRA_CA_CERTS: '' });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /^ERROR: .*: the server's certificate is not trusted\. Give its CA with --ca-file \(or COFFER_CA_FILE\)/);
  });

  it('logs in with a user name and password, and refreshes tokens silently', async () => {
    const home = cliHome();
    const login = await coffer(home, ['login', '-u', 'sam@coffer.local', '-p', 'Sam password 123', '--tenant', server.bootstrap.tenantId, '--server', server.url]);
    // A user with no role sees no subscription, as in Azure.
    assert.equal(login.code, 1);
    assert.match(login.stderr, /No subscriptions found/);
    await api(server, 'PUT', `/subscriptions/${server.bootstrap.subscriptionId}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: `/subscriptions/${server.bootstrap.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`, principalId: (await api(server, 'GET', `/v1.0/users?$filter=${encodeURIComponent("userPrincipalName eq 'sam@coffer.local'")}`)).body!.value[0].id },
    });
    const ok = await coffer(home, ['login', '-u', 'sam@coffer.local', '-p', 'Sam password 123', '--tenant', server.bootstrap.tenantId, '--server', server.url]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.json<Array<{ user: { name: string; type: string } }>>()[0]!.user, { name: 'sam@coffer.local', type: 'user' });
    assert.doesNotMatch(readFileSync(join(home, 'profile.json'), 'utf8'), /Sam password/, 'the password is not kept');

    const file = join(home, 'profile.json');
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    const oldRefresh = profile.login.refreshToken;
    for (const t of Object.values(profile.tokens) as Array<{ expiresOn: number }>) t.expiresOn = 0;
    writeFileSync(file, JSON.stringify(profile));
    const show = await coffer(home, ['account', 'show', '--query', 'user.name', '-o', 'tsv']);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout.trim(), 'sam@coffer.local');
    assert.notEqual(JSON.parse(readFileSync(file, 'utf8')).login.refreshToken, oldRefresh, 'the refresh token rotated');

    // Signing in again needs no --server: as az, the last login's (and its CA file).
    const again = await coffer(home, ['login', '-u', 'sam@coffer.local', '-p', 'Sam password 123'], { COFFER_SERVER: '' });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).server, server.url);

    // az's global --subscription: the login's, by id or name; any other is not found.
    for (const sub of [server.bootstrap.subscriptionId, server.bootstrap.subscriptionId.toUpperCase()]) {
      const listed = await coffer(home, ['group', 'list', '--subscription', sub, '-o', 'json']);
      assert.equal(listed.code, 0, listed.stderr);
    }
    const name = (await coffer(home, ['account', 'show', '--query', 'name', '-o', 'tsv'])).stdout.trim();
    assert.equal((await coffer(home, ['keyvault', 'list', '--subscription', name])).code, 0);
    const other = await coffer(home, ['group', 'list', '--subscription', 'not-this-one']);
    assert.equal(other.code, 1);
    assert.equal(other.stderr, "WARNING: Subscription 'not-this-one' not recognized.\nERROR: Subscription 'not-this-one' not found. Check the spelling and casing and try again.\n");

    // az's ad signed-in-user show (Graph's /me), then account clear: twice is no error, and the login is gone.
    assert.equal((await coffer(home, ['ad', 'signed-in-user', 'show', '--query', 'userPrincipalName', '-o', 'tsv'])).stdout.trim(), 'sam@coffer.local');
    assert.equal((await coffer(home, ['account', 'clear'])).code, 0);
    assert.equal((await coffer(home, ['account', 'clear'])).code, 0);
    const cleared = await coffer(home, ['account', 'show']);
    assert.equal(cleared.code, 1);
    assert.match(cleared.stderr, /Please run 'coffer login'/);
  });

  it("an administrator's password reset (ad user update --password) ends the user's sessions: the CLI must sign in again, with the new password", async () => {
    const admin = cliHome();
    const b = server.bootstrap;
    assert.equal((await coffer(admin, ['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '--server', server.url, '-o', 'none'])).code, 0);
    await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'rae@coffer.local', displayName: 'Rae', passwordProfile: { password: 'Rae password 1' } });
    const rae = (await api(server, 'GET', `/v1.0/users/rae@coffer.local`)).body!.id as string;
    await api(server, 'PUT', `/subscriptions/${b.subscriptionId}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, {
      properties: { roleDefinitionId: `/subscriptions/${b.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`, principalId: rae },
    });
    const home = cliHome();
    const login = (password: string) => coffer(home, ['login', '-u', 'rae@coffer.local', '-p', password, '--tenant', b.tenantId, '--server', server.url, '-o', 'none']);
    assert.equal((await login('Rae password 1')).code, 0);

    const reset = await coffer(admin, ['ad', 'user', 'update', '--id', 'rae@coffer.local', '--password', 'Rae password 2']);
    assert.deepEqual([reset.code, reset.stdout], [0, '']);
    // The next command needs a new token: the refresh token from before the reset is revoked.
    const file = join(home, 'profile.json');
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    for (const t of Object.values(profile.tokens) as Array<{ expiresOn: number }>) t.expiresOn = 0;
    writeFileSync(file, JSON.stringify(profile));
    const after = await coffer(home, ['account', 'show']);
    assert.equal(after.code, 1);
    // As az: the refusal's description (no error code), then the recommendation to sign in again.
    assert.match(after.stderr, /^ERROR: AADSTS\d+: [^]*\nInteractive authentication is needed\. Please run:\ncoffer login\n$/);
    assert.equal((await login('Rae password 1')).code, 1, 'the old password is refused');
    assert.equal((await login('Rae password 2')).code, 0);

    const forced = await coffer(admin, ['ad', 'user', 'update', '--id', rae, '--password', 'Rae password 3', '--force-change-password-next-sign-in']);
    assert.equal(forced.code, 1);
    assert.match(forced.stderr, /forceChangePasswordNextSignIn is not supported/);
    // az's other arguments are taken and sent, as az sends them; the directory refuses them (az's own output against coffer).
    const renamed = await coffer(admin, ['ad', 'user', 'update', '--id', rae, '--display-name', 'Y', '--account-enabled', 'false']);
    assert.equal(renamed.code, 1);
    assert.equal(renamed.stderr, 'ERROR: coffer changes only passwordProfile of a user, not displayName, accountEnabled.\n');
    const short = await coffer(admin, ['ad', 'user', 'update', '--id', rae, '--password', 'short']);
    assert.equal(short.code, 1);
    assert.equal((await coffer(admin, ['ad', 'user', 'show', '--id', rae, '--query', 'userPrincipalName', '-o', 'tsv'])).stdout, 'rae@coffer.local\n');
    await coffer(admin, ['ad', 'user', 'delete', '--id', 'rae@coffer.local']);
    const gone = await coffer(admin, ['ad', 'user', 'show', '--id', 'rae@coffer.local']);
    assert.equal(gone.code, 3, 'show of a missing user exits 3, as az');
  });

  it('asks for the password on a terminal, without echoing it, as az does; refuses to ask without one', async () => {
    const home = cliHome();
    const args = ['login', '-u', 'sam@coffer.local', '--tenant', server.bootstrap.tenantId, '--server', server.url, '--query', '[0].user.name', '-o', 'tsv'];
    // A pseudo-terminal from util-linux's script(1); the password is typed once the prompt shows.
    const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' '), '/dev/null'], { env: { ...process.env, COFFER_HOME: home } });
    let seen = '';
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('Password: ') && !child.stdin.writableEnded) child.stdin.end('Sam password 123\r');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, seen);
    assert.match(seen, /sam@coffer\.local/);
    assert.doesNotMatch(seen, /Sam password/, 'what is typed is not shown');

    const noTty = await coffer(cliHome(), ['login', '-u', 'sam@coffer.local', '--server', server.url]);
    assert.deepEqual([noTty.code, noTty.stderr], [1, 'ERROR: Please specify both username and password in non-interactive mode.\n']);
    const noUser = await coffer(cliHome(), ['login', '--service-principal', '-p', 'x', '--server', server.url]);
    assert.deepEqual([noUser.code, noUser.stderr], [1, 'ERROR: usage error: --service-principal --username NAME --password SECRET --tenant TENANT\n']);
    const both = await coffer(cliHome(), ['login', '--use-device-code', '-u', 'sam@coffer.local', '--server', server.url]);
    assert.deepEqual([both.code, both.stderr], [1, "ERROR: usage error: '--use-device-code' is not applicable with other arguments\n"]);
  });

  // Without a user name az signs in interactively, with a device code where no browser opens; coffer always so.
  for (const flags of [['--use-device-code'], []]) it(`signs in with a device code entered on /devicelogin (login ${flags.join(' ') || 'without a user name'})`, async () => {
    const home = cliHome();
    const child = spawn(process.execPath, [BIN, 'login', ...flags, '--tenant', server.bootstrap.tenantId, '--server', server.url], { env: { ...process.env, COFFER_HOME: home } });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /enter the code ([A-Z]{9})/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`login exited early: ${stderr}`)));
    });
    assert.match(stderr, new RegExp(`${server.url}/devicelogin`));
    const page = await fetch(`${server.url}/devicelogin`);
    assert.match(await page.text(), /<label for="code">Code<\/label>/);
    const post = deviceLoginForm(server.url);
    assert.equal((await post({ code, username: 'sam@coffer.local', password: 'nope nope' })).status, 401);
    const right = await approveDeviceSignIn(post, code, 'sam@coffer.local', 'Sam password 123');
    assert.equal(right.status, 200);
    assert.match(right.text, /you have signed in to coffer CLI/);
    const exitCode = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(exitCode, 0, stderr);
    assert.equal(JSON.parse(stdout)[0].user.name, 'sam@coffer.local');
  });
});
