import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createVault } from './support/clients.js';
import { ROOT, startTestServer, type TestServer } from './support/server-fixture.js';

// Debian's python3-azure (azure.identity + azure.keyvault.secrets, 2023) unchanged, through every secret operation.

describe('python3-azure against coffer', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'py-vault');
  });
  after(() => server?.stop());

  it('sets, gets, lists (paged), updates, lists versions, deletes, recovers, backs up, purges and restores', () => {
    const r = spawnSync('/usr/bin/python3', [join(ROOT, 'test/python/keyvault_roundtrip.py')], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        COFFER_TENANT_ID: server.bootstrap.tenantId,
        COFFER_CLIENT_ID: server.bootstrap.clientId,
        COFFER_CLIENT_SECRET: server.bootstrap.clientSecret,
        COFFER_AUTHORITY: server.url,
        COFFER_VAULT_URL: server.vaultUrl('py-vault'),
        REQUESTS_CA_BUNDLE: process.env.COFFER_TEST_CA_BUNDLE ?? '',
        SSL_CERT_FILE: process.env.COFFER_TEST_CA_BUNDLE ?? '',
      },
    });
    assert.equal(r.status, 0, `python failed:\n${r.stderr}\n${r.stdout}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.match(String(out.api_version), /^7\.\d$/);
    assert.match(String(out.set_id), new RegExp(`^${server.vaultUrl('py-vault')}/secrets/py-secret/[0-9a-f]{32}$`));
    assert.equal(out.get_value, '{"username": "py-user", "password": "py-pass"}');
    assert.equal(out.get_by_version, out.get_value);
    assert.deepEqual(out.listed, ['py-other', 'py-secret']);
    assert.equal(out.recovery_id, `${server.vaultUrl('py-vault')}/deletedsecrets/py-secret`);
    assert.equal(out.after_delete, 'SecretNotFound');
    assert.deepEqual(out.deleted_listed, ['py-secret']);
    assert.equal(out.recovered_value, out.get_value);
    assert.deepEqual(out.updated, [false, { state: 'retired' }]);
    assert.deepEqual(out.versions, out.expected_versions);
    assert.deepEqual(out.disabled_get, [403, 'Forbidden']);
    assert.equal(out.paged_count, 30);
    assert.deepEqual(out.after_purge, []);
    assert.deepEqual(out.restored, ['py-secret', 'rotated', 2]);
  });
});
