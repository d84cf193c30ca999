import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { newServicePrincipal } from './support/access-kit.js';
import { azRegistered, azSignedIn, type AzResult } from './support/az-cli.js';
import { cliHome, cliRunners, coffer, type CliResult } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate, type TestCertificate } from './support/test-certificates.js';

// coffer ad app|sp credential reset --cert | --create-cert, list --cert and
// delete --cert, run beside Debian's az 2.45 on the same server: the same
// command lines print the same JSON and warnings, send the same
// keyCredentials, and fail with the same errors.

type KeyCredential = Record<string, unknown> & { keyId: string };

describe('coffer credential commands with certificates, as az 2.45', () => {
  let server: TestServer;
  let home: string;
  let az: (args: string[]) => Promise<AzResult>;
  let cert: TestCertificate;
  const { json, cli, signIn } = cliRunners(() => home);
  const azJson = async <T>(args: string[]): Promise<T> => {
    const r = await az(args);
    assert.equal(r.code, 0, `az ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  /** What both print for one command line: exit code, stdout as JSON (or text), stderr. */
  async function both(args: string[]): Promise<[CliResult, AzResult]> {
    return [await coffer(home, args), await az(args)];
  }
  /** A listed keyCredential without what differs between two registrations of one certificate. */
  const shape = (k: KeyCredential) => ({ ...k, keyId: typeof k.keyId, startDateTime: typeof k.startDateTime, endDateTime: typeof k.endDateTime });

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    az = await azSignedIn(server);
    cert = makeCertificate('cli-cred-cert');
  });
  after(() => server?.stop());

  for (const kind of ['app', 'sp'] as const) {
    it(`ad ${kind} credential reset --cert @file, --append, list --cert and delete --cert print and store what az's do`, async () => {
      const ours = await newServicePrincipal(server, `cli-cred-${kind}-coffer`);
      const theirs = await newServicePrincipal(server, `cli-cred-${kind}-az`);
      const reset = (appId: string, ...extra: string[]) => ['ad', kind, 'credential', 'reset', '--id', appId, '--cert', `@${cert.certPath}`, ...extra];
      const [c, a] = [await coffer(home, reset(ours.appId)), await az(reset(theirs.appId))];
      assert.equal(c.code, 0, c.stderr);
      assert.equal(a.code, 0, a.stderr);
      assert.deepEqual(c.json(), { ...JSON.parse(a.stdout), appId: ours.appId });
      assert.deepEqual(c.json(), { appId: ours.appId, password: null, tenant: server.bootstrap.tenantId });
      // The certificate ends before a year is out: both fit the credential to it and say so, then az's credential warning.
      assert.equal(c.stderr, a.stderr);
      assert.match(c.stderr, /^WARNING: Certificate expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00\. Adjusting key credential end date to match\.\nWARNING: The output includes credentials/);
      // The client secret is gone (no --append), the certificate is there, as az left it.
      assert.deepEqual(await json('ad', kind, 'credential', 'list', '--id', ours.appId), []);
      const [mine] = await json<KeyCredential[]>('ad', kind, 'credential', 'list', '--id', ours.appId, '--cert');
      const [azs] = await azJson<KeyCredential[]>(['ad', kind, 'credential', 'list', '--id', theirs.appId, '--cert']);
      assert.deepEqual(shape(mine!), shape(azs!));
      assert.equal(mine!.endDateTime, azs!.endDateTime);
      assert.equal(mine!.customKeyIdentifier, cert.sha1Hex);
      // coffer lists az's object as az does.
      assert.deepEqual(await json('ad', kind, 'credential', 'list', '--id', theirs.appId, '--cert'), [azs]);

      const other = makeCertificate(`cli-cred-${kind}-other`);
      const appended = ['--cert', other.certPem, '--append', '--display-name', 'second', '--only-show-errors'];
      await cli(...reset(ours.appId).slice(0, 6), ...appended);
      await azJson([...reset(theirs.appId).slice(0, 6), ...appended]);
      const mineTwo = await json<KeyCredential[]>('ad', kind, 'credential', 'list', '--id', ours.appId, '--cert');
      const azsTwo = await azJson<KeyCredential[]>(['ad', kind, 'credential', 'list', '--id', theirs.appId, '--cert']);
      assert.deepEqual(mineTwo.map(shape), azsTwo.map(shape));
      assert.deepEqual(mineTwo.map((k) => k.displayName), ['CN=cli-cred-cert, O=coffer tests', 'second'].map((n) => azsTwo.find((k) => k.displayName === n)?.displayName));

      const del = (appId: string, keyId: string) => ['ad', kind, 'credential', 'delete', '--id', appId, '--key-id', keyId, '--cert'];
      const [d1, d2] = [await coffer(home, del(ours.appId, mine!.keyId)), await az(del(theirs.appId, azs!.keyId))];
      assert.equal(d1.code, 0, d1.stderr);
      assert.equal(d1.code, d2.code);
      assert.equal(d1.stdout, d2.stdout);
      assert.deepEqual((await json<KeyCredential[]>('ad', kind, 'credential', 'list', '--id', ours.appId, '--cert')).map((k) => k.displayName), ['second']);
      // A key id the object does not have: az's message, naming the object id.
      const missing = '00000000-0000-4000-8000-000000000000';
      const [m1, m2] = await both(['ad', kind, 'credential', 'delete', '--id', ours.appId, '--key-id', missing, '--cert']);
      assert.equal(m1.code, 1);
      assert.equal(m1.code, m2.code);
      assert.equal(m1.stderr, m2.stderr);
      assert.match(m1.stderr, new RegExp(`^ERROR: No key credential found with keyId as '${missing}' in graph object '[0-9a-f-]{36}'\\.\\n$`));
    });
  }

  it('credential reset --create-cert writes ~/tmpXXXXXXXX.pem (0600, key and certificate) and prints its path as az does; coffer login signs in with it', async () => {
    const sp = await newServicePrincipal(server, 'cli-cred-create');
    const userHome = cliHome();
    const r = await coffer(home, ['ad', 'app', 'credential', 'reset', '--id', sp.appId, '--create-cert'], { HOME: userHome });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json<{ appId: string; password: null; tenant: string; fileWithCertAndPrivateKey: string }>();
    assert.equal(out.appId, sp.appId);
    assert.equal(out.password, null);
    assert.match(out.fileWithCertAndPrivateKey, new RegExp(`^${userHome}/tmp[a-z0-9_]{8}\\.pem$`));
    assert.equal(statSync(out.fileWithCertAndPrivateKey).mode & 0o777, 0o600);
    assert.match(readFileSync(out.fileWithCertAndPrivateKey, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n[^]+-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\n[^]+-----END CERTIFICATE-----\n$/);
    // Only az's credential warning: the certificate spans the credential's dates.
    assert.match(r.stderr, /^WARNING: The output includes credentials that you must protect\./);
    const azHomeRun = await azRegistered(server, { ownHome: true });
    const b = server.bootstrap;
    assert.equal((await azHomeRun(['login', '--service-principal', '-u', b.clientId, '-p', b.clientSecret, '--tenant', b.tenantId, '-o', 'none', '--only-show-errors'])).code, 0);
    const theirs = await newServicePrincipal(server, 'cli-cred-create-az');
    const a = await azHomeRun(['ad', 'app', 'credential', 'reset', '--id', theirs.appId, '--create-cert']);
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(Object.keys(out).sort(), Object.keys(JSON.parse(a.stdout) as object).sort());
    const [mine] = await json<KeyCredential[]>('ad', 'app', 'credential', 'list', '--id', sp.appId, '--cert');
    const [azs] = await json<KeyCredential[]>('ad', 'app', 'credential', 'list', '--id', theirs.appId, '--cert');
    assert.deepEqual(shape({ ...mine!, customKeyIdentifier: 0 }), shape({ ...azs!, customKeyIdentifier: 0 }));
    assert.equal(mine!.displayName, 'CN=CLI-Login');
    // Signed in with the file it wrote.
    const signedIn = cliHome();
    const login = await coffer(signedIn, ['login', '--service-principal', '-u', sp.appId, '-p', out.fileWithCertAndPrivateKey, '--tenant', b.tenantId, '--server', server.url, '--allow-no-subscriptions', '-o', 'none']);
    assert.equal(login.code, 0, login.stderr);
  });

  it('usage errors as az prints them; --keyvault refused (coffer vaults hold no certificates)', async () => {
    const sp = await newServicePrincipal(server, 'cli-cred-usage');
    const reset = ['ad', 'sp', 'credential', 'reset', '--id', sp.appId];
    const seen: Array<{ args: string; coffer: [number, string]; az: [number, string] }> = [];
    for (const extra of [
      ['--cert', 'not a certificate'],
      ['--cert', `@${cert.certPath}`, '--create-cert'],
      ['--create-cert', '--years', '1', '--end-date', '2299-12-31'],
      ['--cert', cert.keyPem],
      ['--cert', 'abcd'],
      ['--cert', 'abcde'],
      ['--cert', 'ab-cd'],
      ['--cert', 'ab=cd'],
    ]) {
      const [c, a] = await both([...reset, ...extra]);
      seen.push({ args: extra.join(' ').slice(0, 40), coffer: [c.code, c.stderr], az: [a.code, a.stderr] });
    }
    for (const { args, coffer: c, az: a } of seen) {
      assert.deepEqual(c, a, args);
      assert.notEqual(c[0], 0, args);
    }
    // An application that does not exist: Graph's answer, as az prints it.
    for (const args of [['ad', 'app', 'credential', 'list', '--id', crypto.randomUUID(), '--cert'], ['ad', 'app', 'credential', 'reset', '--id', 'api://nowhere', '--cert', `@${cert.certPath}`]]) {
      const [c, a] = await both(args);
      seen.push({ args: args.join(' ').slice(0, 40), coffer: [c.code, c.stderr], az: [a.code, a.stderr] });
    }
    for (const { args, coffer: c, az: a } of seen.slice(-2)) assert.deepEqual(c, a, args);
    const kv = await coffer(home, [...reset, '--create-cert', '--keyvault', 'somevault', '--cert', 'name']);
    assert.equal(kv.code, 1);
    assert.match(kv.stderr, /^ERROR: coffer's vaults hold secrets only, not certificates: --keyvault is not supported\./);
    // Nothing was changed by the refusals: the principal still has its client secret.
    assert.equal((await json<unknown[]>('ad', 'sp', 'credential', 'list', '--id', sp.appId)).length, 1);
  });
});
