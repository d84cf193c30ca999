import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { assignRole, ROLE_IDS } from './support/access-kit.js';
import { launchBrowser, newContext, newUser, signIn } from './support/browser.js';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Accessibility: axe-core's WCAG 2 A/AA rules on every kind of portal page,
// and the keyboard alone driving the role assignment wizard's tabs. (The
// browser context bypasses the portal's CSP only to inject axe.)

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

async function violations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const found = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })).violations;
  })) as AxeViolation[];
  return found.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('portal: accessibility', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    server = await startTestServer();
    const alice = await newUser(server, 'Alice Admin');
    const subscription = `/subscriptions/${server.bootstrap.subscriptionId}`;
    await assignRole(server, subscription, ROLE_IDS.Owner, alice.id);
    await assignRole(server, subscription, ROLE_IDS['Key Vault Administrator'], alice.id);
    await createVault(server, 'a11y-kv', { enableRbacAuthorization: true });
    await secretClient(server, 'a11y-kv').setSecret('app-secret', 'value 1', { tags: { env: 'test' } });
    browser = await launchBrowser();
    page = await (await newContext(browser, { bypassCSP: true })).newPage();
    await signIn(page, server, alice);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const pages: [string, string, string][] = [
    ['Key vaults', '/portal/', 'a11y-kv'],
    ['Create a key vault', '/portal/create-vault', 'Key vault name'],
    ['Overview', '/portal/vaults/rg-test/a11y-kv', 'Vault URI'],
    ['Secrets', '/portal/vaults/rg-test/a11y-kv/secrets', 'app-secret'],
    ['Create a secret', '/portal/vaults/rg-test/a11y-kv/create-secret', 'Secret value'],
    ['Secret versions', '/portal/vaults/rg-test/a11y-kv/secrets/app-secret', 'Current version'],
    ['Deleted secrets', '/portal/vaults/rg-test/a11y-kv/deleted-secrets', 'There are no deleted secrets.'],
    ['Access configuration', '/portal/vaults/rg-test/a11y-kv/access-configuration', 'Permission model'],
    ['Access control (IAM)', '/portal/vaults/rg-test/a11y-kv/iam', 'Alice Admin'],
    ['Add role assignment', '/portal/vaults/rg-test/a11y-kv/iam/add-role-assignment', 'Key Vault Secrets User'],
    ['Access policies', '/portal/vaults/rg-test/a11y-kv/access-policies', 'Access policies are not in effect'],
    ['Create an access policy', '/portal/vaults/rg-test/a11y-kv/access-policies/create', 'Secret permissions'],
  ];
  for (const [name, path, ready] of pages) {
    it(`${name}: no WCAG 2 A/AA violations`, async () => {
      await page.goto(`${server.url}${path}`);
      await page.getByText(ready).first().waitFor();
      assert.deepEqual(await violations(page), []);
    });
  }

  it('the secret version page, with its value shown, has no violations', async () => {
    const version = (await secretClient(server, 'a11y-kv').getSecret('app-secret')).properties.version!;
    await page.goto(`${server.url}/portal/vaults/rg-test/a11y-kv/secrets/app-secret/versions/${version}`);
    await page.getByRole('button', { name: 'Show Secret Value' }).click();
    await page.getByLabel('Secret value').waitFor();
    assert.deepEqual(await violations(page), []);
  });

  it('the secret version page with validation messages, and the IAM "+ Add" menu open, have no violations', async () => {
    const version = (await secretClient(server, 'a11y-kv').getSecret('app-secret')).properties.version!;
    await page.goto(`${server.url}/portal/vaults/rg-test/a11y-kv/secrets/app-secret/versions/${version}`);
    await page.getByRole('button', { name: '+ Add tag' }).click();
    await page.getByLabel('Tag name 2').fill('env');
    await page.getByLabel('Activation date (optional)').fill('2030-02-01T12:00');
    await page.getByLabel('Expiration date (optional)').fill('2030-01-01T12:00');
    await page.getByText('The expiration date must be later than the activation date.').waitFor();
    await page.getByText('Tag names must be unique').waitFor();
    assert.deepEqual(await violations(page), []);
    await page.goto(`${server.url}/portal/vaults/rg-test/a11y-kv/iam`);
    await page.getByRole('button', { name: '+ Add' }).click();
    await page.getByRole('menu', { name: 'Add' }).waitFor();
    assert.deepEqual(await violations(page), []);
  });

  it('the keyboard alone moves through the wizard: arrow keys between tabs, Escape closes the members pane', async () => {
    await page.goto(`${server.url}/portal/vaults/rg-test/a11y-kv/iam/add-role-assignment`);
    await page.getByPlaceholder('Search by role name, description, permission, or ID').fill('Key Vault Secrets User');
    await page.getByRole('radio', { name: 'Select Key Vault Secrets User' }).focus();
    await page.keyboard.press('Space');
    await page.getByRole('tab', { name: 'Role', exact: true }).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByRole('tab', { name: 'Members' }).getAttribute('aria-selected'), 'true');
    // The focus moves with the selection: the selected tab is the one in the tab order.
    assert.equal(await page.getByRole('tab', { name: 'Members' }).evaluate((el) => el === document.activeElement), true);
    await page.keyboard.press('Home');
    assert.equal(await page.getByRole('tab', { name: 'Role', exact: true }).evaluate((el) => el === document.activeElement && el.getAttribute('aria-selected') === 'true'), true);
    await page.keyboard.press('ArrowRight');
    await page.getByRole('button', { name: '+ Select members' }).focus();
    await page.keyboard.press('Enter');
    const pane = page.getByRole('dialog', { name: 'Select members' });
    await pane.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('type')), 'search', 'focus moves into the pane');
    assert.deepEqual(await violations(page), []);
    await page.keyboard.press('Escape');
    await pane.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), '+ Select members', 'focus returns to the button');
  });
});
