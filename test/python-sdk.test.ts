import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newServicePrincipal } from './support/access-kit.js';
import { createVault } from './support/clients.js';
import { runPythonScript } from './support/python.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Debian's python3-azure (2023) unchanged: azure.keyvault.secrets through every secret operation, and the
// management clients through the grant-a-connector workflow, in both permission models.

describe('python3-azure against coffer', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'py-vault');
  });
  after(() => server?.stop());

  const runPython = (script: string, env: Record<string, string> = {}) => runPythonScript(server, script, env);

  it('sets, gets, lists (paged), updates, lists versions, deletes, recovers, backs up, purges and restores', () => {
    const out = runPython('keyvault_roundtrip.py', { COFFER_VAULT_URL: server.vaultUrl('py-vault') });
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
  it('management clients: make vaults, grant a connector Get on one secret by role assignment and by access policy, take it back, purge', async () => {
    const connector = await newServicePrincipal(server, 'py-connector');
    const out = runPython('mgmt_roundtrip.py', { COFFER_CONNECTOR_APP_ID: connector.appId, COFFER_CONNECTOR_SECRET: connector.secret, COFFER_CONNECTOR_OBJECT_ID: connector.id });
    const value = '{"username": "apono", "password": "s3cret"}';
    assert.deepEqual(out.group_exists, [true, false]);
    assert.deepEqual(out.rbac_vault, ['py-mgmt-rbac', `${server.vaultUrl('py-mgmt-rbac')}/`, true]);
    assert.deepEqual(out.rbac_before, [403, 'Forbidden']);
    assert.deepEqual(out.role, ['Key Vault Secrets User', '4633458b-17de-408a-b874-0445c86b69e6']);
    assert.deepEqual(out.assignment, [true, true, true]);
    assert.equal(out.rbac_value, value);
    assert.deepEqual(out.rbac_set, [403, 'Forbidden'], 'Secrets User reads, never writes');
    assert.deepEqual(out.duplicate, [409, 'RoleAssignmentExists']);
    assert.equal((out.listed as string[]).length, 1);
    assert.deepEqual(out.rbac_after, [403, 'Forbidden']);
    assert.deepEqual(out.policy_vault, [false, 0]);
    assert.deepEqual(out.arm_secret, ['apono-mysql-user', null]);
    assert.deepEqual(out.policies, [[true, ['get']]]);
    assert.equal(out.policy_value, value);
    assert.deepEqual(out.policy_list, [403, 'Forbidden'], 'Get only: no List');
    assert.equal(out.patched_new_version, true);
    assert.equal(out.policy_rotated, 'rotated');
    assert.deepEqual(out.policy_after, [403, 'Forbidden']);
    assert.deepEqual(out.in_group, ['py-mgmt-policy', 'py-mgmt-rbac']);
    assert.equal(out.deleted, 'py-mgmt-policy');
    const [available, reason, message] = out.name_while_deleted as [boolean, string, string];
    assert.deepEqual([available, reason], [false, 'AlreadyExists'], 'a soft-deleted vault keeps its name until purged');
    assert.match(message, /^The vault name 'py-mgmt-policy' is already in use\. .* recently deleted but not purged/);
    assert.deepEqual(out.name_invalid, [false, 'AccountNameInvalid']);
    assert.equal(out.name_after_purge, true);
    assert.deepEqual(out.paged_names, out.unpaged_names, 'pages of one, in order, none twice');
    assert.ok((out.unpaged_names as string[]).includes('py-mgmt-rbac'));
    assert.ok((out.unpaged_names as string[]).length >= 2, 'more than one page to follow');
    assert.equal(out.pages_of_one, (out.unpaged_names as string[]).length);
    assert.equal(out.group_after_delete, false);
    assert.ok((out.deleted_with_group as string[]).includes('py-mgmt-rbac'), 'the group took its vault with it');
  });
});
