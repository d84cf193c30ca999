import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectorConfigSchema, connectorSignIn } from '../src/connector/connector-config.js';
import { createVaultReader } from '../src/connector/vault-reader.js';
import { adminToken, api, newServicePrincipal, setPolicy, type Principal } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { startOidcIssuer, type TestIssuer } from './support/oidc-issuer.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The connector signed in with a federated token file (federatedTokenFile,
// or AZURE_FEDERATED_TOKEN_FILE as the workload identity webhook sets it):
// @azure/identity's ClientAssertionCredential reading the file at each
// sign-in, against a real server and a local OIDC issuer standing in for a
// Kubernetes cluster's.

const SUBJECT = 'system:serviceaccount:db:connector';

describe('connector with a federated token file', () => {
  let server: TestServer;
  let issuer: TestIssuer;
  let sp: Principal;
  let base: Record<string, unknown>;
  const dir = mkdtempSync(join(tmpdir(), 'coffer-connector-wif-'));
  const tokenFile = join(dir, 'azure-identity-token');

  before(async () => {
    issuer = await startOidcIssuer();
    server = await startTestServer({ env: { COFFER_FEDERATION_CA_FILE: issuer.caFile } });
    const token = await adminToken(server);
    sp = await newServicePrincipal(server, 'wif-connector');
    const app = (await api(server, 'GET', `/v1.0/applications?$filter=appId eq '${sp.appId}'`, undefined, token)).body!.value[0].id as string;
    const r = await api(server, 'POST', `/v1.0/applications/${app}/federatedIdentityCredentials`, { name: 'cluster', issuer: issuer.issuer, subject: SUBJECT }, token);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const vault = await createVault(server, 'wifvault');
    await secretClient(server, 'wifvault').setSecret('db-user', JSON.stringify({ username: 'app', password: 'wif-Pa55word' }));
    await setPolicy(server, vault.id!, 'add', sp.id, ['get']);
    base = { authority: server.url, tenantId: server.bootstrap.tenantId, clientId: sp.appId, caFile: server.bootstrap.caCertFile, integrations: [{ name: 'x', type: 'mysql', host: 'h', database: 'd', secret: { vault: 'wifvault', name: 'db-user' } }] };
  });
  after(async () => {
    await server?.stop();
    await issuer?.stop();
  });

  it('reads the credentials with the token in federatedTokenFile, read again at each sign-in', async () => {
    writeFileSync(tokenFile, `${await issuer.sign({ sub: SUBJECT, aud: 'api://AzureADTokenExchange' })}\n`);
    const reader = createVaultReader(connectorConfigSchema.parse({ ...base, federatedTokenFile: tokenFile }), null);
    const creds = await reader.read({ vault: 'wifvault', name: 'db-user' });
    assert.equal(creds.username, 'app');
    // A token of another subject in the file: a new reader signs in with it, and is refused, saying what to check.
    writeFileSync(tokenFile, await issuer.sign({ sub: 'system:serviceaccount:db:other', aud: 'api://AzureADTokenExchange' }));
    const other = createVaultReader(connectorConfigSchema.parse({ ...base, federatedTokenFile: tokenFile }), null);
    await assert.rejects(other.read({ vault: 'wifvault', name: 'db-user' }), (e: { kind?: string; message?: string }) => {
      assert.equal(e.kind, 'vault-auth', e.message);
      assert.match(e.message!, /AADSTS700213/);
      assert.match(e.message!, /the token in .*azure-identity-token \(its issuer, subject and audience registered as a federated credential/);
      return true;
    });
  });

  it('a token file gone is said to be the connector\'s token file', async () => {
    const gone = join(dir, 'gone');
    writeFileSync(gone, 'x');
    rmSync(gone);
    const reader = createVaultReader(connectorConfigSchema.parse({ ...base, federatedTokenFile: gone }), null);
    await assert.rejects(reader.read({ vault: 'wifvault', name: 'db-user' }), (e: { kind?: string; message?: string }) => {
      assert.equal(e.kind, 'vault-auth', e.message);
      assert.match(e.message!, /federated token file .*gone cannot be read \(ENOENT\)/);
      return true;
    });
  });

  it('AZURE_FEDERATED_TOKEN_FILE (the webhook\'s) is used when the config names no credential and no client secret is set; config names one credential only', () => {
    const config = connectorConfigSchema.parse(base);
    assert.deepEqual(connectorSignIn(config, { AZURE_FEDERATED_TOKEN_FILE: tokenFile }), { config: { ...config, federatedTokenFile: tokenFile }, secret: null });
    assert.deepEqual(connectorSignIn(config, { AZURE_FEDERATED_TOKEN_FILE: tokenFile, COFFER_CONNECTOR_CLIENT_SECRET: 's3cret' }), { config, secret: 's3cret' });
    assert.deepEqual(connectorSignIn(config, {}), { missing: 'COFFER_CONNECTOR_CLIENT_SECRET' });
    const named = connectorConfigSchema.parse({ ...base, federatedTokenFile: '/var/run/secrets/azure/tokens/azure-identity-token' });
    assert.deepEqual(connectorSignIn(named, { COFFER_CONNECTOR_CLIENT_SECRET: 's3cret' }), { config: named, secret: null });
    // A variable the config names is that credential: unset, it is reported, not replaced by the webhook's file.
    const namedEnv = connectorConfigSchema.parse({ ...base, clientSecretEnv: 'MY_CONNECTOR_SECRET' });
    assert.deepEqual(connectorSignIn(namedEnv, { AZURE_FEDERATED_TOKEN_FILE: tokenFile }), { missing: 'MY_CONNECTOR_SECRET' });
    assert.deepEqual(connectorSignIn(namedEnv, { AZURE_FEDERATED_TOKEN_FILE: tokenFile, MY_CONNECTOR_SECRET: 's3cret' }), { config: namedEnv, secret: 's3cret' });
    const r = connectorConfigSchema.safeParse({ ...base, federatedTokenFile: tokenFile, clientSecretEnv: 'X' });
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues.map((i) => i.message), ['give one of clientSecretEnv, clientCertificatePath and federatedTokenFile']);
  });
});
