import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { azRegistered, type AzResult } from './support/az-cli.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate } from './support/test-certificates.js';

// coffer ad sp create-for-rbac --create-cert | --cert, beside Debian's az
// 2.45 on the same server: the same output and warnings, the application
// made (or patched) with the certificate, and a sign-in with it.

interface Made {
  appId: string;
  displayName: string;
  password: string | null;
  tenant: string;
  fileWithCertAndPrivateKey?: string;
}

describe('coffer ad sp create-for-rbac with a certificate, as az 2.45', () => {
  let server: TestServer;
  let home: string;
  let userHome: string;
  let az: (args: string[]) => Promise<AzResult>;
  const { json, cli, signIn } = cliRunners(() => home);

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    userHome = cliHome();
    await signIn(server);
    az = await azRegistered(server, { ownHome: true });
    const b = server.bootstrap;
    assert.equal((await az(['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '-o', 'none', '--only-show-errors'])).code, 0);
  });
  after(() => server?.stop());

  it('--create-cert: the same output and warnings as az, the certificate registered, and coffer login signs in with the file', async () => {
    const c = await coffer(home, ['ad', 'sp', 'create-for-rbac', '--create-cert', '-n', 'rbac-cert-coffer'], { HOME: userHome });
    const a = await az(['ad', 'sp', 'create-for-rbac', '--create-cert', '-n', 'rbac-cert-az']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(a.code, 0, a.stderr);
    const ours = c.json<Made>();
    const theirs = JSON.parse(a.stdout) as Made;
    assert.deepEqual(Object.keys(ours), Object.keys(theirs));
    // The result's own order, which --query shows (-o json sorts the keys).
    const keys = ['--query', 'keys(@)', '-o', 'tsv'];
    const ck = await coffer(home, ['ad', 'sp', 'create-for-rbac', '--create-cert', '-n', 'rbac-keys-coffer', ...keys], { HOME: userHome });
    const ak = await az(['ad', 'sp', 'create-for-rbac', '--create-cert', '-n', 'rbac-keys-az', ...keys]);
    assert.equal(ck.stdout, ak.stdout);
    assert.equal(ck.stdout, 'appId\npassword\ndisplayName\ntenant\nfileWithCertAndPrivateKey\n');
    assert.equal(ours.password, null);
    assert.equal(ours.displayName, 'rbac-cert-coffer');
    assert.match(ours.fileWithCertAndPrivateKey!, new RegExp(`^${userHome}/tmp[a-z0-9_]{8}\\.pem$`));
    assert.equal(statSync(ours.fileWithCertAndPrivateKey!).mode & 0o777, 0o600);
    // az's warnings, its command name aside.
    const generic = (stderr: string, file: string) => stderr.replace(file, 'FILE').replace("'az login'", "'coffer login'");
    assert.equal(generic(c.stderr, ours.fileWithCertAndPrivateKey!), generic(a.stderr, theirs.fileWithCertAndPrivateKey!));
    const strip = (k: Record<string, unknown>) => ({ ...k, keyId: 0, customKeyIdentifier: 0, startDateTime: 0, endDateTime: 0 });
    const [mine] = await json<Array<Record<string, unknown>>>('ad', 'sp', 'credential', 'list', '--id', ours.appId, '--cert');
    const [azs] = await json<Array<Record<string, unknown>>>('ad', 'sp', 'credential', 'list', '--id', theirs.appId, '--cert');
    assert.deepEqual(strip(mine!), strip(azs!));
    assert.equal(mine!.displayName, 'CN=CLI-Login');
    assert.deepEqual(await json('ad', 'sp', 'credential', 'list', '--id', ours.appId), []);
    const login = await coffer(cliHome(), ['login', '--service-principal', '-u', ours.appId, '-p', ours.fileWithCertAndPrivateKey!, '--tenant', server.bootstrap.tenantId, '--server', server.url, '--allow-no-subscriptions', '-o', 'none']);
    assert.equal(login.code, 0, login.stderr);
  });

  it('--cert @file -n an existing principal: its client secret goes, the certificate is its only credential; --keyvault refused', async () => {
    const made = await json<Made>('ad', 'sp', 'create-for-rbac', '-n', 'rbac-cert-existing', '--only-show-errors');
    assert.equal((await json<unknown[]>('ad', 'sp', 'credential', 'list', '--id', made.appId)).length, 1);
    const cert = makeCertificate('rbac-existing');
    const r = await coffer(home, ['ad', 'sp', 'create-for-rbac', '--cert', `@${cert.certPath}`, '-n', 'rbac-cert-existing']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json(), { appId: made.appId, displayName: 'rbac-cert-existing', password: null, tenant: server.bootstrap.tenantId });
    // az's warnings in az's order: the dates fitted to the certificate, the application patched, the credential printed.
    const azMade = JSON.parse((await az(['ad', 'sp', 'create-for-rbac', '-n', 'rbac-cert-existing-az', '--only-show-errors'])).stdout) as Made;
    const a = await az(['ad', 'sp', 'create-for-rbac', '--cert', `@${cert.certPath}`, '-n', 'rbac-cert-existing-az']);
    assert.equal(a.code, 0, a.stderr);
    const ids = (t: string) => t.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'ID');
    assert.equal(ids(r.stderr), ids(a.stderr));
    assert.match(r.stderr, /^WARNING: Certificate expires .* Adjusting key credential end date to match\.\nWARNING: Found an existing application instance: \(id\) [0-9a-f-]{36}\. We will patch it\.\nWARNING: The output includes credentials/);
    assert.deepEqual(await json('ad', 'sp', 'credential', 'list', '--id', azMade.appId), []);
    assert.deepEqual(await json('ad', 'sp', 'credential', 'list', '--id', made.appId), []);
    const keys = await json<Array<{ customKeyIdentifier: string }>>('ad', 'sp', 'credential', 'list', '--id', made.appId, '--cert');
    assert.deepEqual(keys.map((k) => k.customKeyIdentifier), [cert.sha1Hex]);
    const login = await coffer(cliHome(), ['login', '--service-principal', '-u', made.appId, '-p', cert.combinedPath, '--tenant', server.bootstrap.tenantId, '--server', server.url, '--allow-no-subscriptions', '-o', 'none']);
    assert.equal(login.code, 0, login.stderr);

    const kv = await coffer(home, ['ad', 'sp', 'create-for-rbac', '--create-cert', '--keyvault', 'v1', '--cert', 'c1', '-n', 'rbac-kv']);
    assert.equal(kv.code, 1);
    assert.match(kv.stderr, /^ERROR: coffer's vaults hold secrets only, not certificates: --keyvault is not supported\./);
    assert.equal((await json<unknown[]>('ad', 'sp', 'list', '--display-name', 'rbac-kv')).length, 0);
    await cli('ad', 'sp', 'list', '-o', 'none');
  });
});
