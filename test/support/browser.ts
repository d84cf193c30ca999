import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { api, assignRole } from './access-kit.js';
import { ROOT, type TestServer } from './server-fixture.js';

// Debian's Chromium driven by playwright-core, for the portal's tests. The
// flags keep Chromium off the network it cannot reach here; *.localhost
// resolves to loopback in Chromium itself, so vault hosts work unchanged.

export const ARTIFACTS = join(ROOT, 'test-artifacts', 'portal');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** A fresh browser profile. The test CA is not in Chromium's store, so TLS errors are ignored here. */
export async function newContext(browser: Browser, options: { bypassCSP?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 }, bypassCSP: options.bypassCSP ?? false });
  context.setDefaultTimeout(15_000);
  return context;
}

/** Saves a full-page screenshot as a test artifact. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

export interface PortalUser {
  id: string;
  userName: string;
  password: string;
}

export async function newUser(server: TestServer, name: string): Promise<PortalUser> {
  const userName = `${name.toLowerCase().replace(/\s+/g, '.')}@coffer.local`;
  // Meets the password policy whatever the name: upper, lower, a symbol.
  const password = `Pw-${crypto.randomUUID()} ${name}`;
  const r = await api(server, 'POST', '/v1.0/users', { userPrincipalName: userName, displayName: name, passwordProfile: { password } });
  if (r.status !== 201) throw new Error(`create user: ${r.status} ${JSON.stringify(r.body)}`);
  return { id: r.body!.id, userName, password };
}

/** Opens the portal and signs in through coffer's sign-in page. */
export async function signIn(page: Page, server: TestServer, user: PortalUser, options: { path?: string; screenshot?: string } = {}): Promise<void> {
  await page.goto(`${server.url}${options.path ?? '/portal/'}`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('User name').waitFor();
  if (options.screenshot) await screenshot(page, options.screenshot);
  await page.getByLabel('User name').fill(user.userName);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** A new user holding these built-in roles at the subscription (access-kit's ROLE_IDS values). */
export async function subscriptionUser(server: TestServer, name: string, roleIds: string[]): Promise<PortalUser> {
  const user = await newUser(server, name);
  for (const roleId of roleIds) await assignRole(server, `/subscriptions/${server.bootstrap.subscriptionId}`, roleId, user.id);
  return user;
}

/** A browser with one page signed in to the portal as `user`. */
export async function signedInBrowser(server: TestServer, user: PortalUser): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchBrowser();
  const page = await (await newContext(browser)).newPage();
  await signIn(page, server, user);
  return { browser, page };
}

/** In an open "Select members" (or "Select a member") pane: search, pick one result, Select. */
export async function selectMember(page: Page, search: string, name: RegExp, options: { pane?: string; screenshot?: string } = {}): Promise<void> {
  const dialog = page.getByRole('dialog', { name: options.pane ?? 'Select members' });
  await dialog.getByPlaceholder('Search by name or email address').fill(search);
  await dialog.getByRole('button', { name }).click();
  if (options.screenshot) await screenshot(page, options.screenshot);
  await dialog.getByRole('button', { name: 'Select', exact: true }).click();
}
