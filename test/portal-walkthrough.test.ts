import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { ROLE_IDS } from './support/access-kit.js';
import { screenshot, signedInBrowser, subscriptionUser, type PortalUser } from './support/browser.js';
import { armClient, createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Defects from a user walkthrough of the portal: a policy holding `all`
// shown and saved as Azure's portal does, notifications that keep names
// whole, secret pages headed by the secret, inline name validation, and
// soft-delete wording that matches what the vault does.

/** The places where the element's text wraps inside a word (no whitespace between the last character of a line and the first of the next). */
function breaksInsideWords(element: Locator): Promise<string[]> {
  return element.evaluate((root) => {
    const chars: { ch: string; top: number }[] = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent ?? '';
      for (let i = 0; i < text.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        chars.push({ ch: text[i]!, top: rect ? rect.top : -1 });
      }
    }
    const bad: string[] = [];
    for (let i = 1; i < chars.length; i++) {
      const [a, b] = [chars[i - 1]!, chars[i]!];
      if (/\s/.test(a.ch) || /\s/.test(b.ch) || a.top < 0 || b.top < 0) continue;
      if (b.top > a.top + 2) bad.push(chars.slice(Math.max(0, i - 12), i + 12).map((c) => c.ch).join(''));
    }
    return bad;
  });
}

