import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, Request } from 'playwright-core';
import { ROLE_IDS } from './support/access-kit.js';
import { screenshot, signedInBrowser, subscriptionUser } from './support/browser.js';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Edits that must not change more than the user asked for: saving a tag
// keeps dates to the second, "Create a secret" refuses a name in use rather
// than adding a version without the old tags, and a multi-line value (a PEM)
// is stored and shown with its line breaks.

const PEM = ['-----BEGIN PRIVATE KEY-----', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7', 'q3kZ1x8P0aV2mN4bT6cYwRj5sLh9fGdE2uIoKp', '-----END PRIVATE KEY-----', ''].join('\n');

describe('portal: secret edits keep what the user did not change', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const vaultPath = '/portal/vaults/rg-test/edits-kv';
  const sdk = () => secretClient(server, 'edits-kv');
  const toast = (text: RegExp) => page.getByRole('status').filter({ hasText: text }).first().waitFor();
  /** The requests the page sends to the vault from now on. */
  const record = () => {
    const seen: Request[] = [];
    page.on('request', (r) => r.url().includes('/secrets/') && seen.push(r));
    return seen;
  };

  before(async () => {
    server = await startTestServer();
    const alice = await subscriptionUser(server, 'Alice Admin', [ROLE_IDS.Owner, ROLE_IDS['Key Vault Administrator']]);
    await createVault(server, 'edits-kv', { enableRbacAuthorization: true });
    ({ browser, page } = await signedInBrowser(server, alice));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('saving a tag leaves activation and expiration dates exactly as stored, seconds included', async () => {
    const notBefore = new Date('2029-05-06T07:08:09Z');
    const expiresOn = new Date('2031-02-03T04:05:06Z');
    const set = await sdk().setSecret('dated', 'v', { notBefore, expiresOn });
    await page.goto(`${server.url}${vaultPath}/secrets/dated/versions/${set.properties.version}`);
    await page.getByRole('button', { name: '+ Add tag' }).click();
    await page.getByLabel('Tag name 1').fill('owner');
    await page.getByLabel('Tag value 1').fill('ops');
    await page.getByRole('button', { name: 'Save' }).click();
    await toast(/Successfully updated the properties of secret dated/);
    const after = (await sdk().getSecret('dated')).properties;
    assert.deepEqual(after.tags, { owner: 'ops' });
    assert.equal(after.notBefore?.toISOString(), notBefore.toISOString());
    assert.equal(after.expiresOn?.toISOString(), expiresOn.toISOString());
    // The date fields show seconds, so what is shown is what is stored.
    assert.match(await page.getByLabel('Activation date (optional)').inputValue(), /:09$/);
  });

  it('"Create a secret" with the name of an existing secret is refused, naming + New Version', async () => {
    await sdk().setSecret('in-use', 'original', { tags: { team: 'payments' }, expiresOn: new Date('2032-01-01T00:00:00Z') });
    await page.goto(`${server.url}${vaultPath}/create-secret`);
    const seen = record();
    await page.getByLabel('Name', { exact: true }).fill('in-use');
    await page.getByLabel('Secret value').fill('replacement');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const message = page.getByRole('alert').filter({ hasText: 'A secret named in-use already exists in this vault' });
    await message.waitFor();
    assert.match((await message.textContent()) ?? '', /\+ New Version/);
    await screenshot(page, 'create-secret-name-in-use');
    assert.equal(await page.getByLabel('Name', { exact: true }).evaluate((el) => el === document.activeElement), true);
    assert.equal(seen.filter((r) => r.method() === 'PUT').length, 0);
    // The check lists versions; it never reads the value.
    assert.equal(seen.filter((r) => r.method() === 'GET' && !r.url().includes('/versions')).length, 0);
    const kept = await sdk().getSecret('in-use');
    assert.equal(kept.value, 'original');
    assert.deepEqual(kept.properties.tags, { team: 'payments' });
    // The link in the message leads to the secret's page.
    await message.getByRole('link', { name: 'in-use' }).click();
    await page.getByRole('button', { name: '+ New Version' }).waitFor();
  });

  it('a deleted but recoverable name still gets Azure\'s message, and a free name is created', async () => {
    await sdk().setSecret('gone', 'old');
    await (await sdk().beginDeleteSecret('gone')).pollUntilDone();
    await page.goto(`${server.url}${vaultPath}/create-secret`);
    await page.getByLabel('Name', { exact: true }).fill('gone');
    await page.getByLabel('Secret value').fill('new');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'ObjectIsDeletedButRecoverable' }).waitFor();

    await page.getByLabel('Name', { exact: true }).fill('fresh');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await toast(/The secret fresh has been successfully created/);
    assert.equal((await sdk().getSecret('fresh')).value, 'new');
  });

  it('a multi-line value (PEM) is stored with its line breaks and shown with them', async () => {
    await page.goto(`${server.url}${vaultPath}/create-secret`);
    await page.getByLabel('Name', { exact: true }).fill('tls-key');
    const field = page.getByLabel('Secret value');
    await field.focus();
    // Inserted as one piece of text, as a paste inserts it.
    await page.keyboard.insertText(PEM);
    assert.equal(await field.inputValue(), PEM);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await toast(/The secret tls-key has been successfully created/);
    const stored = await sdk().getSecret('tls-key');
    assert.equal(stored.value, PEM);

    await page.goto(`${server.url}${vaultPath}/secrets/tls-key/versions/${stored.properties.version}`);
    await page.getByRole('button', { name: 'Show Secret Value' }).click();
    assert.equal(await page.getByLabel('Secret value').inputValue(), PEM);
    await screenshot(page, 'secret-value-multiline');

    // In the create form the value is masked until asked for, as a password field would be.
    await page.goto(`${server.url}${vaultPath}/create-secret`);
    const show = page.getByRole('button', { name: 'Show value' });
    assert.equal(await show.getAttribute('aria-pressed'), 'false');
    assert.match((await page.getByLabel('Secret value').getAttribute('class')) ?? '', /\bmasked\b/);
    await show.click();
    assert.equal(await show.getAttribute('aria-pressed'), 'true');
    assert.doesNotMatch((await page.getByLabel('Secret value').getAttribute('class')) ?? '', /\bmasked\b/);
  });
});
