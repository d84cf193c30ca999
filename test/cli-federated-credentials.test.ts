import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { newServicePrincipal } from './support/access-kit.js';
import { azSignedIn, type AzResult } from './support/az-cli.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startOidcIssuer, type TestIssuer } from './support/oidc-issuer.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// coffer ad app federated-credential create | list | show | update | delete,
// run beside Debian's az 2.45 on the same server: the same command lines
// print the same JSON, or fail with the same message and exit code.

describe('coffer ad app federated-credential, as az 2.45', () => {
  let server: TestServer;
  let issuer: TestIssuer;
  let home: string;
  let az: (args: string[]) => Promise<AzResult>;
  const { signIn } = cliRunners(() => home);
  const dir = mkdtempSync(join(tmpdir(), 'coffer-cli-fic-'));
  const file = (name: string, body: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(body));
    return f;
  };
  /** A credential as listed, its id left out (each application's own). */
  const shape = (v: Record<string, unknown>) => ({ ...v, id: typeof v.id });

  before(async () => {
    issuer = await startOidcIssuer();
    server = await startTestServer({ env: { COFFER_FEDERATION_CA_FILE: issuer.caFile } });
    home = cliHome();
    await signIn(server);
    az = await azSignedIn(server);
  });
  after(async () => {
    await server?.stop();
    await issuer?.stop();
  });

  it('create (file and inline JSON), list, show, update, delete print what az prints', async () => {
    const [ours, theirs] = [await newServicePrincipal(server, 'cli-fic-coffer'), await newServicePrincipal(server, 'cli-fic-az')];
    const body = { name: 'github-main', issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:octo/app:ref:refs/heads/main', description: 'main', audiences: ['api://AzureADTokenExchange'] };
    const fic = (appId: string, ...args: string[]) => ['ad', 'app', 'federated-credential', ...args.slice(0, 1), '--id', appId, ...args.slice(1)];
    const run = async (...args: string[]) => {
      const [c, a] = [await coffer(home, fic(ours.appId, ...args)), await az(fic(theirs.appId, ...args))];
      assert.equal(c.code, a.code, `${args.join(' ')}: coffer ${c.stderr} / az ${a.stderr}`);
      return [c, a] as const;
    };
    const sameJson = async (...args: string[]) => {
      const [c, a] = await run(...args);
      assert.equal(c.code, 0, c.stderr);
      const [cj, aj] = [JSON.parse(c.stdout), JSON.parse(a.stdout)];
      const norm = (v: unknown) => (Array.isArray(v) ? v.map((x) => shape(x as Record<string, unknown>)) : shape(v as Record<string, unknown>));
      assert.deepEqual(norm(cj), norm(aj));
      return cj;
    };
    await sameJson('create', '--parameters', file('create.json', body));
    await sameJson('create', '--parameters', JSON.stringify({ ...body, name: 'inline', subject: 'repo:octo/app:pull_request' }));
    await sameJson('list');
    await sameJson('show', '--federated-credential-id', 'github-main');
    const [cu, au] = await run('update', '--federated-credential-id', 'github-main', '--parameters', '{"description": "changed"}');
    assert.deepEqual([cu.stdout, cu.stderr], [au.stdout, au.stderr]);
    assert.equal((await sameJson('show', '--federated-credential-id', 'github-main')).description, 'changed');
    // Graph's refusals, printed as az prints them.
    for (const args of [
      ['create', '--parameters', JSON.stringify({ ...body, name: 'x y' })],
      ['create', '--parameters', JSON.stringify(body)],
      ['update', '--federated-credential-id', 'github-main', '--parameters', '{"name": "renamed"}'],
      ['show', '--federated-credential-id', 'nope'],
    ]) {
      const [c, a] = await run(...args);
      assert.notEqual(c.code, 0);
      assert.equal(c.stderr, a.stderr, args.join(' '));
    }
    const [cd, ad] = await run('delete', '--federated-credential-id', 'github-main');
    assert.deepEqual([cd.code, cd.stdout], [ad.code, ad.stdout]);
    assert.equal((await sameJson('list')).length, 1);
  });

  it('coffer login --service-principal --federated-token signs in with the token, kept for later commands, as az login does', async () => {
    const sp = await newServicePrincipal(server, 'cli-fic-login');
    const subject = 'repo:octo/app:ref:refs/heads/main';
    const created = await coffer(home, ['ad', 'app', 'federated-credential', 'create', '--id', sp.appId, '--parameters', JSON.stringify({ name: 'ci-main', issuer: issuer.issuer, subject, audiences: ['api://AzureADTokenExchange'] }), '-o', 'none']);
    assert.equal(created.code, 0, created.stderr);
    const ciHome = cliHome();
    const jwt = await issuer.sign({ sub: subject, aud: 'api://AzureADTokenExchange' });
    const login = await coffer(ciHome, ['login', '--service-principal', '-u', sp.appId, '--federated-token', jwt, '--tenant', server.bootstrap.tenantId, '--server', server.url, '--ca-file', server.bootstrap.caCertFile, '--allow-no-subscriptions', '-o', 'none']);
    assert.equal(login.code, 0, login.stderr);
    // Another resource's token: a new token request, with the kept assertion.
    const token = await coffer(ciHome, ['account', 'get-access-token', '--resource', 'https://management.azure.com', '--query', 'accessToken', '-o', 'tsv']);
    assert.equal(token.code, 0, token.stderr);
    assert.equal(decodeJwt(token.stdout.trim()).oid, sp.id);
    const wrong = await coffer(cliHome(), ['login', '--service-principal', '-u', sp.appId, '--federated-token', await issuer.sign({ sub: 'repo:octo/other', aud: 'api://AzureADTokenExchange' }), '--tenant', server.bootstrap.tenantId, '--server', server.url, '--ca-file', server.bootstrap.caCertFile, '-o', 'none']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /AADSTS700213: No matching federated identity record found for presented assertion subject 'repo:octo\/other'/);
  });
});
