import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClientAssertionCredential, WorkloadIdentityCredential } from '@azure/identity';
import Database from 'better-sqlite3';
import { decodeJwt, importPKCS8, SignJWT } from 'jose';
import { adminToken, api, newServicePrincipal, setPolicy, type Principal } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { startOidcIssuer, type TestIssuer } from './support/oidc-issuer.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Workload identity federation at the token endpoint: a token of an external
// issuer (a local HTTPS OIDC issuer standing in for GitHub Actions or a
// Kubernetes cluster, which cannot run here), registered on an application as
// a federated identity credential, signs in as the application, through
// @azure/identity's ClientAssertionCredential and WorkloadIdentityCredential;
// and every way one is refused, with Entra ID's codes. The issuer's CA is
// trusted through COFFER_FEDERATION_CA_FILE only.

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SUBJECT = 'system:serviceaccount:apps:connector';

describe('federated identity credentials (token endpoint)', () => {
  let server: TestServer;
  let issuer: TestIssuer;
  let stranger: TestIssuer;
  let token: string;
  let tokenUrl: string;
  let sp: Principal;

  const graph = (method: string, path: string, body?: unknown) => api(server, method, path, body, token);
  const ficsOf = async (appId: string) => `/v1.0/applications/${(await graph('GET', `/v1.0/applications?$filter=appId eq '${appId}'`)).body!.value[0].id}/federatedIdentityCredentials`;
  const exchange = (jwt: string, clientId: string | null = sp.appId) =>
    fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...(clientId ? { client_id: clientId } : {}), scope: `${server.url}/.default`, client_assertion_type: JWT_BEARER, client_assertion: jwt }).toString(),
    });
  async function refused(res: Response, code: number, text: RegExp, status = 401, error = 'invalid_client') {
    const body = (await res.json()) as { error: string; error_description: string; error_codes: number[] };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(body.error, error);
    assert.deepEqual(body.error_codes, [code]);
    assert.match(body.error_description, new RegExp(`^AADSTS${code}: `));
    assert.match(body.error_description, text);
  }
  const good = (claims: Record<string, unknown> = {}, opts?: Parameters<TestIssuer['sign']>[1]) => issuer.sign({ sub: SUBJECT, aud: 'api://AzureADTokenExchange', ...claims }, opts);

  before(async () => {
    issuer = await startOidcIssuer({ path: '/oidc/cluster-1' });
    stranger = await startOidcIssuer();
    server = await startTestServer({ env: { COFFER_FEDERATION_CA_FILE: issuer.caFile } });
    token = await adminToken(server);
    tokenUrl = `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`;
    sp = await newServicePrincipal(server, 'federated-app');
    const r = await graph('POST', await ficsOf(sp.appId), { name: 'cluster-1', issuer: issuer.issuer, subject: SUBJECT, audiences: ['api://AzureADTokenExchange'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const vault = await createVault(server, 'fedvault');
    await secretClient(server, 'fedvault').setSecret('for-workloads', 'no stored credential');
    await setPolicy(server, vault.id!, 'add', sp.id, ['get']);
  });
  after(async () => {
    await server?.stop();
    await issuer?.stop();
    await stranger?.stop();
  });

  it("ClientAssertionCredential signs in with the issuer's token, as the application; a secret client reads with it", async () => {
    const cred = new ClientAssertionCredential(server.bootstrap.tenantId, sp.appId, () => good(), { authorityHost: server.url, disableInstanceDiscovery: true });
    const t = await cred.getToken(`${server.url}/.default`);
    assert.equal(decodeJwt(t.token).oid, sp.id);
    assert.equal(decodeJwt(t.token).appid, sp.appId);
    assert.equal((await secretClient(server, 'fedvault', cred).getSecret('for-workloads')).value, 'no stored credential');
    // ES256 too; the issuer's keys were fetched once, and kept.
    assert.equal((await exchange(await good({}, { alg: 'ES256' }))).status, 200);
    assert.equal(issuer.requests.filter((p) => p.endsWith('/.well-known/openid-configuration')).length, 1, issuer.requests.join(' '));
  });

  it('WorkloadIdentityCredential reads the token file the workload identity webhook mounts (AZURE_FEDERATED_TOKEN_FILE)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'coffer-wif-')), 'azure-identity-token');
    writeFileSync(file, await good());
    // What the webhook puts into a pod's environment.
    const env = { AZURE_FEDERATED_TOKEN_FILE: file, AZURE_CLIENT_ID: sp.appId, AZURE_TENANT_ID: server.bootstrap.tenantId, AZURE_AUTHORITY_HOST: server.url };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      const cred = new WorkloadIdentityCredential({ disableInstanceDiscovery: true });
      assert.equal((await secretClient(server, 'fedvault', cred).getSecret('for-workloads')).value, 'no stored credential');
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('a key the issuer published since is fetched again (a kid not known); an unpublished key is refused', async () => {
    const kid = await issuer.rotate();
    assert.equal((await exchange(await good({}, { kid }))).status, 200);
    // Another key id not known moments later: not fetched again (at most once a minute per issuer).
    const asked = issuer.requests.length;
    await refused(await exchange(await good({}, { unpublished: true })), 50013, /Assertion failed signature validation. \[Reason - The key was not found/);
    assert.equal(issuer.requests.length, asked);
  });

  it('refuses what does not match the record, with Entra ID codes: issuer, subject, audience, times, application', async () => {
    await refused(await exchange(await stranger.sign({ sub: SUBJECT, aud: 'api://AzureADTokenExchange' })), 700211, /presented assertion issuer 'https:\/\/localhost:\d+'/);
    await refused(await exchange(await good({ iss: `${issuer.issuer}/` })), 700211, /issuer/);
    await refused(await exchange(await good({ sub: SUBJECT.toUpperCase() })), 700213, /presented assertion subject 'SYSTEM:SERVICEACCOUNT:APPS:CONNECTOR'/);
    await refused(await exchange(await good({ aud: 'api://somewhere-else' })), 700212, /presented assertion audience 'api:\/\/somewhere-else'/);
    const now = Math.floor(Date.now() / 1000);
    await refused(await exchange(await good({ exp: now - 600, iat: now - 1200, nbf: now - 1200 })), 700024, /not within its valid time range/);
    await refused(await exchange(await good({ nbf: now + 900 })), 700024, /not within its valid time range/);
    await refused(await exchange(await good({ exp: now + 26 * 3600 })), 700024, /not within its valid time range/);
    await refused(await exchange(await good(), null), 900144, /'client_id'/, 400, 'invalid_request');
    const other = await newServicePrincipal(server, 'federated-none');
    await refused(await exchange(await good(), other.appId), 70021, /No matching federated identity record found for presented assertion\. Assertion Issuer: 'https:/);
    await refused(await exchange(await good(), '00000000-0000-4000-8000-00000000abcd'), 700016, /was not found in the directory/, 400, 'unauthorized_client');
  });

  it('refuses a forged signature, an HMAC or unsigned token, and coffer-issued tokens', async () => {
    const real = await good();
    const [h, p] = real.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(real), sub: SUBJECT })).toString('base64url')}.${real.split('.')[2]!.split('').reverse().join('')}`;
    await refused(await exchange(forged), 50013, /did not match the expected signature value/);
    const hmac = await new SignJWT({ iss: issuer.issuer, sub: SUBJECT, aud: 'api://AzureADTokenExchange', exp: Math.floor(Date.now() / 1000) + 60 }).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32));
    await refused(await exchange(hmac), 5002738, /'HS256' is not a supported signature algorithm/);
    await refused(await exchange(`${h}.${p}.`), 50013, /did not match the expected signature value/);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${p}.`;
    await refused(await exchange(none), 5002738, /'none' is not a supported signature algorithm/);
    // A token of coffer's own, whatever its signature: Entra ID refuses its own tokens in this flow.
    const own = await new SignJWT({ iss: `${server.url}/${server.bootstrap.tenantId}/v2.0`, sub: SUBJECT, aud: 'api://AzureADTokenExchange', exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(await importPKCS8((await import('./support/test-certificates.js')).makeCertificate('own').keyPem, 'RS256'));
    await refused(await exchange(own), 700222, /AAD-issued tokens may not be used for federated identity flows/);
  });

  it("an issuer whose discovery fails, is too large, names another issuer, points at plain HTTP, or whose TLS is not trusted: AADSTS50166, logged", async () => {
    const app = await newServicePrincipal(server, 'federated-broken');
    const path = await ficsOf(app.appId);
    const broken = [
      await startOidcIssuer({ caDir: issuer.caDir, mode: 'missing' }),
      await startOidcIssuer({ caDir: issuer.caDir, mode: 'huge' }),
      await startOidcIssuer({ caDir: issuer.caDir, mode: 'other-issuer' }),
      await startOidcIssuer({ caDir: issuer.caDir, mode: 'plain-jwks' }),
      stranger,
    ];
    try {
      for (const [i, b] of broken.entries()) {
        assert.equal((await graph('POST', path, { name: `broken-${i}`, issuer: b.issuer, subject: SUBJECT })).status, 201);
        const jwt = await b.sign({ sub: SUBJECT, aud: 'api://AzureADTokenExchange' });
        await refused(await exchange(jwt, app.appId), 50166, /Request to External OIDC endpoint failed/, 400, 'invalid_request');
        // Asked again at once: not fetched again (a failure holds for a minute).
        const asked = b.requests.length;
        await refused(await exchange(jwt, app.appId), 50166, /Request to External OIDC endpoint failed/, 400, 'invalid_request');
        assert.equal(b.requests.length, asked, `mode ${b.mode}`);
      }
      assert.equal(broken[3]!.requests.filter((r) => r === '/keys').length, 0, 'plain HTTP never asked');
      assert.match(server.logs(), /signing keys could not be fetched/);
    } finally {
      for (const b of broken.slice(0, 4)) await b.stop();
    }
  });

  it('an issuer no administrator registered is never contacted', async () => {
    const before = stranger.requests.length;
    await refused(await exchange(await stranger.sign({ sub: SUBJECT, aud: 'api://AzureADTokenExchange' })), 700211, /issuer/);
    assert.equal(stranger.requests.length, before);
  });

  it('a master key rotation seals every federated credential again under the renewed key: it still signs in, after a restart too', async () => {
    const macs = () => {
      const db = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
      try {
        return (db.prepare('SELECT mac FROM federated_credentials WHERE object_id = ?').all(sp.id) as Array<{ mac: string }>).map((r) => r.mac.split('.').slice(0, 2).join('.'));
      } finally {
        db.close();
      }
    };
    const before = macs();
    assert.equal(before.length, 1);
    const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(macs()[0], before[0], 'resealed under the next generation');
    assert.equal((await exchange(await good())).status, 200);
    await server.restart();
    assert.equal((await exchange(await good())).status, 200, 'after a restart');
  });
});
