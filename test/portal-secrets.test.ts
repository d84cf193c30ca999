import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { api, assignRole, newGroup, newServicePrincipal, ROLE_IDS } from './support/access-kit.js';
import { screenshot, selectMember, signedInBrowser, subscriptionUser, type PortalUser } from './support/browser.js';
import { credential, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Vaults and secrets through the portal, checked against what the SDK sees:
// create a vault, add a secret, a new version, show the value, disable it,
// delete and recover it, and purge a deleted one.

/** Waits past the next whole second of the clock the server shares with the test. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));

describe('portal: vaults and secrets', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let alice: PortalUser;
  const menu = () => page.getByRole('navigation', { name: 'Key vault menu' });
  const toast = (text: RegExp) => page.getByRole('status').filter({ hasText: text }).first().waitFor();
  const sdk = () => secretClient(server, 'portal-kv');

  before(async () => {
    server = await startTestServer();
    alice = await subscriptionUser(server, 'Alice Admin', [ROLE_IDS.Owner, ROLE_IDS['Key Vault Administrator']]);
    ({ browser, page } = await signedInBrowser(server, alice));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('creates a key vault with + Create', async () => {
    await page.getByText('No key vaults to display').waitFor();
    await page.getByRole('button', { name: '+ Create' }).click();
    await page.getByLabel('Resource group', { exact: true }).selectOption({ label: 'Create new…' });
    await page.getByLabel('New resource group name').fill('rg-portal');
    await page.getByLabel('Key vault name').fill('portal-kv');
    await page.getByLabel('Days to retain deleted vaults').fill('30');
    await screenshot(page, 'create-vault');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'portal-kv | Overview' }).waitFor();
    await page.getByText(`https://portal-kv.${server.bootstrap.vaultDnsSuffix}:${server.port}/`).waitFor();
    const dd = page.locator('dl.essentials div', { hasText: 'Days to retain deleted vaults' });
    assert.match((await dd.textContent()) ?? '', /30/);

    await page.getByRole('link', { name: 'Key vaults' }).first().click();
    await page.getByPlaceholder('Filter for any field...').fill('rg-portal');
    await page.getByRole('link', { name: 'portal-kv' }).waitFor();
    await page.getByPlaceholder('Filter for any field...').fill('no-such-vault');
    await page.getByText('No key vaults match').waitFor();
  });

  it('adds a secret with + Generate/Import, with content type and tags', async () => {
    await page.goto(`${server.url}/portal/vaults/rg-portal/portal-kv`);
    await menu().getByRole('link', { name: 'Secrets' }).click();
    await page.getByText('There are no secrets available.').waitFor();
    await screenshot(page, 'secrets-empty');
    await page.getByRole('button', { name: '+ Generate/Import' }).click();
    await page.getByLabel('Name', { exact: true }).fill('db-password');
    await page.getByLabel('Secret value').fill('first value');
    await page.getByLabel('Content type (optional)').fill('text/plain');
    await page.getByRole('button', { name: '+ Add tag' }).click();
    await page.getByLabel('Tag name 1').fill('team');
    await page.getByLabel('Tag value 1').fill('payments');
    await screenshot(page, 'create-secret');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await toast(/db-password has been successfully created/);
    await page.getByRole('link', { name: 'db-password' }).waitFor();
    await screenshot(page, 'secrets');
    const s = await sdk().getSecret('db-password');
    assert.equal(s.value, 'first value');
    assert.equal(s.properties.contentType, 'text/plain');
    assert.deepEqual(s.properties.tags, { team: 'payments' });
  });

  it('adds a new version and shows a value only on demand', async () => {
    // Creation times have one-second resolution: a version made in the same second as the first could not be told apart as the current one.
    await nextSecond();
    await page.getByRole('link', { name: 'db-password' }).click();
    await page.getByRole('button', { name: '+ New Version' }).click();
    await page.getByLabel('Secret value').fill('second value');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await toast(/new version of secret db-password/);
    await page.getByText('Older versions').waitFor();
    await screenshot(page, 'secret-versions');
    const latest = (await sdk().getSecret('db-password')).properties.version!;
    const current = page.getByRole('rowgroup').filter({ hasText: 'Current version' });
    await current.getByRole('link', { name: latest }).click();
    await page.getByRole('button', { name: 'Show Secret Value' }).waitFor();
    assert.equal(await page.getByText('second value').count(), 0);
    await page.getByRole('button', { name: 'Show Secret Value' }).click();
    assert.equal(await page.getByLabel('Secret value').inputValue(), 'second value');
    await screenshot(page, 'secret-version');
  });

  it('disables the current version: the SDK can no longer read it', async () => {
    await page.getByRole('radio', { name: 'No' }).check();
    await page.getByLabel('Expiration date (optional)').fill('2030-01-31T12:00');
    await page.getByRole('button', { name: 'Save' }).click();
    await toast(/Successfully updated the properties of secret db-password/);
    await assert.rejects(sdk().getSecret('db-password'), (err: { statusCode?: number; code?: string }) => err.statusCode === 403 && err.code === 'Forbidden');
    for await (const p of sdk().listPropertiesOfSecrets()) {
      assert.equal(p.enabled, false);
      assert.equal(p.expiresOn?.getUTCFullYear(), 2030);
    }
    await menu().getByRole('link', { name: 'Secrets' }).click();
    await page.getByRole('row', { name: /db-password.*Disabled/ }).waitFor();
  });

  it('deletes the secret and recovers it from Manage deleted secrets', async () => {
    await page.getByRole('link', { name: 'db-password' }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog', { name: 'Delete secret' }).getByRole('button', { name: 'Delete' }).click();
    await toast(/Successfully deleted secret db-password/);
    await page.getByRole('button', { name: 'Manage deleted secrets' }).click();
    await page.getByRole('radio', { name: 'Select db-password' }).check();
    await screenshot(page, 'deleted-secrets');
    await page.getByRole('button', { name: 'Recover' }).click();
    await toast(/Successfully recovered secret db-password/);
    await page.getByText('There are no deleted secrets.').waitFor();
    const versions: string[] = [];
    for await (const v of sdk().listPropertiesOfSecretVersions('db-password')) versions.push(v.version!);
    assert.equal(versions.length, 2);
  });

  it('purges a deleted secret for good', async () => {
    await sdk().setSecret('short-lived', 'to be purged');
    await (await sdk().beginDeleteSecret('short-lived')).pollUntilDone();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('radio', { name: 'Select short-lived' }).check();
    await page.getByRole('button', { name: 'Purge' }).click();
    await page.getByRole('alertdialog', { name: 'Purge secret' }).getByRole('button', { name: 'Purge' }).click();
    await toast(/Successfully purged secret short-lived/);
    await assert.rejects(sdk().getDeletedSecret('short-lived'), (err: { statusCode?: number }) => err.statusCode === 404);
  });

  it('adds a time-bound role assignment: the end time is stored and shown', async () => {
    const auditor = await newServicePrincipal(server, 'nightly-auditor');
    await page.goto(`${server.url}/portal/vaults/rg-portal/portal-kv/iam/add-role-assignment`);
    await page.getByPlaceholder('Search by role name, description, permission, or ID').fill('Key Vault Reader');
    await page.getByRole('cell', { name: 'Key Vault Reader', exact: true }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: '+ Select members' }).click();
    await selectMember(page, 'nightly', /nightly-auditor/);
    await page.getByLabel('Description').fill('audit window');
    await page.getByLabel('Time bound').check();
    await page.getByLabel('Assignment end').fill('2031-06-30T18:00');
    await page.getByRole('button', { name: 'Review + assign' }).click();
    await page.getByText(/^Until /).waitFor();
    await page.getByRole('button', { name: 'Review + assign' }).click();
    await page.getByRole('row', { name: /nightly-auditor.*Key Vault Reader.*This resource.*2031/ }).waitFor();
    const scope = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-portal/providers/Microsoft.KeyVault/vaults/portal-kv`;
    const list = await api(server, 'GET', `${scope}/providers/Microsoft.Authorization/roleAssignments?$filter=${encodeURIComponent(`assignedTo('${auditor.id}')`)}&api-version=2022-04-01`);
    const [assignment] = list.body!.value as { properties: { endDateTime: string; description: string } }[];
    assert.equal(new Date(assignment!.properties.endDateTime).getTime(), new Date('2031-06-30T18:00').getTime());
    assert.equal(assignment!.properties.description, 'audit window');
  });

  it('grants a group through the wizard: a member reads through it, and Check access names the group', async () => {
    const member = await newServicePrincipal(server, 'reporting-job');
    await newGroup(server, 'db-readers', [member.id]);
    await sdk().setSecret('report-db', 'report credentials');
    await page.goto(`${server.url}/portal/vaults/rg-portal/portal-kv/iam/add-role-assignment`);
    await page.getByPlaceholder('Search by role name, description, permission, or ID').fill('Key Vault Secrets User');
    await page.getByRole('cell', { name: 'Key Vault Secrets User', exact: true }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: '+ Select members' }).click();
    await selectMember(page, 'db-readers', /db-readers.*Group/);
    await page.getByRole('button', { name: 'Review + assign' }).click();
    await page.getByRole('button', { name: 'Review + assign' }).click();
    await page.getByRole('row', { name: /db-readers.*Group.*Key Vault Secrets User.*This resource/ }).waitFor();
    const memberClient = secretClient(server, 'portal-kv', credential(server, member.appId, member.secret));
    assert.equal((await memberClient.getSecret('report-db')).value, 'report credentials');

    await page.getByRole('tab', { name: 'Check access' }).click();
    await page.getByRole('button', { name: 'Check access' }).click();
    await selectMember(page, 'reporting-job', /reporting-job/, { pane: 'Select a member' });
    const row = page.getByRole('row', { name: /^SecretGet (Allowed|Denied)/ });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Allowed.*Key Vault Secrets User at This resource through group db-readers/);
  });
  it('assigns several members one by one: a refused member is named, the others are assigned', async () => {
    const scope = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-portal/providers/Microsoft.KeyVault/vaults/portal-kv`;
    const already = await newServicePrincipal(server, 'batch-already');
    const fresh = await newServicePrincipal(server, 'batch-fresh');
    await assignRole(server, scope, ROLE_IDS['Key Vault Secrets User'], already.id);
    await page.goto(`${server.url}/portal/vaults/rg-portal/portal-kv/iam/add-role-assignment`);
    await page.getByPlaceholder('Search by role name, description, permission, or ID').fill('Key Vault Secrets User');
    await page.getByRole('cell', { name: 'Key Vault Secrets User', exact: true }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: '+ Select members' }).click();
    const pane = page.getByRole('dialog', { name: 'Select members' });
    await pane.getByPlaceholder('Search by name or email address').fill('batch-');
    // The member already assigned goes first: a stop at the first failure would leave the other unassigned.
    await pane.getByRole('button', { name: /batch-already/ }).click();
    await pane.getByRole('button', { name: /batch-fresh/ }).click();
    await pane.getByRole('button', { name: 'Select', exact: true }).click();
    await page.getByRole('button', { name: 'Review + assign' }).click();
    await page.getByRole('button', { name: 'Review + assign' }).click();
    const failed = page.getByRole('alert').filter({ hasText: 'were not assigned' });
    await failed.waitFor();
    assert.match((await failed.textContent()) ?? '', /batch-already: .*RoleAssignmentExists/);
    assert.doesNotMatch((await failed.textContent()) ?? '', /batch-fresh/);
    assert.match((await page.locator('.notice-success').filter({ hasText: 'Assigned the role' }).textContent()) ?? '', /batch-fresh/);
    await screenshot(page, 'role-assignment-partial');
    // Only the refused member stays selected, for another try.
    assert.equal((await page.locator('dl.essentials div', { hasText: 'Members' }).textContent())?.includes('batch-fresh'), false);
    const list = await api(server, 'GET', `${scope}/providers/Microsoft.Authorization/roleAssignments?$filter=${encodeURIComponent(`assignedTo('${fresh.id}')`)}&api-version=2022-04-01`);
    assert.equal((list.body!.value as unknown[]).length, 1);
  });
  it('removes several role assignments one by one: a failed removal is named and stays selected', async () => {
    const scope = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-portal/providers/Microsoft.KeyVault/vaults/portal-kv`;
    const kept = await newServicePrincipal(server, 'remove-fails');
    const gone = await newServicePrincipal(server, 'remove-works');
    const keptAssignment = await assignRole(server, scope, ROLE_IDS['Key Vault Reader'], kept.id);
    await assignRole(server, scope, ROLE_IDS['Key Vault Reader'], gone.id);
    // The server removes either; one refusal is staged in the browser to see how the page reports it.
    const keptName = String(keptAssignment.body!.name);
    await page.route(`**/roleAssignments/${keptName}?*`, (route) =>
      route.request().method() === 'DELETE'
        ? route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ error: { code: 'ScopeLocked', message: 'The scope is locked.' } }) })
        : route.continue(),
    );
    try {
      await page.goto(`${server.url}/portal/vaults/rg-portal/portal-kv/iam`);
      await page.getByRole('checkbox', { name: 'Select remove-fails Key Vault Reader' }).check();
      await page.getByRole('checkbox', { name: 'Select remove-works Key Vault Reader' }).check();
      await page.getByRole('button', { name: 'Remove' }).click();
      await page.getByRole('alertdialog', { name: 'Remove role assignments' }).getByRole('button', { name: 'Yes' }).click();
      const failed = page.getByRole('alert').filter({ hasText: 'were not removed' });
      await failed.waitFor();
      assert.match((await failed.textContent()) ?? '', /remove-fails \(Key Vault Reader\): The scope is locked/);
      await page.getByRole('row', { name: /remove-works/ }).waitFor({ state: 'detached' });
      assert.equal(await page.getByRole('checkbox', { name: 'Select remove-fails Key Vault Reader' }).isChecked(), true);
    } finally {
      await page.unrouteAll();
    }
  });
});

