import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConnectorConfig } from '../src/connector/connector-config.js';
import { databaseCa } from './support/databases.js';

// The connector's config file, for the integrations' TLS settings: secure
// unless told otherwise, and every mistake reported at start with its path.

const dir = mkdtempSync(join(tmpdir(), 'coffer-connector-config-'));

/** Writes a config with one integration whose tls is the given value (absent when undefined) and loads it. */
function load(tls?: unknown) {
  const file = join(dir, 'connector.json');
  const integration = { name: 'pg', type: 'postgresql', host: 'db.internal', database: 'app', secret: { vault: 'my-vault', name: 'pg-user' }, ...(tls === undefined ? {} : { tls }) };
  writeFileSync(file, JSON.stringify({ authority: 'https://localhost:8443', tenantId: '00000000-0000-4000-8000-000000000001', clientId: '00000000-0000-4000-8000-000000000002', integrations: [integration] }));
  return loadConnectorConfig(file);
}

const invalid = (tls: unknown, problem: RegExp) => assert.throws(() => load(tls), (err: Error) => /is invalid:/.test(err.message) && problem.test(err.message));

describe('connector config: database TLS', () => {
  it('verifies the full certificate by default, with no CA file', () => {
    assert.deepEqual(load().integrations[0]!.tls, { mode: 'verify-full', caPem: undefined });
    assert.equal(load({}).integrations[0]!.tls.mode, 'verify-full');
  });

  it('takes verify-ca and disable by name, and nothing else', async () => {
    const { caFile } = await databaseCa();
    assert.equal(load({ mode: 'verify-ca', caFile }).integrations[0]!.tls.mode, 'verify-ca');
    assert.equal(load({ mode: 'disable' }).integrations[0]!.tls.mode, 'disable');
    invalid({ mode: 'require' }, /- integrations\.0\.tls\.mode: Invalid option: expected one of "verify-full"\|"verify-ca"\|"disable"/);
    invalid(false, /- integrations\.0\.tls: /);
    invalid({ mode: 'verify-full', rejectUnauthorized: false }, /- integrations\.0\.tls: Unrecognized key: "rejectUnauthorized"/);
  });

  it('reads caFile once, at load, and names a file it cannot use', async () => {
    const { caFile } = await databaseCa();
    const copy = join(dir, 'db-ca.pem');
    writeFileSync(copy, readFileSync(caFile));
    const config = load({ caFile: copy, serverName: 'db.example.com' });
    rmSync(copy);
    assert.equal(config.integrations[0]!.tls.caPem, readFileSync(caFile, 'utf8'));
    assert.equal(config.integrations[0]!.tls.serverName, 'db.example.com');

    invalid({ caFile: copy }, new RegExp(`- integrations\\.0\\.tls\\.caFile: cannot read ${copy} \\(ENOENT\\)`));
    const notPem = join(dir, 'not-a-cert.pem');
    writeFileSync(notPem, 'hello');
    invalid({ caFile: notPem }, new RegExp(`- integrations\\.0\\.tls\\.caFile: ${notPem} does not hold a PEM certificate`));
  });

  it("checks the vault's caFile at load as well", () => {
    const file = join(dir, 'connector-vault-ca.json');
    const notPem = join(dir, 'vault-ca-not-a-cert.pem');
    writeFileSync(notPem, 'hello');
    for (const [caFile, problem] of [[notPem, `- caFile: ${notPem} does not hold a PEM certificate`], [join(dir, 'missing.pem'), '- caFile: cannot read']] as const) {
      const integration = { name: 'pg', type: 'postgresql', host: 'db.internal', database: 'app', secret: { vault: 'my-vault', name: 'pg-user' } };
      writeFileSync(file, JSON.stringify({ authority: 'https://localhost:8443', tenantId: '00000000-0000-4000-8000-000000000001', clientId: '00000000-0000-4000-8000-000000000002', caFile, integrations: [integration] }));
      assert.throws(() => loadConnectorConfig(file), (err: Error) => err.message.includes(problem));
    }
  });

  it('refuses verify-ca without caFile: checking no name, it would trust every public CA', () => {
    invalid({ mode: 'verify-ca' }, /- integrations\.0\.tls\.caFile: verify-ca needs caFile, the CA that issued the database's certificate: .+; give caFile, or use verify-full/);
    invalid({ mode: 'verify-ca', serverName: 'db.example.com' }, /- integrations\.0\.tls\.caFile: verify-ca needs caFile/);
  });

  it('refuses settings that cannot mean what they say', () => {
    invalid({ mode: 'disable', caFile: 'db-ca.pem' }, /- integrations\.0\.tls\.mode: caFile and serverName need TLS/);
    invalid({ serverName: '10.0.0.5' }, /- integrations\.0\.tls\.serverName: a DNS name, not an IP address/);
    invalid({ serverName: 'not a name' }, /- integrations\.0\.tls\.serverName: a DNS name/);
  });
});

describe('connector config: names and addresses', () => {
  const file = join(dir, 'connector-names.json');
  const base = { authority: 'https://localhost:8443', tenantId: '00000000-0000-4000-8000-000000000001', clientId: '00000000-0000-4000-8000-000000000002' };
  const integration = { name: 'pg', type: 'postgresql', host: 'db.internal', database: 'app', secret: { vault: 'my-vault', name: 'pg-user' } };
  const loadWith = (top: object, one: object = {}) => {
    writeFileSync(file, JSON.stringify({ ...base, ...top, integrations: [{ ...integration, ...one }] }));
    return loadConnectorConfig(file);
  };
  const refused = (top: object, one: object, problem: string) =>
    assert.throws(() => loadWith(top, one), (err: Error) => err.message.includes(problem) || assert.fail(err.message));

  it('a vault name is a vault name: it becomes the host the token is sent to', () => {
    for (const vault of ['my-vault', 'abc', 'A1b2c3d4e5f6g7h8i9j0k1l2']) assert.equal(loadWith({}, { secret: { vault, name: 'x' } }).integrations[0]!.secret.vault, vault);
    for (const vault of ['127.0.0.1:9/x?', 'x@127.0.0.1:9#', 'r.vault', 'r vault', 'ab', '1abc', 'abc-', 'a--b', 'a'.repeat(25)]) {
      refused({}, { secret: { vault, name: 'x' } }, '- integrations.0.secret.vault: a vault name: 3 to 24 letters, digits and dashes');
    }
  });

  it('a host without a port, an https authority, a DNS suffix and a variable name', () => {
    for (const host of ['db.internal', '127.0.0.1', '::1', '[::1]', 'fe80::1%eth0', 'db_1.example.com']) assert.equal(loadWith({}, { host }).integrations[0]!.host, host);
    for (const host of ['db.example:3306', '', 'a b', 'beef.cafe:5432', 'db/x']) refused({}, { host }, '- integrations.0.host: a host name or IP address, without a port');
    refused({ authority: 'http://localhost:8443' }, {}, '- authority: an https:// URL');
    for (const vaultDnsSuffix of ['', 'https://x', 'vault.localhost:8443', '.vault.azure.net']) refused({ vaultDnsSuffix }, {}, '- vaultDnsSuffix: a DNS suffix such as vault.azure.net');
    assert.equal(loadWith({ vaultDnsSuffix: 'vault.azure.net' }).vaultDnsSuffix, 'vault.azure.net');
    for (const clientSecretEnv of ['', 'MY SECRET', '1X']) refused({ clientSecretEnv }, {}, '- clientSecretEnv: an environment variable name');
  });
});
