import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, Request } from 'playwright-core';
import { ROLE_IDS } from './support/access-kit.js';
import { signedInBrowser, subscriptionUser, type PortalUser } from './support/browser.js';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The portal's secret pages, from a review: clearing a version's properties,
// the current version among many, no value read until asked, validation of
// tags and dates, and a disabled secret's refusal.

/** Waits past the next whole second of the clock the server shares with the test (creation times have one-second resolution). */
const nextSecond = () => new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));

describe('portal: secret pages (review fixes)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let alice: PortalUser;
  const sdk = () => secretClient(server, 'review-kv');
  const vaultPath = '/portal/vaults/rg-test/review-kv';
  const versionPage = (secret: string, version: string) => `${server.url}${vaultPath}/secrets/${secret}/versions/${version}`;
  const toast = (text: RegExp) => page.getByRole('status').filter({ hasText: text }).first().waitFor();
  /** Data-plane requests the page sends from now on. */
  const record = () => {
    const seen: Request[] = [];
    page.on('request', (r) => r.url().includes('.vault.') && seen.push(r));
    return seen;
  };
  /** GETs of a secret's value: /secrets/{name}/ or /secrets/{name}/{version}, not /versions. */
  const valueReads = (seen: Request[], name: string) =>
    seen.filter((r) => r.method() === 'GET' && new RegExp(`^/secrets/${name}/([0-9a-f]{32})?$`).test(new URL(r.url()).pathname));

  before(async () => {
    server = await startTestServer();
    alice = await subscriptionUser(server, 'Alice Reviewer', [ROLE_IDS['Key Vault Administrator'], ROLE_IDS.Reader]);
    await createVault(server, 'review-kv', { enableRbacAuthorization: true });
    ({ browser, page } = await signedInBrowser(server, alice));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('clearing content type, activation and expiration on a version clears them in the vault', async () => {
    const s = await sdk().setSecret('cleared', 'v1', { contentType: 'text/plain', notBefore: new Date('2025-01-01T00:00:00Z'), expiresOn: new Date('2031-01-01T00:00:00Z') });
    await page.goto(versionPage('cleared', s.properties.version!));
    await page.getByLabel('Content type (optional)').fill('');
    await page.getByLabel('Activation date (optional)').fill('');
    await page.getByLabel('Expiration date (optional)').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await toast(/Successfully updated the properties of secret cleared/);
    const after = await sdk().getSecret('cleared');
    assert.ok(!after.properties.contentType, `content type still ${after.properties.contentType}`);
    assert.equal(after.properties.notBefore, undefined);
    assert.equal(after.properties.expiresOn, undefined);
    // The page shows the stored state: the fields stay empty after the reload that follows a save.
    assert.equal(await page.getByLabel('Expiration date (optional)').inputValue(), '');
  });

  it('labels the current version correctly with more than a page of versions, without reading the value', async () => {
    for (let i = 0; i < 40; i++) await sdk().setSecret('many', `old ${i}`);
    // The newest must be on the second page (pages follow version ids), and alone in its second.
    let latest = '';
    let versions = 40;
    for (;;) {
      versions++;
      await nextSecond();
      latest = (await sdk().setSecret('many', 'newest')).properties.version!;
      const firstPage: string[] = [];
      for await (const p of sdk().listPropertiesOfSecretVersions('many').byPage({ maxPageSize: 25 })) {
        firstPage.push(...p.map((v) => v.version!));
        break;
      }
      if (!firstPage.includes(latest)) break;
    }
    const seen = record();
    await page.goto(`${server.url}${vaultPath}/secrets/many`);
    const current = page.getByRole('rowgroup').filter({ hasText: 'Current version' });
    await current.getByRole('link', { name: latest }).waitFor();
    assert.equal(await current.getByRole('link').count(), 1);
    assert.equal(await page.getByRole('rowgroup').filter({ hasText: 'Older versions' }).getByRole('link').count(), versions - 1);
    assert.deepEqual(valueReads(seen, 'many').map((r) => r.url()), [], 'opening the secret read its value');

    await current.getByRole('link', { name: latest }).click();
    await page.getByRole('button', { name: 'Show Secret Value' }).waitFor();
    await page.getByLabel('Content type (optional)').waitFor();
    assert.deepEqual(valueReads(seen, 'many').map((r) => r.url()), [], 'opening the version read its value');
    await page.getByRole('button', { name: 'Show Secret Value' }).click();
    assert.equal(await page.getByLabel('Secret value').inputValue(), 'newest');
    assert.equal(valueReads(seen, 'many').length, 1);
  });

  it("versions created in the same second: Resource Manager's view names the current one; without it they are shown together, not guessed between", async () => {
    // Two versions in one second (retried until the clock agrees, as it nearly always does at once).
    let pair: string[] = [];
    for (;;) {
      const a = await sdk().setSecret('twins', 'one');
      const b = await sdk().setSecret('twins', 'two');
      pair = [a.properties.version!, b.properties.version!];
      if (a.properties.createdOn!.getTime() === b.properties.createdOn!.getTime()) break;
      await (await sdk().beginDeleteSecret('twins')).pollUntilDone();
      await sdk().purgeDeletedSecret('twins');
    }
    await page.goto(`${server.url}${vaultPath}/secrets/twins`);
    const current = page.getByRole('rowgroup').filter({ hasText: 'Current version' });
    await current.getByRole('link').first().waitFor();
    assert.deepEqual(await current.getByRole('link').allTextContents(), [pair[1]]);
    const older = page.getByRole('rowgroup').filter({ hasText: 'Older versions' });
    assert.deepEqual(await older.getByRole('link').allTextContents(), [pair[0]]);

    // A user who may not read Resource Manager's view of secrets (here: the request fails) is not told a guess.
    const armSecret = /\/providers\/Microsoft\.KeyVault\/vaults\/review-kv\/secrets\/twins\?/;
    await page.route(armSecret, (route) => route.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ error: { code: 'AuthorizationFailed', message: 'denied' } }) }));
    try {
      await page.goto(`${server.url}${vaultPath}/secrets/twins`);
      const newest = page.getByRole('rowgroup').filter({ hasText: 'Newest versions' });
      await newest.getByText('These versions were created in the same second: one of them is the current version.').waitFor();
      assert.deepEqual((await newest.getByRole('link').allTextContents()).sort(), [...pair].sort());
      assert.equal(await page.getByText('Current version', { exact: true }).count(), 0);
    } finally {
      await page.unroute(armSecret);
    }
  });

  it('refuses duplicate tag names and an expiration before the activation, and sends nothing', async () => {
    const s = await sdk().setSecret('validated', 'v1', { tags: { team: 'payments' } });
    await page.goto(versionPage('validated', s.properties.version!));
    await page.getByLabel('Tag name 1').waitFor();
    const seen = record();
    await page.getByRole('button', { name: '+ Add tag' }).click();
    await page.getByLabel('Tag name 2').fill('team');
    await page.getByLabel('Tag value 2').fill('billing');
    await page.getByText('Tag names must be unique: "team" is used more than once.').waitFor();
    // The submit is refused: focus goes to the first field at fault, and no update goes out.
    const saveRefused = async (focused: string) => {
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal(await page.getByLabel(focused).evaluate((el) => el === document.activeElement), true, focused);
      assert.equal(seen.filter((r) => r.method() === 'PATCH').length, 0);
    };
    await saveRefused('Tag name 1');

    await page.getByRole('button', { name: 'Remove tag 2' }).click();
    assert.equal(await page.getByText('Tag names must be unique').count(), 0);
    await page.getByLabel('Activation date (optional)').fill('2030-02-01T12:00');
    await page.getByLabel('Expiration date (optional)').fill('2030-01-31T12:00');
    await page.getByText('The expiration date must be later than the activation date.').waitFor();
    await saveRefused('Expiration date (optional)');
    const stored = await sdk().getSecret('validated');
    assert.deepEqual(stored.properties.tags, { team: 'payments' });
    assert.equal(stored.properties.expiresOn, undefined);

    await page.getByLabel('Expiration date (optional)').fill('2030-03-01T12:00');
    await page.getByRole('button', { name: 'Save' }).click();
    await toast(/Successfully updated the properties of secret validated/);
    assert.equal((await sdk().getSecret('validated')).properties.expiresOn?.getTime(), new Date('2030-03-01T12:00').getTime());
  });

  it('the create form refuses duplicate tag names too', async () => {
    await page.goto(`${server.url}${vaultPath}/create-secret`);
    const seen = record();
    await page.getByLabel('Name', { exact: true }).fill('dup-tags');
    await page.getByLabel('Secret value').fill('x');
    for (const i of [1, 2]) {
      await page.getByRole('button', { name: '+ Add tag' }).click();
      await page.getByLabel(`Tag name ${i}`).fill(' env ');
      await page.getByLabel(`Tag value ${i}`).fill(`v${i}`);
    }
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByText('Tag names must be unique: "env" is used more than once.').waitFor();
    assert.equal(await page.getByLabel('Tag name 1').evaluate((el) => el === document.activeElement), true);
    assert.equal(seen.filter((r) => r.method() === 'PUT').length, 0);
  });

  it("a disabled secret's refusal shows the vault's message, not a denial", async () => {
    const s = await sdk().setSecret('switched-off', 'hidden', { enabled: false });
    await page.goto(versionPage('switched-off', s.properties.version!));
    await page.getByRole('button', { name: 'Show Secret Value' }).click();
    await page.getByText('Operation get is not allowed on a disabled secret.').waitFor();
    assert.equal(await page.getByText('You are not authorized').count(), 0);
    assert.equal(await page.getByText('Error code: SecretDisabled').count(), 1);
  });
});