describe('portal: walkthrough fixes', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let alice: PortalUser;
  const status = (text: RegExp) => page.getByRole('status').filter({ hasText: text }).first();
  const secretBoxes = () => page.getByRole('group', { name: 'Secret permissions', exact: true }).getByRole('checkbox');
  const adminPolicy = async () => {
    const vault = await armClient(server).vaults.get('rg-test', 'policy-kv');
    const policy = vault.properties.accessPolicies!.find((p) => p.objectId === server.bootstrap.objectId)!;
    return policy.permissions;
  };

  before(async () => {
    server = await startTestServer();
    alice = await subscriptionUser(server, 'Alice Admin', [ROLE_IDS.Owner, ROLE_IDS['Key Vault Administrator']]);
    // As `az keyvault create` makes it: the creator's policy holds `all`.
    await createVault(server, 'policy-kv', { enableRbacAuthorization: false });
    await createVault(server, 'my-vault', { enableRbacAuthorization: true });
    await createVault(server, 'no-soft-kv', { enableRbacAuthorization: true, enableSoftDelete: false });
    ({ browser, page } = await signedInBrowser(server, alice));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a policy holding `all` shows every secret permission ticked, and saving it unchanged keeps it', async () => {
    assert.deepEqual((await adminPolicy()).secrets, ['all']);
    await page.goto(`${server.url}/portal/vaults/rg-test/policy-kv/access-policies`);
    const row = page.getByRole('row').filter({ has: page.getByRole('radio', { name: 'Select coffer-admin' }) });
    await row.getByRole('cell', { name: 'coffer-admin', exact: true }).waitFor();
    assert.deepEqual(await row.getByRole('cell').allTextContents(), ['', 'coffer-admin', '', 'All', 'All', 'All'], 'the list shows `all` as All, not "1 selected"');
    await page.getByRole('radio', { name: 'Select coffer-admin' }).check();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit access policy' }).waitFor();
    const boxes = await secretBoxes().all();
    assert.equal(boxes.length, 9);
    for (const box of boxes) assert.equal(await box.isChecked(), true, `${await box.evaluate((b) => b.parentElement?.textContent)} is ticked`);
    await screenshot(page, 'access-policy-edit-all');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await status(/Successfully updated the access policy of coffer-admin/).waitFor();
    const kept = await adminPolicy();
    assert.deepEqual(kept.secrets, ['all']);
    assert.deepEqual(kept.keys, ['all']);
    assert.deepEqual(kept.certificates, ['all']);
  });

  it('unticking one permission of `all` stores the explicit rest', async () => {
    await page.getByRole('radio', { name: 'Select coffer-admin' }).check();
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit access policy' }).waitFor();
    await page.getByRole('checkbox', { name: 'Purge', exact: true }).uncheck();
    assert.equal(await page.getByRole('checkbox', { name: 'Select all' }).isChecked(), false);
    assert.equal(await page.getByRole('checkbox', { name: 'List', exact: true }).isChecked(), true);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await status(/Successfully updated the access policy of coffer-admin/).waitFor();
    const changed = await adminPolicy();
    assert.deepEqual([...changed.secrets!].sort(), ['backup', 'delete', 'get', 'list', 'recover', 'restore', 'set']);
    assert.deepEqual(changed.keys, ['all']);
  });

  it('the Create vault page does not claim soft-delete cannot be turned off', async () => {
    await page.goto(`${server.url}/portal/create-vault`);
    const recovery = page.getByRole('group', { name: 'Recovery options' });
    await recovery.getByLabel('Days to retain deleted vaults').waitFor();
    const text = (await recovery.textContent()) ?? '';
    assert.doesNotMatch(text, /always on/i);
    assert.match(text, /Soft-delete will be enabled on this key vault/);
  });

  it('an invalid secret name gets an inline message, and Create sends nothing', async () => {
    const puts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'PUT' && r.url().includes('/secrets/')) puts.push(r.url());
    };
    page.on('request', onRequest);
    try {
      await page.goto(`${server.url}/portal/vaults/rg-test/my-vault/create-secret`);
      const name = page.getByLabel('Name', { exact: true });
      await name.fill('bad_name!');
      await page.getByLabel('Secret value').fill('some value');
      const message = page.getByText('The name must be 1-127 characters long and contain only 0-9, a-z, A-Z, and -.');
      await message.waitFor();
      assert.equal(await name.getAttribute('aria-invalid'), 'true');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await screenshot(page, 'create-secret-invalid-name');
      assert.equal(await message.isVisible(), true);
      assert.equal(await name.evaluate((n) => n === document.activeElement), true);
      assert.match(page.url(), /\/create-secret$/);
      assert.deepEqual(puts, []);
      await name.fill('good-name');
      assert.equal(await message.count(), 0);
    } finally {
      page.off('request', onRequest);
    }
  });

  it('notifications keep hyphenated names whole at the default viewport', async () => {
    await page.getByLabel('Name', { exact: true }).fill('portal-secret');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const created = status(/portal-secret/);
    await created.waitFor();
    assert.match((await created.textContent()) ?? '', /portal-secret/);
    assert.deepEqual(await breaksInsideWords(created), []);
    const box = (await created.boundingBox())!;
    assert.ok(box.x >= 0 && box.x + box.width <= page.viewportSize()!.width, 'the notification is inside the viewport');
    await screenshot(page, 'toast-created');

    // Too long to follow "The secret " on the first line, short enough for a line of its own.
    const long = 'portal-secret-for-the-payments-team-database';
    await page.getByRole('button', { name: '+ Generate/Import' }).click();
    await page.getByLabel('Name', { exact: true }).fill(long);
    await page.getByLabel('Secret value').fill('some value');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const wrapped = status(new RegExp(long));
    await wrapped.waitFor();
    assert.deepEqual(await breaksInsideWords(wrapped), []);
    await screenshot(page, 'toast-created-long-name');
  });

  it('a secret’s pages are headed by the secret’s name', async () => {
    await page.getByRole('link', { name: 'portal-secret', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'portal-secret | Versions' }).waitFor();
    assert.equal(await page.getByRole('heading', { level: 1, name: 'my-vault | Secrets' }).count(), 0);
    await page.locator('.page-title').getByText('Secret', { exact: true }).waitFor();
    const version = (await secretClient(server, 'my-vault').getSecret('portal-secret')).properties.version!;
    await page.getByRole('link', { name: version }).click();
    await page.getByRole('heading', { level: 1, name: 'portal-secret', exact: true }).waitFor();
    await page.locator('.page-title').getByText('Secret version', { exact: true }).waitFor();
    await screenshot(page, 'secret-version-heading');
  });

  it('a long notification (delete) also wraps only between words', async () => {
    await page.goto(`${server.url}/portal/vaults/rg-test/my-vault/secrets/portal-secret`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog', { name: 'Delete secret' }).getByRole('button', { name: 'Delete' }).click();
    const deleted = status(/Successfully deleted secret portal-secret/);
    await deleted.waitFor();
    assert.deepEqual(await breaksInsideWords(deleted), []);
    await screenshot(page, 'toast-deleted');
  });

  it('deleting a secret in a vault without soft-delete says it is gone for good', async () => {
    await secretClient(server, 'no-soft-kv').setSecret('ephemeral', 'value');
    await page.goto(`${server.url}/portal/vaults/rg-test/no-soft-kv/secrets/ephemeral`);
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Delete secret' });
    await dialog.waitFor();
    assert.doesNotMatch((await dialog.textContent()) ?? '', /recoverable/);
    assert.match((await dialog.textContent()) ?? '', /permanently/);
    await dialog.getByRole('button', { name: 'Delete' }).click();
    const toast = status(/Successfully deleted secret ephemeral/);
    await toast.waitFor();
    assert.doesNotMatch((await toast.textContent()) ?? '', /recovered/);
  });
});
