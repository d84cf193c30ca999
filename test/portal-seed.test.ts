import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { SecretClient } from '@azure/keyvault-secrets';
import { api, assignRole, newServicePrincipal, ROLE_IDS, type Principal } from './support/access-kit.js';
import { launchBrowser, newContext, newUser, screenshot, selectMember, signIn, type PortalUser } from './support/browser.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The seed's portal steps, literally, in a real browser: open the key vault
// from the Key vaults list, Settings > Access configuration, then grant the
// connector read access through Access control (IAM) or an access policy.
// The connector's own SDK client then proves the grant works, and that it
// reaches nothing else; removing the grant in the portal takes it away.

async function outcome(client: SecretClient, name: string): Promise<'read' | 'denied'> {
  try {
    await client.getSecret(name);
    return 'read';
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 403) return 'denied';
    throw err;
  }
}

describe('portal: the seed workflow in the browser', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let alice: PortalUser;
  let connector: Principal;
  let connectorVault: SecretClient;
  let connectorOther: SecretClient;
  const menu = () => page.getByRole('navigation', { name: 'Key vault menu' });
  const toast = (text: RegExp) => page.getByRole('status').filter({ hasText: text }).first().waitFor();

  before(async () => {
    server = await startTestServer();
    const subscription = `/subscriptions/${server.bootstrap.subscriptionId}`;
    alice = await newUser(server, 'Alice Admin');
    await assignRole(server, subscription, ROLE_IDS.Owner, alice.id);
    connector = await newServicePrincipal(server, 'apono-connector');
    // `az keyvault secret set` happened before the portal steps: the secrets exist.
    await createVault(server, 'seed-kv', { enableRbacAuthorization: true });
    await createVault(server, 'other-kv', { enableRbacAuthorization: true });
    await secretClient(server, 'seed-kv').setSecret('apono-mysql-user', JSON.stringify({ username: 'apono', password: 'seed secret 1' }));
    await secretClient(server, 'other-kv').setSecret('other-db-user', 'not for the connector');
    const cred = credential(server, connector.appId, connector.secret);
    connectorVault = secretClient(server, 'seed-kv', cred);
    connectorOther = secretClient(server, 'other-kv', cred);
    browser = await launchBrowser();
    page = await (await newContext(browser)).newPage();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('signs in and opens the key vault from the Key vaults list', async () => {
    assert.equal(await outcome(connectorVault, 'apono-mysql-user'), 'denied');
    await page.goto(`${server.url}/portal/`);
    await screenshot(page, 'sign-in-start');
    await signIn(page, server, alice, { screenshot: 'sign-in-form' });
    await page.getByRole('heading', { name: 'Key vaults' }).waitFor();
    await page.getByRole('link', { name: 'seed-kv' }).waitFor();
    await screenshot(page, 'key-vaults');
    await page.getByRole('link', { name: 'seed-kv' }).click();
    await page.getByRole('heading', { name: 'seed-kv | Overview' }).waitFor();
    await page.getByText('Azure role-based access control', { exact: true }).waitFor();
    await screenshot(page, 'overview');
  });

  it('Azure RBAC: Access configuration, then IAM > Add role assignment "Key Vault Secrets User" for the connector', async () => {
    await menu().getByRole('link', { name: 'Access configuration' }).click();
    const rbac = page.getByLabel('Azure role-based access control (recommended)');
    await rbac.waitFor();
    assert.equal(await rbac.isChecked(), true);
    await screenshot(page, 'access-configuration');

    await page.getByRole('link', { name: 'Go to access control (IAM)' }).click();
    await page.getByRole('button', { name: '+ Add' }).click();
    await page.getByRole('menuitem', { name: 'Add role assignment' }).click();
    await page.getByPlaceholder('Search by role name, description, permission, or ID').fill('Key Vault Secrets User');
    await page.getByRole('cell', { name: 'Key Vault Secrets User', exact: true }).click();
    await screenshot(page, 'add-role-assignment-role');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: '+ Select members' }).click();
    await selectMember(page, 'apono-connector', /apono-connector/, { screenshot: 'add-role-assignment-select-members' });
    await page.getByRole('cell', { name: 'apono-connector', exact: true }).waitFor();
    await screenshot(page, 'add-role-assignment-members');
    await page.getByRole('button', { name: 'Review + assign' }).click();
    await page.getByText(/apono-connector \(Service principal\)/).waitFor();
    await screenshot(page, 'add-role-assignment-review');
    await page.getByRole('button', { name: 'Review + assign' }).click();
    await toast(/Added role assignment/);
    await page.getByRole('row', { name: /apono-connector.*Key Vault Secrets User.*This resource/ }).waitFor();
    // Alice's own Owner assignment is inherited from the subscription, and cannot be removed here.
    const inherited = page.getByRole('row', { name: /Alice Admin.*Owner.*Subscription \(Inherited\)/ });
    await inherited.waitFor();
    assert.equal(await inherited.getByRole('checkbox').isDisabled(), true);
    await screenshot(page, 'iam-role-assignments');
  });

  it('the connector reads the granted secret through the SDK and is denied another vault’s secret', async () => {
    assert.equal(await outcome(connectorVault, 'apono-mysql-user'), 'read');
    assert.deepEqual(JSON.parse((await connectorVault.getSecret('apono-mysql-user')).value!), { username: 'apono', password: 'seed secret 1' });
    assert.equal(await outcome(connectorOther, 'other-db-user'), 'denied');
  });

  it('Check access explains the grant', async () => {
    await page.getByRole('tab', { name: 'Check access' }).click();
    await page.getByRole('button', { name: 'Check access' }).click();
    await selectMember(page, 'apono', /apono-connector/, { pane: 'Select a member' });
    const row = page.getByRole('row', { name: /^SecretGet (Allowed|Denied)/ });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Allowed.*Key Vault Secrets User at This resource/);
    assert.match((await page.getByRole('row', { name: /^SecretSet (Allowed|Denied)/ }).textContent()) ?? '', /Denied/);
    await screenshot(page, 'iam-check-access');
    await page.getByRole('tab', { name: 'Roles' }).click();
    await page.getByRole('cell', { name: 'Key Vault Secrets Officer', exact: true }).waitFor();
    await screenshot(page, 'iam-roles');
  });

  it('removing the role assignment in the portal takes the access away', async () => {
    await page.getByRole('tab', { name: 'Role assignments' }).click();
    await page.getByRole('checkbox', { name: 'Select apono-connector Key Vault Secrets User' }).check();
    await page.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('alertdialog', { name: 'Remove role assignments' }).getByRole('button', { name: 'Yes' }).click();
    await toast(/Removed 1 role assignment/);
    await page.getByRole('row', { name: /apono-connector/ }).waitFor({ state: 'detached' });
    assert.equal(await outcome(connectorVault, 'apono-mysql-user'), 'denied');
  });

  it('Vault access policy: Access configuration switch, then Access policies > + Create with secret Get only', async () => {
    await menu().getByRole('link', { name: 'Access configuration' }).click();
    await page.getByLabel('Vault access policy').check();
    await page.getByText(/will invalidate all Azure role-based access control data plane permissions/).waitFor();
    await screenshot(page, 'access-configuration-switch');
    await page.getByRole('button', { name: 'Apply' }).click();
    await toast(/permission model/);

    await page.getByRole('link', { name: 'Go to access policies' }).click();
    await page.getByRole('button', { name: '+ Create' }).click();
    await page.getByRole('checkbox', { name: 'Get', exact: true }).check();
    await screenshot(page, 'access-policy-permissions');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByPlaceholder('Search by name or email address').fill('apono-connector');
    await page.getByRole('button', { name: /apono-connector/ }).click();
    await screenshot(page, 'access-policy-principal');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('apono-connector (Service principal)').waitFor();
    await screenshot(page, 'access-policy-review');
    // Previous goes back the way Next came: to the principal, not to the optional Application step Next skipped.
    await page.getByRole('button', { name: 'Previous' }).click();
    assert.equal(await page.getByRole('tab', { name: '2 Principal' }).getAttribute('aria-selected'), 'true');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create' }).click();
    await toast(/Successfully created an access policy for apono-connector/);
    await page.getByRole('row', { name: /apono-connector/ }).waitFor();
    await screenshot(page, 'access-policies');
  });

  it('the connector reads the secret with Get only, cannot list, and is denied another vault’s secret', async () => {
    assert.equal(await outcome(connectorVault, 'apono-mysql-user'), 'read');
    await assert.rejects(async () => {
      for await (const _ of connectorVault.listPropertiesOfSecrets()) break;
    }, (err: { statusCode?: number }) => err.statusCode === 403);
    assert.equal(await outcome(connectorOther, 'other-db-user'), 'denied');
  });

  it('editing the access policy adds List: the connector can now list', async () => {
    await page.getByRole('radio', { name: 'Select apono-connector' }).check();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit access policy' }).waitFor();
    assert.equal(await page.getByRole('checkbox', { name: 'Get', exact: true }).isChecked(), true);
    await page.getByRole('checkbox', { name: 'List', exact: true }).check();
    await screenshot(page, 'access-policy-edit');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await toast(/Successfully updated the access policy of apono-connector/);
    const names: string[] = [];
    for await (const p of connectorVault.listPropertiesOfSecrets()) names.push(p.name);
    assert.deepEqual(names, ['apono-mysql-user']);
  });

  it('an access policy whose principal is gone from the directory can still be edited (shown by its object id)', async () => {
    const ghost = 'deadbeef-0000-4000-8000-00000000dead';
    const policies = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/seed-kv/accessPolicies`;
    const added = await api(server, 'PUT', `${policies}/add?api-version=2023-07-01`, { properties: { accessPolicies: [{ tenantId: server.bootstrap.tenantId, objectId: ghost, permissions: { secrets: ['get'] } }] } });
    assert.ok(added.status < 300, JSON.stringify(added.body));
    await page.reload();
    await page.getByRole('radio', { name: `Select ${ghost}` }).check();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit access policy' }).waitFor();
    await page.getByRole('checkbox', { name: 'List', exact: true }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(`${ghost} (Unknown)`).waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await toast(new RegExp(`Successfully updated the access policy of ${ghost}`));
    const vault = await api(server, 'GET', `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/seed-kv?api-version=2023-07-01`);
    const entry = (vault.body as { properties: { accessPolicies: Array<{ objectId: string; permissions: { secrets: string[] } }> } }).properties.accessPolicies.find((p) => p.objectId === ghost);
    assert.deepEqual(entry?.permissions.secrets, ['get', 'list']);
    await api(server, 'PUT', `${policies}/remove?api-version=2023-07-01`, { properties: { accessPolicies: [{ tenantId: server.bootstrap.tenantId, objectId: ghost, permissions: { secrets: [] } }] } });
    await page.reload();
  });

  it('deleting the access policy in the portal takes the access away', async () => {
    await page.getByRole('radio', { name: 'Select apono-connector' }).check();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog', { name: 'Delete access policy' }).getByRole('button', { name: 'Delete' }).click();
    await toast(/Successfully deleted the access policy/);
    await page.getByRole('row', { name: /apono-connector/ }).waitFor({ state: 'detached' });
    assert.equal(await outcome(connectorVault, 'apono-mysql-user'), 'denied');
  });

  it('a compound identity (principal through an application) grants nothing when the principal signs in on its own', async () => {
    await newServicePrincipal(server, 'reporting-app');
    await page.getByRole('button', { name: '+ Create' }).click();
    await page.getByRole('checkbox', { name: 'Get', exact: true }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByPlaceholder('Search by name or email address').fill('apono-connector');
    await page.getByRole('button', { name: /apono-connector/ }).click();
    await page.getByRole('tab', { name: '3 Application (optional)' }).click();
    await page.getByPlaceholder('Search by name or email address').fill('reporting');
    await page.getByRole('button', { name: /reporting-app/ }).click();
    await screenshot(page, 'access-policy-application');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('reporting-app', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Create' }).click();
    await toast(/Successfully created an access policy for apono-connector/);
    await page.getByRole('rowgroup').filter({ hasText: 'COMPOUND IDENTITY' }).getByRole('row', { name: /apono-connector/ }).waitFor();
    assert.equal(await outcome(connectorVault, 'apono-mysql-user'), 'denied');
  });

  it('a custom role named like a built-in one but granting everything is listed with the privileged administrator roles', async () => {
    const sub = `/subscriptions/${server.bootstrap.subscriptionId}`;
    const lookalike = { roleName: 'Key Vau1t Secrets User', type: 'CustomRole', permissions: [{ actions: ['*'], dataActions: [] }], assignableScopes: [sub] };
    // Wildcards count as the server matches them: this one can assign any role.
    const wildcard = { roleName: 'Secrets Helper Custom', type: 'CustomRole', permissions: [{ actions: ['Microsoft.Authorization/*'], dataActions: [] }], assignableScopes: [sub] };
    const narrow = { roleName: 'Secrets Reader Custom', type: 'CustomRole', permissions: [{ actions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action'] }], assignableScopes: [sub] };
    for (const role of [lookalike, wildcard, narrow]) {
      assert.equal((await api(server, 'PUT', `${sub}/providers/Microsoft.Authorization/roleDefinitions/${randomUUID()}?api-version=2022-04-01`, { properties: role })).status, 201);
    }
    await menu().getByRole('link', { name: 'Access control (IAM)' }).click();
    await page.getByRole('button', { name: '+ Add' }).click();
    await page.getByRole('menuitem', { name: 'Add role assignment' }).click();
    await page.getByPlaceholder('Search by role name, description, permission, or ID').fill('Secrets');
    await page.getByRole('cell', { name: 'Key Vault Secrets User', exact: true }).waitFor();
    await page.getByRole('cell', { name: 'Secrets Reader Custom', exact: true }).waitFor();
    for (const name of ['Key Vau1t Secrets User', 'Secrets Helper Custom']) assert.equal(await page.getByRole('cell', { name, exact: true }).count(), 0, `${name}: not among the job function roles`);
    await page.getByRole('tab', { name: 'Privileged administrator roles' }).click();
    await page.getByRole('cell', { name: 'Key Vau1t Secrets User', exact: true }).waitFor();
    await page.getByRole('cell', { name: 'Secrets Helper Custom', exact: true }).waitFor();
    assert.equal(await page.getByRole('cell', { name: 'Secrets Reader Custom', exact: true }).count(), 0);
  });
});

