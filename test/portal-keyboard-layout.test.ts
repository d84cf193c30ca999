import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ROLE_IDS } from './support/access-kit.js';
import { screenshot, signedInBrowser, subscriptionUser } from './support/browser.js';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Keyboard and layout: confirmation dialogs keep focus inside and start on
// Cancel for a destructive action; a navigation puts focus on the new page's
// heading; at a phone's width (390 CSS px) no page scrolls sideways.

describe('portal: keyboard focus and narrow windows', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const vaultPath = '/portal/vaults/rg-test/keys-kv';
  const longName = 'a-rather-long-secret-name-used-to-check-narrow-windows';
  /** The longest name Key Vault takes, with nowhere to break a line. */
  const unbroken = `u${'0123456789'.repeat(12)}abcdef`;
  const sdk = () => secretClient(server, 'keys-kv');
  const menu = () => page.getByRole('navigation', { name: 'Key vault menu' });
  /** What has focus: its tag, its text, and whether it is inside the open alert dialog. */
  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement!;
      return { tag: el.tagName, text: el.textContent ?? '', inDialog: Boolean(el.closest('[role="alertdialog"]')) };
    });

  before(async () => {
    server = await startTestServer();
    const alice = await subscriptionUser(server, 'Alice Admin', [ROLE_IDS.Owner, ROLE_IDS['Key Vault Administrator']]);
    await createVault(server, 'keys-kv', { enableRbacAuthorization: true });
    await sdk().setSecret('app-secret', 'v1', { tags: { env: 'test' } });
    await sdk().setSecret(longName, 'v1');
    await sdk().setSecret(unbroken, 'v1');
    ({ browser, page } = await signedInBrowser(server, alice));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the delete confirmation starts on Cancel: Enter cancels and nothing is deleted', async () => {
    await page.goto(`${server.url}${vaultPath}/secrets/app-secret`);
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Delete secret' });
    await dialog.waitFor();
    assert.deepEqual(await focused(), { tag: 'BUTTON', text: 'Cancel', inDialog: true });
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await sdk().getSecret('app-secret')).value, 'v1');
  });

  it('Tab and Shift+Tab stay inside the dialog', async () => {
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog', { name: 'Delete secret' }).waitFor();
    const trail: string[] = [];
    for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab']) {
      await page.keyboard.press(key);
      const f = await focused();
      assert.equal(f.inDialog, true, `after ${key}, focus left the dialog for ${f.tag} ${f.text}`);
      trail.push(f.text);
    }
    assert.deepEqual(trail, ['Delete', 'Cancel', 'Delete', 'Cancel', 'Delete', 'Cancel']);
    await page.keyboard.press('Escape');
    await page.getByRole('alertdialog').waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('button', { name: 'Delete' }).evaluate((el) => el === document.activeElement), true);
  });

  it('after a navigation, focus is on the new page\'s heading', async () => {
    await menu().getByRole('link', { name: 'Access control (IAM)' }).click();
    await page.getByRole('heading', { level: 1, name: 'keys-kv | Access control (IAM)' }).waitFor();
    assert.deepEqual(await focused(), { tag: 'H1', text: 'keys-kv | Access control (IAM)', inDialog: false });
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'app-secret | Versions' }).waitFor();
    assert.equal((await focused()).tag, 'H1');
    // A click on a button that navigates, too.
    await page.getByRole('button', { name: '+ New Version' }).click();
    await page.getByLabel('Secret value').waitFor();
    assert.deepEqual(await focused(), { tag: 'H1', text: 'app-secret', inDialog: false });
  });

  it('at 390 CSS px, the Secrets, versions and IAM pages do not scroll sideways; nor, at 390 and 1360, do those of a 127-character name', async () => {
    const pages: [string, string, string][] = [
      ['secrets', `${vaultPath}/secrets`, longName],
      ['versions', `${vaultPath}/secrets/${longName}`, 'Current version'],
      ['iam', `${vaultPath}/iam`, 'Alice Admin'],
      ['unbroken-versions', `${vaultPath}/secrets/${unbroken}`, 'Current version'],
      ['unbroken-new-version', `${vaultPath}/secrets/${unbroken}/new-version`, 'Secret value'],
    ];
    try {
      for (const width of [390, 1360]) {
        await page.setViewportSize({ width, height: 844 });
        for (const [label, path, text] of pages) {
          if (width > 390 && !label.startsWith('unbroken')) continue;
          await page.goto(`${server.url}${path}`);
          await page.getByText(text).first().waitFor();
          const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
          if (width === 390) await screenshot(page, `narrow-${label}`);
          assert.ok(scrollWidth <= innerWidth, `${label}: the page is ${scrollWidth}px wide in a ${innerWidth}px window`);
        }
      }
    } finally {
      await page.setViewportSize({ width: 1360, height: 900 });
    }
  });
});
