import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ROLE_IDS } from './support/access-kit.js';
import { newContext, signedInBrowser, signIn, subscriptionUser, type PortalUser } from './support/browser.js';
import { createVault, credential, secretClient } from './support/clients.js';
import { rawRequest } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The portal's session and page states, from a review: az's browser sign-in
// to a loopback redirect URI, the portal opened at 127.0.0.1, sign-out
// spending the refresh token, errors that clear on navigation and retry, the
// resource group pattern, and the IAM "+ Add" menu.

const AZ_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

describe('portal: session and page states (review fixes)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let carol: PortalUser;
  const vaultPath = '/portal/vaults/rg-test/states-kv';
  const tokenUrl = () => `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`;

  before(async () => {
    server = await startTestServer();
    carol = await subscriptionUser(server, 'Carol States', [ROLE_IDS.Owner, ROLE_IDS['Key Vault Administrator']]);
    await createVault(server, 'states-kv', { enableRbacAuthorization: true });
    ({ browser, page } = await signedInBrowser(server, carol));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("az's browser sign-in: the sign-in page may redirect to the loopback redirect URI, and nowhere else", async () => {
    // az's listener: http://localhost:PORT/ receives the code.
    const received: string[] = [];
    const listener: Server = createServer((req, res) => {
      received.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' }).end('signed in');
    });
    await new Promise<void>((r) => listener.listen(0, r));
    try {
      const port = (listener.address() as AddressInfo).port;
      const redirect = `http://localhost:${port}/`;
      const query = new URLSearchParams({
        client_id: AZ_CLIENT_ID,
        response_type: 'code',
        redirect_uri: redirect,
        scope: 'https://management.core.windows.net//.default offline_access openid profile',
        state: 'az-state',
        code_challenge: 'A'.repeat(43),
        code_challenge_method: 'S256',
      });
      const context = await newContext(browser);
      const az = await context.newPage();
      const shown = await az.goto(`${server.url}/organizations/oauth2/v2.0/authorize?${query}`);
      await az.getByLabel('User name').fill(carol.userName);
      await az.getByLabel('Password').fill(carol.password);
      await az.getByRole('button', { name: 'Sign in' }).click();
      await az.getByText('signed in').waitFor();
      const back = new URL(received[0] ?? '', redirect);
      assert.equal(back.searchParams.get('state'), 'az-state');
      assert.match(back.searchParams.get('code') ?? '', /.+/);
      await context.close();
      // Exactly that origin, not loopback at large.
      assert.match(shown!.headers()['content-security-policy'] ?? '', new RegExp(`form-action 'self' http://localhost:${port};`));
      // Other sign-in pages (the portal's, the device code page) allow only their own origin.
      const portalQuery = new URLSearchParams({ ...Object.fromEntries(query), client_id: 'c0ffee00-0000-4000-8000-0000000000c2', redirect_uri: `${server.url}/portal/auth-callback` });
      const portalPage = await fetch(`${server.url}/organizations/oauth2/v2.0/authorize?${portalQuery}`);
      assert.match(portalPage.headers.get('content-security-policy') ?? '', /form-action 'self';/);
      const device = await fetch(`${server.url}/devicelogin?redirect_uri=${encodeURIComponent(redirect)}`);
      assert.match(device.headers.get('content-security-policy') ?? '', /form-action 'self';/);
    } finally {
      listener.close();
    }
  });

  it('opened at https://127.0.0.1, the portal moves to its own origin and signs in', async () => {
    const context = await newContext(browser);
    const other = await context.newPage();
    await other.goto(`https://127.0.0.1:${server.port}/portal/vaults`);
    await other.waitForURL(`${server.url}/portal/vaults`);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByLabel('User name').fill(carol.userName);
    await other.getByLabel('Password').fill(carol.password);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('link', { name: 'states-kv' }).waitFor();
    await context.close();
  });

  it('a failed load says what is known, and clears on navigation and on Retry', async () => {
    // The vault host unreachable: every data-plane request fails as a network error.
    const vaultHost = /states-kv\.vault\.localhost/;
    await page.route(vaultHost, (route) => route.abort('connectionrefused'));
    await page.goto(`${server.url}${vaultPath}/secrets`);
    const failed = page.getByRole('alert').filter({ hasText: 'could not be reached' });
    await failed.waitFor();
    const text = (await failed.textContent()) ?? '';
    await page.unroute(vaultHost);
    // The menu link to the page already shown loads it again.
    await page.getByRole('navigation', { name: 'Key vault menu' }).getByRole('link', { name: 'Secrets' }).click();
    await page.getByText('There are no secrets available.').waitFor();
    assert.equal(await failed.count(), 0);

    await page.route(vaultHost, (route) => route.abort('connectionrefused'));
    await page.getByRole('button', { name: 'Refresh' }).click();
    await failed.waitFor();
    await page.unroute(vaultHost);
    await failed.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('There are no secrets available.').waitFor();
    assert.equal(await failed.count(), 0);

    // A page whose own load failed (the vault itself) offers Retry as well.
    const vaultArm = /\/vaults\/states-kv\?/;
    await page.route(vaultArm, (route) => route.abort('connectionrefused'));
    await page.goto(`${server.url}${vaultPath}`);
    await failed.waitFor();
    await page.unroute(vaultArm);
    await failed.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('Vault URI', { exact: true }).waitFor();

    // The message says what is known: a network failure, the certificate only as one possible cause.
    assert.match(text, /^Network error/);
    assert.match(text, /could not be reached \(network error\)/);
    assert.match(text, /One possible cause is a certificate/);
  });

  it('the new resource group name field checks Azure’s rule (its pattern compiles with the v flag)', async () => {
    const invalidPattern: string[] = [];
    page.on('console', (m) => /pattern/i.test(m.text()) && invalidPattern.push(m.text()));
    await page.goto(`${server.url}/portal/create-vault`);
    await page.getByLabel('Resource group', { exact: true }).selectOption({ label: 'Create new…' });
    const field = page.getByLabel('New resource group name');
    const mismatch = async (value: string) => {
      await field.fill(value);
      return field.evaluate((el) => (el as HTMLInputElement).validity.patternMismatch);
    };
    assert.equal(await mismatch('rg-portal_(1).x'), false);
    assert.equal(await mismatch('grupo-é'), false);
    assert.equal(await mismatch('bad name'), true);
    assert.equal(await mismatch('ends.'), true);
    assert.equal(await mismatch('a/b'), true);
    assert.deepEqual(invalidPattern, []);
  });

  it('Create a key vault refuses a new resource group name that exists, and leaves that group and its tags alone', async () => {
    const token = (await credential(server).getToken(`${server.url}/.default`))!.token;
    const group = `${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourcegroups/rg-tagged?api-version=2021-04-01`;
    const put = await rawRequest(group, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ location: 'local', tags: { owner: 'carol' } }) });
    assert.equal(put.status, 201, put.text);
    await page.goto(`${server.url}/portal/create-vault`);
    // The placeholder ("Select a resource group") shows the new-name field too.
    await page.getByLabel('New resource group name').fill('RG-Tagged');
    await page.getByLabel('Key vault name').fill('dup-group-kv');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText('A resource group with the same name already exists in the selected subscription.').waitFor();
    const after = await rawRequest(group, { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual((JSON.parse(after.text) as { tags: unknown }).tags, { owner: 'carol' });
    const vault = await rawRequest(`${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-tagged/providers/Microsoft.KeyVault/vaults/dup-group-kv?api-version=2023-07-01`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(vault.status, 404);
  });

  it('a "Load more" still in flight when the list is refreshed is dropped, not added to the new list', async () => {
    await createVault(server, 'paged-kv', { enableRbacAuthorization: true });
    const sdk = secretClient(server, 'paged-kv');
    await Promise.all(Array.from({ length: 30 }, (_, i) => sdk.setSecret(`s-${String(i).padStart(2, '0')}`, 'v')));
    await page.goto(`${server.url}/portal/vaults/rg-test/paged-kv/secrets`);
    const rows = page.locator('tbody tr');
    await page.getByRole('button', { name: 'Load more' }).waitFor();
    assert.equal(await rows.count(), 25);
    // The second page is held until the refreshed first page has arrived.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(/paged-kv\.vault\.localhost.*skiptoken/i, async (route) => {
      await held;
      await route.continue();
    });
    await page.getByRole('button', { name: 'Load more' }).click();
    const refreshed = page.waitForResponse((r) => /paged-kv\.vault\.localhost.*\/secrets\?/.test(r.url()) && !/skiptoken/i.test(r.url()));
    await page.getByRole('button', { name: 'Refresh' }).click();
    await refreshed;
    const stale = page.waitForResponse((r) => /skiptoken/i.test(r.url()));
    release();
    await stale;
    // The page is rendered (or dropped) in the turn its answer arrives.
    await page.waitForTimeout(300);
    assert.equal(await rows.count(), 25, 'the refreshed first page only');
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 1, "the refreshed page's next link");
    await page.unroute(/paged-kv\.vault\.localhost.*skiptoken/i);
  });

  it('the IAM "+ Add" menu closes on Escape (focus back on the button) and on a click outside', async () => {
    await page.goto(`${server.url}${vaultPath}/iam`);
    const add = page.getByRole('button', { name: '+ Add' });
    const menu = page.getByRole('menu', { name: 'Add' });
    await add.click();
    await page.getByRole('menuitem', { name: 'Add role assignment' }).waitFor();
    assert.equal(await page.getByRole('menuitem', { name: 'Add role assignment' }).evaluate((el) => el === document.activeElement), true);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    assert.equal(await add.evaluate((el) => el === document.activeElement), true);
    assert.equal(await add.getAttribute('aria-expanded'), 'false');

    await add.click();
    await menu.waitFor();
    await page.getByRole('heading', { name: 'states-kv | Access control (IAM)' }).click();
    await menu.waitFor({ state: 'detached' });

    await add.click();
    await page.getByRole('menuitem', { name: 'Add role assignment' }).click();
    await page.getByPlaceholder('Search by role name, description, permission, or ID').waitFor();
  });

  it('sign-out revokes the refresh token (RFC 7009): a copy of it no longer buys tokens', async () => {
    await page.goto(`${server.url}/portal/`);
    await page.getByRole('link', { name: 'states-kv' }).waitFor();
    const saved = await page.evaluate(() => JSON.parse(sessionStorage.getItem('coffer.portal.session')!) as { refreshToken: string });
    const revoked = page.waitForResponse((r) => r.url() === tokenUrl().replace(/\/token$/, '/revoke') && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
    assert.equal((await revoked).status(), 200);
    const res = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'c0ffee00-0000-4000-8000-0000000000c2', grant_type: 'refresh_token', refresh_token: saved.refreshToken, scope: `${server.url}/.default` }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
    // Signing in again works as before.
    await signIn(page, server, carol);
  });
});
