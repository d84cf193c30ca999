import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { newServicePrincipal, type Principal } from './support/access-kit.js';
import { azRegistered, azSignedIn, type AzResult } from './support/az-cli.js';
import { startOidcIssuer, type TestIssuer } from './support/oidc-issuer.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Debian's az 2.45, unchanged: `az ad app federated-credential create, list,
// show, update, delete` through coffer's Graph, and `az login
// --service-principal --federated-token` (MSAL Python's client assertion)
// with a token of a local OIDC issuer standing in for GitHub Actions.

const SUBJECT = 'repo:octo/app:environment:prod';

describe('Debian az: federated credentials', () => {
  let server: TestServer;
  let issuer: TestIssuer;
  let admin: (args: string[]) => Promise<AzResult>;
  let sp: Principal;
  const dir = mkdtempSync(join(tmpdir(), 'coffer-az-fic-'));
  const ok = (r: AzResult, what: string) => {
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const paramsFile = (name: string, body: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(body));
    return `@${file}`;
  };

  before(async () => {
    issuer = await startOidcIssuer();
    server = await startTestServer({ env: { COFFER_FEDERATION_CA_FILE: issuer.caFile } });
    admin = await azSignedIn(server);
    sp = await newServicePrincipal(server, 'az-fic-app');
  });
  after(async () => {
    await server?.stop();
    await issuer?.stop();
  });

  it('create, list, show by name and by id, update, delete', async () => {
    const body = { name: 'github-prod', issuer: issuer.issuer, subject: SUBJECT, description: 'prod deploys', audiences: ['api://AzureADTokenExchange'] };
    const created = JSON.parse(ok(await admin(['ad', 'app', 'federated-credential', 'create', '--id', sp.appId, '--parameters', paramsFile('create.json', body)]), 'create')) as Record<string, unknown>;
    assert.equal(created.name, 'github-prod');
    assert.equal(created.subject, SUBJECT);
    assert.deepEqual(created.audiences, ['api://AzureADTokenExchange']);
    const listed = JSON.parse(ok(await admin(['ad', 'app', 'federated-credential', 'list', '--id', sp.appId]), 'list')) as Array<Record<string, unknown>>;
    assert.deepEqual(listed, [created]);
    assert.deepEqual(JSON.parse(ok(await admin(['ad', 'app', 'federated-credential', 'show', '--id', sp.appId, '--federated-credential-id', 'github-prod']), 'show by name')), created);
    assert.deepEqual(JSON.parse(ok(await admin(['ad', 'app', 'federated-credential', 'show', '--id', sp.appId, '--federated-credential-id', String(created.id)]), 'show by id')), created);
    ok(await admin(['ad', 'app', 'federated-credential', 'update', '--id', sp.appId, '--federated-credential-id', 'github-prod', '--parameters', paramsFile('update.json', { description: 'changed' }), '-o', 'none']), 'update');
    assert.equal(ok(await admin(['ad', 'app', 'federated-credential', 'show', '--id', sp.appId, '--federated-credential-id', 'github-prod', '--query', 'description', '-o', 'tsv']), 'show'), 'changed');
    ok(await admin(['ad', 'app', 'federated-credential', 'delete', '--id', sp.appId, '--federated-credential-id', 'github-prod']), 'delete');
    assert.equal(ok(await admin(['ad', 'app', 'federated-credential', 'list', '--id', sp.appId, '--query', 'length(@)']), 'list'), '0');
    const missing = await admin(['ad', 'app', 'federated-credential', 'show', '--id', sp.appId, '--federated-credential-id', 'github-prod']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
  });

  it('az login --service-principal --federated-token signs in as the application; a token that matches no record is refused', async () => {
    ok(await admin(['ad', 'app', 'federated-credential', 'create', '--id', sp.appId, '--parameters', paramsFile('login.json', { name: 'login', issuer: issuer.issuer, subject: SUBJECT, audiences: ['api://AzureADTokenExchange'] }), '-o', 'none']), 'create');
    const az = await azRegistered(server);
    const jwt = await issuer.sign({ sub: SUBJECT, aud: 'api://AzureADTokenExchange' });
    ok(await az(['login', '--service-principal', '-u', sp.appId, '--federated-token', jwt, '--tenant', server.bootstrap.tenantId, '--allow-no-subscriptions', '-o', 'none', '--only-show-errors']), 'az login --federated-token');
    const token = ok(await az(['account', 'get-access-token', '--query', 'accessToken', '-o', 'tsv']), 'get-access-token');
    assert.equal(decodeJwt(token).oid, sp.id);

    const other = await azRegistered(server);
    const wrong = await other(['login', '--service-principal', '-u', sp.appId, '--federated-token', await issuer.sign({ sub: 'repo:octo/app:ref:refs/heads/dev', aud: 'api://AzureADTokenExchange' }), '--tenant', server.bootstrap.tenantId, '--allow-no-subscriptions', '-o', 'none', '--only-show-errors']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /AADSTS700213: No matching federated identity record found for presented assertion subject 'repo:octo\/app:ref:refs\/heads\/dev'/);
  });
});
