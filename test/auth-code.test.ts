import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { decodeJwt } from 'jose';
import { createAuthCodes, MAX_CODES_PER_SOURCE } from '../src/identity/auth-codes.js';
import { openSqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../src/storage/store-types.js';
import { api } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { createCredentialHasher } from '../src/identity/password-hash.js';

const hasher = createCredentialHasher(randomBytes(32));

// The authorization code flow with PKCE, as a browser-based app (the portal)
// or a native app with a loopback redirect uses it.

describe('authorization code flow with PKCE', () => {
  let server: TestServer;
  let base: string;
  const client = 'c0ffee00-0000-4000-8000-0000000000c1';
  const redirect = 'http://127.0.0.1:9999/callback';
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  before(async () => {
    server = await startTestServer();
    base = `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0`;
    await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'ria@coffer.local', displayName: 'Ria', passwordProfile: { password: 'Ria password 1' } });
  });
  after(() => server?.stop());

  const params = (extra: Record<string, string> = {}) =>
    new URLSearchParams({ client_id: client, response_type: 'code', redirect_uri: redirect, scope: `${server.url}/.default openid profile offline_access`, state: 'xyz', code_challenge: challenge, code_challenge_method: 'S256', nonce: 'n-1', ...extra });

  async function signIn(password = 'Ria password 1', extra: Record<string, string> = {}) {
    return fetch(`${base}/authorize`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...Object.fromEntries(params(extra)), username: 'ria@coffer.local', password }) });
  }
  const exchange = (code: string, codeVerifier = verifier) =>
    fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', client_id: client, code, redirect_uri: redirect, code_verifier: codeVerifier }) });

  it('shows a sign-in form, redirects with a code and state, and the code yields tokens once', async () => {
    const page = await fetch(`${base}/authorize?${params()}`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<input type="hidden" name="code_challenge" value="[\w-]+">/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer', "the page's address (its parameters) goes to no page it leads to");

    const wrong = await signIn('not the password');
    assert.equal(wrong.status, 401);
    const res = await signIn();
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location')!);
    assert.equal(`${location.origin}${location.pathname}`, redirect);
    assert.equal(location.searchParams.get('state'), 'xyz');
    const code = location.searchParams.get('code')!;

    const tokens = await exchange(code);
    assert.equal(tokens.status, 200);
    const body = (await tokens.json()) as { access_token: string; id_token: string; refresh_token: string };
    assert.equal(decodeJwt(body.access_token).upn, 'ria@coffer.local');
    assert.equal(decodeJwt(body.id_token).nonce, 'n-1');
    assert.ok(body.refresh_token);
    const again = await exchange(code);
    assert.equal(again.status, 400);
    assert.deepEqual(((await again.json()) as { error_codes: number[] }).error_codes, [54005]);
  });

  it('refuses a wrong code_verifier', async () => {
    const code = new URL((await signIn()).headers.get('location')!).searchParams.get('code')!;
    const res = await exchange(code, randomBytes(32).toString('base64url'));
    assert.equal(res.status, 400);
    assert.deepEqual(((await res.json()) as { error_codes: number[] }).error_codes, [50148]);
  });

  it('never redirects to a foreign URI, and requires PKCE', async () => {
    const foreign = await fetch(`${base}/authorize?${params({ redirect_uri: 'https://evil.example.com/cb' })}`, { redirect: 'manual' });
    assert.equal(foreign.status, 400);
    assert.equal(foreign.headers.get('location'), null);
    // Nor to another route of this server (its audit record would keep the code), for any client;
    // the portal's codes go to its callback page only, the command-line clients' to loopback only.
    const portal = 'c0ffee00-0000-4000-8000-0000000000c2';
    for (const [clientId, uri, allowed] of [
      [client, `${server.url}/subscriptions/x`, false],
      [portal, `${server.url}/subscriptions/x`, false],
      [portal, `${server.url}/portal/auth-callback?next=1`, false],
      [portal, 'http://127.0.0.1:9999/callback', false],
      [portal, `${server.url}/portal/auth-callback`, true],
      [client, `${server.url}/portal/auth-callback`, false],
      [client, 'http://127.0.0.1:9999/callback#fragment', false],
      [client, 'http://127.0.0.1:9999/callback#', false],
      [portal, `${server.url}/portal/auth-callback#`, false],
    ] as const) {
      const res = await fetch(`${base}/authorize?${params({ client_id: clientId, redirect_uri: uri })}`, { redirect: 'manual' });
      assert.equal(res.status, allowed ? 200 : 400, `${clientId} to ${uri}`);
    }
    const noPkce = await fetch(`${base}/authorize?${params({ code_challenge_method: 'plain' })}`, { redirect: 'manual' });
    assert.equal(noPkce.status, 302);
    assert.equal(new URL(noPkce.headers.get('location')!).searchParams.get('error'), 'invalid_request');
  });

  it("the discovery document's end_session_endpoint signs out, back only where the named client may go", async () => {
    const discovery = (await (await fetch(`${server.url}/${server.bootstrap.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as { end_session_endpoint: string };
    const signOut = (uri: string, clientId?: string) =>
      fetch(`${discovery.end_session_endpoint}?${new URLSearchParams({ post_logout_redirect_uri: uri, ...(clientId ? { client_id: clientId } : {}) })}`, { redirect: 'manual' });
    const back = await signOut(redirect, client.toUpperCase());
    assert.equal(back.status, 302);
    assert.equal(back.headers.get('location'), redirect);
    const portal = 'c0ffee00-0000-4000-8000-0000000000c2';
    const portalPage = `${server.url}/portal/vaults`;
    assert.equal((await signOut(portalPage, portal)).headers.get('location'), portalPage);
    // Not redirected, only signed out: no client named, a client that is not registered, or a URI the named client may not use.
    for (const [uri, clientId] of [
      [redirect, undefined],
      [redirect, 'c0ffee00-0000-4000-8000-0000000000ff'],
      [redirect, portal],
      [portalPage, client],
      ['https://evil.example.com/', client],
      [`${server.url}/subscriptions/x`, portal],
    ] as const) {
      const res = await signOut(uri, clientId);
      assert.equal(res.status, 200, `${clientId} to ${uri}`);
      assert.match(await res.text(), /You have signed out/);
    }
    // Characters a header cannot hold go percent-encoded, not into a 500.
    const odd = await signOut('http://localhost:1/\u2028x\r\ny', client);
    assert.equal(odd.status, 302);
    assert.equal(odd.headers.get('location'), 'http://localhost:1/%E2%80%A8xy');
  });

  it('refuses to keep oversized parameters or a challenge that is not S256, before any sign-in', async () => {
    for (const [extra, reason] of [
      [{ nonce: 'n'.repeat(513) }, /AADSTS90011: The request parameter 'nonce' is too long/],
      [{ scope: `${' '.repeat(2100)}openid` }, /AADSTS90011: The request parameter 'scope' is too long/],
      [{ code_challenge: 'c'.repeat(44) }, /AADSTS9002325/],
    ] as const) {
      for (const res of [await fetch(`${base}/authorize?${params(extra)}`, { redirect: 'manual' }), await signIn('Ria password 1', extra)]) {
        assert.equal(res.status, 302);
        const location = new URL(res.headers.get('location')!);
        assert.equal(location.searchParams.get('error'), 'invalid_request');
        assert.match(location.searchParams.get('error_description')!, reason);
        assert.equal(location.searchParams.get('code'), null);
      }
    }
    const longRedirect = await fetch(`${base}/authorize?${params({ redirect_uri: `${redirect}?${'x'.repeat(2100)}` })}`, { redirect: 'manual' });
    assert.equal(longRedirect.status, 400, 'never redirected to');
  });
});

describe('pending authorization codes', () => {
  const code = (source: string) => ({ objectId: 'u', clientId: 'c', redirectUri: 'http://127.0.0.1/cb', scope: 'openid', challenge: 'x'.repeat(43), nonce: null, source, passwordGeneration: 0 });
  const root = mkdtempSync(join(tmpdir(), 'coffer-auth-code-'));
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close();
    rmSync(root, { recursive: true, force: true });
  });
  function withStore() {
    let t = 1_000_000;
    const file = join(mkdtempSync(join(root, 'db-')), 'coffer.db');
    const store = openSqliteStore({ file });
    stores.push(store);
    /** Codes the table holds, unredeemed and redeemed (kept until they expire, to answer a second redemption). */
    const size = () => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare<[], { codes: number; redeemed: number; sources: number }>(
          'SELECT count(*) FILTER (WHERE redeemed = 0) AS codes, count(*) FILTER (WHERE redeemed = 1) AS redeemed, count(DISTINCT source) FILTER (WHERE redeemed = 0) AS sources FROM auth_codes',
        ).get();
      } finally {
        db.close();
      }
    };
    /** Runs SQL on the database, as someone who can write it (but holds no key) would. */
    const edit = (sql: string) => {
      const db = new Database(file);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    };
    return { codes: createAuthCodes(store.signInCodes, (c) => hasher.tokenHash('auth-code', c), () => t), size, edit, advance: (s: number) => (t += s) };
  }

  it("a code names its user: its row given to another user in the database redeems nothing", async () => {
    const { codes, edit } = withStore();
    const verifier = randomBytes(32).toString('base64url');
    const pkce = { ...code('10.0.0.1'), challenge: createHash('sha256').update(verifier).digest('base64url') };
    const mine = await codes.issue(pkce);
    assert.match(mine, /^ac1\.u\.[A-Za-z0-9_-]{43}$/);
    edit("UPDATE auth_codes SET object_id = 'admin'");
    await assert.rejects(codes.redeem(mine, 'c', 'http://127.0.0.1/cb', verifier), /AADSTS70008/);
    const forged = mine.replace('ac1.u.', 'ac1.admin.');
    await assert.rejects(codes.redeem(forged, 'c', 'http://127.0.0.1/cb', verifier), /AADSTS70008/);
    assert.equal((await codes.redeem(await codes.issue(pkce), 'c', 'http://127.0.0.1/cb', verifier)).objectId, 'u');
    await assert.rejects(codes.redeem(randomBytes(32).toString('base64url'), 'c', 'http://127.0.0.1/cb', verifier), /AADSTS70008/, 'a code of another format');
  });

  it('one source holds at most a bounded number unredeemed; redeeming frees its slot', async () => {
    const { codes, size } = withStore();
    const held: string[] = [];
    for (let i = 0; i < MAX_CODES_PER_SOURCE; i++) held.push(await codes.issue(code('10.0.0.1')));
    await assert.rejects(codes.issue(code('10.0.0.1')), (err: { error?: string }) => err.error === 'invalid_request');
    const other = await codes.issue(code('10.0.0.2'));
    await assert.rejects(codes.redeem(held[0]!, 'c', 'http://127.0.0.1/cb', 'wrong verifier'));
    await codes.issue(code('10.0.0.1'));
    for (const c of [...held.slice(1), other]) await assert.rejects(codes.redeem(c, 'other-client', 'http://127.0.0.1/cb', 'v'));
    assert.deepEqual(size(), { codes: 1, redeemed: MAX_CODES_PER_SOURCE + 1, sources: 1 });
  });

  it('a code is redeemed once, even by concurrent redemptions; expired codes, redeemed or not, go', async () => {
    const { codes, size, advance } = withStore();
    const verifier = randomBytes(32).toString('base64url');
    const pkce = { ...code('10.0.0.1'), challenge: createHash('sha256').update(verifier).digest('base64url') };
    const issued = await codes.issue(pkce);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => codes.redeem(issued, 'c', 'http://127.0.0.1/cb', verifier)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.match(String((r.reason as Error).message), /AADSTS54005/);
    const late = await codes.issue(pkce);
    advance(301);
    await assert.rejects(codes.redeem(late, 'c', 'http://127.0.0.1/cb', verifier), /AADSTS70008/);
    await codes.issue(code('10.0.0.3')); // issuing drops what expired
    assert.deepEqual(size(), { codes: 1, redeemed: 0, sources: 1 });
  });
});
