import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { newServicePrincipal, type Principal } from './support/access-kit.js';
import { azRegistered, azSignedIn, type AzResult } from './support/az-cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate, type TestCertificate } from './support/test-certificates.js';

// Debian's az 2.45, unchanged, registering certificate credentials through
// coffer's Graph (credential reset --cert, create-for-rbac --create-cert,
// credential list and delete --cert) and signing in with them
// (`az login --service-principal -p cert.pem`: MSAL Python's client assertion).

describe('Debian az: certificate credentials', () => {
  let server: TestServer;
  let admin: (args: string[]) => Promise<AzResult>;
  let sp: Principal;
  let cert: TestCertificate;
  const ok = (r: AzResult, what: string) => {
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    return r.stdout.trim();
  };
  /** A fresh az profile signed in as the application with its certificate. */
  async function signInWith(appId: string, pemPath: string) {
    const az = await azRegistered(server);
    const login = await az(['login', '--service-principal', '-u', appId, '-p', pemPath, '--tenant', server.bootstrap.tenantId, '--allow-no-subscriptions', '-o', 'none', '--only-show-errors']);
    return { az, login };
  }

  before(async () => {
    server = await startTestServer();
    admin = await azSignedIn(server);
    sp = await newServicePrincipal(server, 'az-cert-app');
    cert = makeCertificate('az-cert');
  });
  after(() => server?.stop());

  it('credential reset --cert @file, credential list --cert, then az login --service-principal with the PEM and a call that needs its token', async () => {
    ok(await admin(['ad', 'app', 'credential', 'reset', '--id', sp.appId, '--cert', `@${cert.certPath}`, '-o', 'none', '--only-show-errors']), 'credential reset --cert');
    const listed = JSON.parse(ok(await admin(['ad', 'app', 'credential', 'list', '--id', sp.appId, '--cert']), 'credential list --cert')) as Array<Record<string, unknown>>;
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.customKeyIdentifier, cert.sha1Hex);
    assert.equal(listed[0]!.key, null);
    assert.equal(listed[0]!.type, 'AsymmetricX509Cert');
    // Without --append, reset removed the client secret: the certificate is the application's only credential.
    assert.equal(ok(await admin(['ad', 'app', 'credential', 'list', '--id', sp.appId, '--query', 'length(@)']), 'credential list'), '0');

    const { az, login } = await signInWith(sp.appId, cert.combinedPath);
    ok(login, 'az login --service-principal -p cert.pem');
    const token = ok(await az(['account', 'get-access-token', '--query', 'accessToken', '-o', 'tsv']), 'get-access-token');
    assert.equal(decodeJwt(token).appid, sp.appId);
    assert.equal(decodeJwt(token).oid, sp.id);
    // A Graph token by certificate is taken (403, not 401): an app-only caller without Graph permissions lists nothing.
    const shown = await az(['ad', 'sp', 'show', '--id', sp.appId, '--query', 'id', '-o', 'tsv']);
    assert.equal(shown.code, 1, shown.stderr);
    assert.match(shown.stderr, /Insufficient privileges to complete the operation/);
  });

  it('credential delete --cert: the certificate signs in no more (AADSTS700027)', async () => {
    const [listed] = JSON.parse(ok(await admin(['ad', 'app', 'credential', 'list', '--id', sp.appId, '--cert']), 'list')) as Array<{ keyId: string }>;
    ok(await admin(['ad', 'app', 'credential', 'delete', '--id', sp.appId, '--key-id', listed!.keyId, '--cert', '--only-show-errors']), 'credential delete --cert');
    assert.equal(ok(await admin(['ad', 'app', 'credential', 'list', '--id', sp.appId, '--cert', '--query', 'length(@)']), 'list'), '0');
    const { login } = await signInWith(sp.appId, cert.combinedPath);
    assert.notEqual(login.code, 0);
    assert.match(login.stderr, /AADSTS700027: Client assertion contains an invalid signature\. \[Reason - The key was not found\./);
  });

  it('ad sp create-for-rbac --create-cert: the application is created with the certificate, and az signs in with the file it wrote', async () => {
    const creator = await azRegistered(server, { ownHome: true });
    const b = server.bootstrap;
    ok(await creator(['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '-o', 'none', '--only-show-errors']), 'login');
    const made = JSON.parse(ok(await creator(['ad', 'sp', 'create-for-rbac', '--create-cert', '-n', 'az-rbac-cert', '--only-show-errors']), 'create-for-rbac --create-cert')) as {
      appId: string;
      password: string | null;
      fileWithCertAndPrivateKey: string;
    };
    assert.equal(made.password, null);
    const [key] = JSON.parse(ok(await admin(['ad', 'sp', 'credential', 'list', '--id', made.appId, '--cert']), 'sp credential list --cert')) as Array<{ displayName: string }>;
    assert.equal(key!.displayName, 'CN=CLI-Login');
    const { az, login } = await signInWith(made.appId, made.fileWithCertAndPrivateKey);
    ok(login, 'az login with the created certificate');
    assert.equal(decodeJwt(ok(await az(['account', 'get-access-token', '--query', 'accessToken', '-o', 'tsv']), 'token')).appid, made.appId);
  });
});
