import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { api, assignRole, ROLE_IDS } from './support/access-kit.js';
import { launchBrowser, newContext, newUser, screenshot, selectMember, signIn, type PortalUser } from './support/browser.js';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The portal goes through the same authorization as every client: a user
// without rights sees Azure-style "not authorized" states, never a crash.
// Also: sign-out, and an expired session sending the user back to sign in.

describe('portal: denials and the session', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let bob: PortalUser;
  const vaultPath = (name: string) => `/portal/vaults/rg-test/${name}`;
  const denied = () => page.getByRole('status').filter({ hasText: 'You are not authorized to perform this action' }).first();

  before(async () => {
    server = await startTestServer();
    bob = await newUser(server, 'Bob Nobody');
    await createVault(server, 'locked-kv', { enableRbacAuthorization: true });
    await createVault(server, 'policy-kv', { enableRbacAuthorization: false });
    await secretClient(server, 'locked-kv').setSecret('payroll', 'confidential');
    await secretClient(server, 'policy-kv').setSecret('payroll', 'confidential');
    browser = await launchBrowser();
    page = await (await newContext(browser)).newPage();
    await signIn(page, server, bob);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows no vaults, and a denial for a vault opened by its address', async () => {
    await page.getByText('No key vaults to display').waitFor();
    await page.goto(`${server.url}${vaultPath('locked-kv')}`);
    await denied().waitFor();
    assert.match((await denied().textContent()) ?? '', /AuthorizationFailed/);
    await screenshot(page, 'denied-vault');
  });

  it('with Reader on the vault: the vault opens, but secrets and role assignments are denied (Azure RBAC)', async () => {
    const scope = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/locked-kv`;
    await assignRole(server, scope, ROLE_IDS.Reader, bob.id);
    await page.goto(`${server.url}${vaultPath('locked-kv')}/secrets`);
    await denied().waitFor();
    assert.match((await denied().textContent()) ?? '', /ForbiddenByRbac/);
    await screenshot(page, 'denied-secrets');

    await page.goto(`${server.url}${vaultPath('locked-kv')}/iam/add-role-assignment`);
    await page.getByRole('cell', { name: 'Key Vault Secrets User', exact: true }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: '+ Select members' }).click();
    await selectMember(page, 'Bob', /Bob Nobody/);
    await page.getByRole('button', { name: 'Review + assign' }).click();
    await page.getByRole('button', { name: 'Review + assign' }).click();
    await denied().waitFor();
    assert.match((await denied().textContent()) ?? '', /AuthorizationFailed/);
    await screenshot(page, 'denied-role-assignment');
    const assigned = await api(server, 'GET', `${scope}/providers/Microsoft.Authorization/roleAssignments?$filter=${encodeURIComponent(`assignedTo('${bob.id}')`)}&api-version=2022-04-01`);
    assert.deepEqual(
      (assigned.body!.value as { properties: { roleDefinitionId: string } }[]).map((a) => a.properties.roleDefinitionId.split('/').pop()),
      [ROLE_IDS.Reader],
    );
  });

  it('under the access policy model the denial names the policy', async () => {
    const scope = `/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-test/providers/Microsoft.KeyVault/vaults/policy-kv`;
    await assignRole(server, scope, ROLE_IDS.Reader, bob.id);
    await page.goto(`${server.url}${vaultPath('policy-kv')}/secrets`);
    await denied().waitFor();
    assert.match((await denied().textContent()) ?? '', /ForbiddenByPolicy/);
  });

  it('an unknown portal address shows a page, not a crash', async () => {
    await page.goto(`${server.url}/portal/no/such/page`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  });

  it('an expired session sends the user back to sign in', async () => {
    await page.goto(`${server.url}/portal/`);
    // Once the list is shown, no token renewal is in flight to overwrite the change below.
    await page.getByRole('link', { name: 'locked-kv' }).waitFor();
    // A refresh token that the identity service no longer honours, and no access token in memory after the reload.
    await page.evaluate(() => {
      const saved = JSON.parse(sessionStorage.getItem('coffer.portal.session')!) as Record<string, unknown>;
      sessionStorage.setItem('coffer.portal.session', JSON.stringify({ ...saved, refreshToken: 'revoked' }));
    });
    await page.reload();
    await page.getByText('Your session has expired. Sign in again.').waitFor();
    await screenshot(page, 'session-expired');
    await signIn(page, server, bob);
    await page.getByRole('link', { name: 'locked-kv' }).waitFor();
  });

  it('a sign-in answer this portal did not ask for leaves a session as it is, and shows only a fixed message, not the text it carries', async () => {
    const forged = `${server.url}/portal/auth-callback?error=access_denied&error_description=${encodeURIComponent('Your account is locked. Call +1-555-0100.')}&state=forged`;
    // The sign-in a session continues: its refresh token's family (a reload renews the token itself).
    const session = async () => ((JSON.parse((await page.evaluate(() => sessionStorage.getItem('coffer.portal.session'))) ?? 'null') as { refreshToken: string } | null)?.refreshToken.split('.')[2]);
    const before = await session();
    assert.ok(before, 'signed in');
    // Signed in: a link to the callback (anyone can send one) signs nobody out.
    await page.goto(forged);
    await page.getByRole('link', { name: 'locked-kv' }).waitFor();
    assert.equal(await session(), before);
    assert.equal(await page.getByText(/Call \+1-555/).count(), 0);
    // Signed out: the fixed message only.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
    await page.goto(forged);
    await page.getByText('The sign-in response did not match a sign-in started here. Sign in again.').waitFor();
    assert.equal(await page.getByText(/Call \+1-555/).count(), 0);
    await signIn(page, server, bob);
    await page.getByRole('link', { name: 'locked-kv' }).waitFor();
  });

  it('signs out: the session is gone, also after a reload', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('coffer.portal.session')), null);
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
  });
});
