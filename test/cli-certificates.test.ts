import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { api, newServicePrincipal, type Principal } from './support/access-kit.js';
import { azRegistered } from './support/az-cli.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate, type TestCertificate } from './support/test-certificates.js';

// coffer login --service-principal -p cert.pem, as az 2.45's: a client
// assertion signed with the certificate's key, the file's path kept in the
// profile and used again when the tokens expire; its errors as az's.

describe('coffer login with a certificate', () => {
  let server: TestServer;
  let sp: Principal;
  let cert: TestCertificate;
  const keyCredential = (c: TestCertificate) => ({ type: 'AsymmetricX509Cert', usage: 'Verify', key: c.base64 });
  const loginArgs = (appId: string, pem: string) => ['login', '--service-principal', '-u', appId, '-p', pem, '--tenant', server.bootstrap.tenantId, '--allow-no-subscriptions'];

  before(async () => {
    server = await startTestServer();
    sp = await newServicePrincipal(server, 'cli-cert-login');
    cert = makeCertificate('cli-cert-login');
    const app = (await api(server, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`)).body!.value[0].id as string;
    assert.equal((await api(server, 'PATCH', `/v1.0/applications/${app}`, { keyCredentials: [keyCredential(cert)] })).status, 204);
  });
  after(() => server?.stop());

  it('signs in with the PEM file, keeps only its path in the 0600 profile, and signs in again with it when the tokens expire', async () => {
    const home = cliHome();
    const login = await coffer(home, [...loginArgs(sp.appId, cert.combinedPath), '--server', server.url, '-o', 'json']);
    assert.equal(login.code, 0, login.stderr);
    assert.deepEqual(login.json<Array<{ user: unknown }>>()[0]!.user, { name: sp.appId, type: 'servicePrincipal' });
    const file = join(home, 'profile.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /PRIVATE KEY|BEGIN CERTIFICATE/);
    const profile = JSON.parse(text) as { login: Record<string, unknown>; tokens: Record<string, { expiresOn: number }> };
    assert.deepEqual(profile.login, { type: 'servicePrincipal', clientId: sp.appId, certificatePath: cert.combinedPath });
    // Tokens expired: the session signs a new assertion from the file.
    for (const t of Object.values(profile.tokens)) t.expiresOn = 0;
    writeFileSync(file, JSON.stringify(profile));
    const token = await coffer(home, ['account', 'get-access-token', '--query', 'accessToken', '-o', 'tsv']);
    assert.equal(token.code, 0, token.stderr);
    assert.equal(decodeJwt(token.stdout.trim()).appid, sp.appId);
    assert.equal(decodeJwt(token.stdout.trim()).oid, sp.id);
    assert.ok(Object.values((JSON.parse(readFileSync(file, 'utf8')) as typeof profile).tokens).some((t) => t.expiresOn > Date.now() / 1000));
    // A Graph token by certificate is taken (403, not 401): an app-only caller without Graph permissions lists nothing, as az shows.
    const shown = await coffer(home, ['ad', 'sp', 'show', '--id', sp.appId, '--query', 'id', '-o', 'tsv']);
    assert.equal(shown.code, 1, shown.stderr);
    assert.match(shown.stderr, /Insufficient privileges to complete the operation/);
  });

  it('--use-cert-sn-issuer: the sign-in (assertion with x5c) is taken, and the profile remembers the flag for later sign-ins', async () => {
    const home = cliHome();
    const login = await coffer(home, [...loginArgs(sp.appId, cert.combinedPath), '--use-cert-sn-issuer', '--server', server.url, '-o', 'none']);
    assert.equal(login.code, 0, login.stderr);
    const file = join(home, 'profile.json');
    const profile = JSON.parse(readFileSync(file, 'utf8')) as { login: Record<string, unknown>; tokens: Record<string, { expiresOn: number }> };
    assert.deepEqual(profile.login, { type: 'servicePrincipal', clientId: sp.appId, certificatePath: cert.combinedPath, useCertSnIssuer: true });
    for (const t of Object.values(profile.tokens)) t.expiresOn = 0;
    writeFileSync(file, JSON.stringify(profile));
    const token = await coffer(home, ['account', 'get-access-token', '--query', 'accessToken', '-o', 'tsv']);
    assert.equal(token.code, 0, token.stderr);
    assert.equal(decodeJwt(token.stdout.trim()).appid, sp.appId);
  });

  it('refusals as az 2.45 prints them: an unregistered certificate, a file with no certificate, --use-cert-sn-issuer without a service principal', async () => {
    const az = await azRegistered(server);
    const stranger = makeCertificate('cli-cert-stranger');
    const notPem = join(cliHome(), 'not.pem');
    writeFileSync(notPem, 'not a certificate\n');
    const firstLine = (s: string) => s.split('\n')[0]!.replace(/Trace ID: \S+|Correlation ID: \S+|Timestamp: .*/g, '');
    for (const args of [
      loginArgs(sp.appId, stranger.combinedPath),
      loginArgs(sp.appId, notPem),
      ['login', '-u', sp.appId, '-p', cert.combinedPath, '--use-cert-sn-issuer'],
    ]) {
      const ours = await coffer(cliHome(), [...args, '--server', server.url]);
      const theirs = await az([...args, '--only-show-errors']);
      assert.equal(ours.code, theirs.code, `${args.join(' ')}: ${ours.stderr} / ${theirs.stderr}`);
      assert.equal(firstLine(ours.stderr), firstLine(theirs.stderr), args.join(' '));
    }
  });
});
