import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliHome, coffer } from './support/cli.js';
import { databaseCa, startPostgres, type TestDatabase } from './support/databases.js';
import { connectorConfigSchema } from '../src/connector/connector-config.js';
import { createVaultReader } from '../src/connector/vault-reader.js';
import { freePort, startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate } from './support/test-certificates.js';
import { runConnector, type RunningConnector } from './support/connector-kit.js';

// The connector signed in with a certificate (clientCertificatePath:
// @azure/identity's ClientCertificateCredential) instead of a client secret,
// reading its credentials from the vault and connecting to PostgreSQL.

describe('connector with a certificate credential', () => {
  let server: TestServer;
  let postgres: TestDatabase;
  let connector: RunningConnector | null = null;
  let home: string;
  let certConfig: object;
  const cli = async (...args: string[]) => {
    const r = await coffer(home, args, { HOME: home });
    assert.equal(r.code, 0, `coffer ${args.join(' ')}: ${r.stderr}`);
    return r;
  };

  before(async () => {
    const dbCa = await databaseCa();
    [server, postgres] = await Promise.all([startTestServer(), startPostgres({ tls: dbCa.server })]);
    home = cliHome();
    await cli('login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none');
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    const vault = (await cli('keyvault', 'create', '-n', 'cert-vault', '-g', 'rg', '--enable-rbac-authorization', 'true')).json<{ id: string }>();
    const sp = (await cli('ad', 'sp', 'create-for-rbac', '--name', 'cert-connector', '--create-cert')).json<{ appId: string; fileWithCertAndPrivateKey: string }>();
    await postgres.admin("CREATE USER apono PASSWORD 'cert-Pa55word'");
    await postgres.admin('CREATE DATABASE app OWNER apono');
    await cli('keyvault', 'secret', 'set', '--vault-name', 'cert-vault', '--name', 'pg-user', '--value', JSON.stringify({ username: 'apono', password: 'cert-Pa55word' }), '-o', 'none');
    await cli('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', sp.appId, '--scope', `${vault.id}/secrets/pg-user`, '-o', 'none');
    const statusPort = await freePort();
    certConfig = { authority: server.url, tenantId: server.bootstrap.tenantId, clientId: sp.appId, clientCertificatePath: sp.fileWithCertAndPrivateKey, caFile: server.bootstrap.caCertFile, integrations: [{ name: 'pg', type: 'postgresql', host: '127.0.0.1', port: postgres.port, database: 'app', secret: { vault: 'cert-vault', name: 'pg-user' } }] };
    // No client secret in the environment: the certificate is the connector's only credential.
    connector = runConnector(
      {
        authority: server.url,
        tenantId: server.bootstrap.tenantId,
        clientId: sp.appId,
        clientCertificatePath: sp.fileWithCertAndPrivateKey,
        caFile: server.bootstrap.caCertFile,
        refreshSeconds: 0.5,
        statusPort,
        integrations: [{ name: 'pg', type: 'postgresql', host: '127.0.0.1', port: postgres.port, database: 'app', secret: { vault: 'cert-vault', name: 'pg-user' }, tls: { caFile: dbCa.caFile } }],
      },
      null,
    );
    (globalThis as { statusPort?: number }).statusPort = statusPort;
  });
  after(async () => {
    connector?.stop();
    await Promise.all([server?.stop(), postgres?.stop()]);
  });

  it('signs in with the certificate, reads the credentials and connects', async () => {
    const port = (globalThis as { statusPort?: number }).statusPort!;
    const deadline = Date.now() + 30_000;
    let last: unknown = null;
    for (;;) {
      try {
        const s = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { integrations: Array<{ state: string; secretVersion: string | null }> };
        last = s;
        if (s.integrations[0]!.state === 'connected') {
          assert.match(s.integrations[0]!.secretVersion!, /^[0-9a-f]{32}$/);
          break;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) assert.fail(`not connected: ${JSON.stringify(last)}\n${connector?.log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.doesNotMatch(connector!.log(), /cert-Pa55word|PRIVATE KEY/);
  });

  it('config validation: a file without the private key, or both a certificate and clientSecretEnv, is refused at start', () => {
    const cert = makeCertificate('connector-config');
    const base = { authority: 'https://localhost:8443', tenantId: server.bootstrap.tenantId, clientId: crypto.randomUUID(), integrations: [{ name: 'x', type: 'mysql', host: 'h', database: 'd', secret: { vault: 'vvv', name: 's' } }] };
    const issues = (extra: object) => {
      const r = connectorConfigSchema.safeParse({ ...base, ...extra });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(issues({ clientCertificatePath: cert.combinedPath }), []);
    assert.equal(connectorConfigSchema.parse({ ...base, clientCertificatePath: cert.combinedPath }).clientCertificatePath, cert.combinedPath);
    assert.deepEqual(issues({ clientCertificatePath: cert.certPath }), [`clientCertificatePath: ${cert.certPath} holds no (unencrypted) private key: it needs the private key and the certificate, in one PEM file`]);
    assert.match(issues({ clientCertificatePath: '/no/such.pem' })[0]!, /^clientCertificatePath: cannot read \/no\/such\.pem \(ENOENT\)$/);
    assert.deepEqual(issues({ clientCertificatePath: cert.combinedPath, clientSecretEnv: 'X' }), ['clientSecretEnv: give clientSecretEnv or clientCertificatePath, not both']);
    assert.equal(connectorConfigSchema.parse(base).clientSecretEnv, 'COFFER_CONNECTOR_CLIENT_SECRET');
  });

  it("a certificate file gone or spoiled after start (a rotation's copy half done) is said to be the connector's certificate, not an unreachable vault", async () => {
    // @azure/identity reads the file at each token request: a replaced certificate takes effect without a restart, and a broken one shows there.
    const file = join(mkdtempSync(join(tmpdir(), 'coffer-cert-')), 'connector.pem');
    for (const spoil of [() => rmSync(file), () => writeFileSync(file, 'half a file')]) {
      copyFileSync((certConfig as { clientCertificatePath: string }).clientCertificatePath, file);
      const reader = createVaultReader(connectorConfigSchema.parse({ ...certConfig, clientCertificatePath: file }), null);
      spoil();
      await assert.rejects(reader.read({ vault: 'cert-vault', name: 'pg-user' }), (e: { kind?: string; message?: string }) => {
        assert.equal(e.kind, 'vault-auth', e.message);
        assert.match(e.message!, new RegExp(`^the connector's certificate ${file.replace(/[.]/g, '\\.')} cannot be used \\((cannot read|.+ holds no).+\\): put back the PEM file`));
        return true;
      });
    }
  });
});
