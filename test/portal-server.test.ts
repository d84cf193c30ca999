import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findPortalBuild } from '../src/portal/portal-routes.js';
import { api } from './support/access-kit.js';
import { createVault } from './support/clients.js';
import { ROOT, startTestServer, type TestServer } from './support/server-fixture.js';

// How the server serves the portal: the static build with a strict CSP, the
// deployment facts it signs in with, and cross-origin access to vault hosts
// for the portal's origin only.

describe('portal hosting and CORS', () => {
  let server: TestServer;
  let vault: string;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'cors-kv');
    vault = server.vaultUrl('cors-kv');
  });
  after(() => server?.stop());

  it('redirects / to the portal and serves its page with a strict content security policy', async () => {
    const root = await fetch(`${server.url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/portal/');
    const page = await fetch(`${server.url}/portal/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(csp.includes(`connect-src 'self' https://*.${server.bootstrap.vaultDnsSuffix}:${server.port}`), csp);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    const html = await page.text();
    const script = /src="(\/portal\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const asset = await fetch(`${server.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
  });

  it('serves the page for every portal path, but 404 for a missing asset', async () => {
    const deep = await fetch(`${server.url}/portal/vaults/rg-test/cors-kv/secrets`);
    assert.equal(deep.status, 200);
    assert.match(await deep.text(), /<div id="root">/);
    assert.equal((await fetch(`${server.url}/portal/assets/missing.js`)).status, 404);
    assert.equal((await fetch(`${server.url}/portal/assets/../../config.json`)).status, 404);
    assert.equal((await fetch(`${server.url}/portal/%E0%A4%A`)).status, 400);
  });

  it('publishes the deployment facts the portal signs in with, and the portal client may use the code flow', async () => {
    const config = (await (await fetch(`${server.url}/portal/config.json`)).json()) as Record<string, string>;
    assert.equal(config.tenantId, server.bootstrap.tenantId);
    assert.equal(config.subscriptionId, server.bootstrap.subscriptionId);
    assert.equal(config.authority, server.url);
    assert.equal(config.vaultResource, `https://${server.bootstrap.vaultDnsSuffix}:${server.port}`);
    const q = new URLSearchParams({ client_id: config.clientId!, response_type: 'code', redirect_uri: `${server.url}/portal/auth-callback`, scope: `${server.url}/.default openid`, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const authorize = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/authorize?${q}`);
    assert.equal(authorize.status, 200);
  });

  it('answers preflights from the portal origin on vault hosts, and nobody else’s', async () => {
    const preflight = (origin: string) =>
      fetch(`${vault}/secrets/x?api-version=7.5`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type' } });
    const ok = await preflight(server.url);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), server.url);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /Authorization/i);
    const evil = await preflight('https://evil.example');
    assert.equal(evil.status, 404);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });

  it('lets the portal origin read responses, including the 401 challenge, and no other origin', async () => {
    const fromPortal = await fetch(`${vault}/secrets?api-version=7.5`, { headers: { origin: server.url } });
    assert.equal(fromPortal.status, 401);
    assert.equal(fromPortal.headers.get('access-control-allow-origin'), server.url);
    assert.match(fromPortal.headers.get('access-control-expose-headers') ?? '', /WWW-Authenticate/);
    const fromElsewhere = await fetch(`${vault}/secrets?api-version=7.5`, { headers: { origin: 'https://evil.example' } });
    assert.equal(fromElsewhere.status, 401);
    assert.equal(fromElsewhere.headers.get('access-control-allow-origin'), null);
  });

  it('does not put preflights in the audit trail', async () => {
    const events = await api(server, 'GET', '/coffer/audit?vault=cors-kv&maxresults=1000');
    assert.equal(events.status, 200);
    const ops = (events.body!.value as { operationName: string }[]).map((e) => e.operationName);
    assert.ok(ops.length > 0, 'the 401s are audited');
    assert.ok(!ops.some((o) => o.startsWith('OPTIONS')), ops.join(', '));
  });
});

// The server finds Vite's build (dist/portal) whether it runs built
// (dist/src/portal) or from sources with tsx (src/portal, next to whose
// ../../portal lie the portal's sources, with their own index.html).
describe('finding the portal build', () => {
  function checkout() {
    const root = mkdtempSync(join(tmpdir(), 'coffer-portal-'));
    const file = (path: string, text: string) => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    file('portal/index.html', '<!doctype html><div id="root"></div><script type="module" src="/src/main.tsx"></script>');
    file('portal/src/main.tsx', 'export {};');
    mkdirSync(join(root, 'src', 'portal'), { recursive: true });
    mkdirSync(join(root, 'dist', 'src', 'portal'), { recursive: true });
    const build = () => {
      file('dist/portal/index.html', '<!doctype html><script type="module" crossorigin src="/portal/assets/index-AbC123.js"></script><div id="root"></div>');
      file('dist/portal/assets/index-AbC123.js', 'console.log(1)');
    };
    return { root, build };
  }

  it('run from sources, it takes dist/portal and never the portal sources', () => {
    const { root, build } = checkout();
    assert.equal(findPortalBuild(join(root, 'src', 'portal')), null, 'no build yet: no portal, rather than its sources');
    build();
    assert.equal(findPortalBuild(join(root, 'src', 'portal')), join(root, 'dist', 'portal'));
  });

  it('built, it takes dist/portal', () => {
    const { root, build } = checkout();
    build();
    assert.equal(findPortalBuild(join(root, 'dist', 'src', 'portal')), join(root, 'dist', 'portal'));
  });

  it("this checkout's sources find its build", () => {
    assert.equal(findPortalBuild(), join(ROOT, 'dist', 'portal'));
  });
});
