import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { chmodSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureTlsMaterial } from '../src/tls/certificates.js';
import { retryDelayMs, Session } from '../src/cli/session.js';
import type { HttpResponse } from '../src/cli/http-client.js';
import { writeProfile } from '../src/cli/profile.js';

// The CLI session's retries against a scripted HTTPS server: throttling is
// waited out (Retry-After honoured, bounded), and a refused cached token is
// replaced once, never in a loop.

const answer = (status: number, headers: Record<string, string> = {}): HttpResponse => ({ status, headers, text: '', json: <T>() => undefined as T });

describe('CLI session retries', () => {
  let server: Server;
  let url: string;
  let caFile: string;
  const script: Array<{ status: number; headers?: Record<string, string> }> = [];
  const seen: Array<{ path: string; auth: string }> = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-session-'));
    process.env.COFFER_HOME = join(dir, 'home');
    const tls = await ensureTlsMaterial({ caDir: join(dir, 'ca'), certDir: join(dir, 'cert'), dnsNames: ['localhost'], ipAddresses: [] });
    caFile = tls.caFile;
    server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      if (req.url?.endsWith('/oauth2/v2.0/token')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `fresh-${seen.length}`, expires_in: 3600 }));
        return;
      }
      seen.push({ path: req.url ?? '', auth: req.headers.authorization ?? '' });
      const next = script.shift() ?? { status: 200 };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers }).end(next.status === 200 ? '{"ok":true}' : '{"error":{"code":"Throttled","message":"slow down"}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://localhost:${(server.address() as { port: number }).port}`;
  });
  after(() => server?.close());

  const session = () =>
    new Session({
      server: url,
      tenantId: 't',
      subscriptionId: 's',
      vaultDnsSuffix: 'vault.localhost',
      caFile,
      login: { type: 'servicePrincipal', clientId: 'c', clientSecret: 'x' },
      tokens: { [url]: { token: 'cached', expiresOn: Math.floor(Date.now() / 1000) + 3600 } },
    });

  it('waits out 429s and a 503 with Retry-After, then gives up after three retries', async () => {
    seen.length = 0;
    script.push({ status: 429, headers: { 'retry-after': '0' } }, { status: 503, headers: { 'retry-after': '0' } });
    assert.deepEqual(await session().call('GET', `${url}/x`, url), { ok: true });
    assert.equal(seen.length, 3);

    seen.length = 0;
    script.push(...Array.from({ length: 5 }, () => ({ status: 429, headers: { 'retry-after': '0' } })));
    await assert.rejects(session().call('GET', `${url}/x`, url), /slow down/);
    assert.equal(seen.length, 4, 'the first try and three retries');
    script.length = 0;
  });

  it('retries a write after a 429 but never after a 503, which may come once the change is stored', async () => {
    seen.length = 0;
    script.push({ status: 429, headers: { 'retry-after': '0' } });
    assert.deepEqual(await session().call('PUT', `${url}/w`, url, { value: 'v' }), { ok: true });
    assert.equal(seen.length, 2);

    seen.length = 0;
    script.push({ status: 503, headers: { 'retry-after': '0' } });
    await assert.rejects(session().call('PUT', `${url}/w`, url, { value: 'v' }), /slow down/);
    assert.equal(seen.length, 1, 'one PUT: a retry could store the secret twice');
    script.length = 0;
  });

  it('replaces a refused cached token once, and does not loop when the new one is refused too', async () => {
    seen.length = 0;
    script.push({ status: 401 });
    assert.deepEqual(await session().call('GET', `${url}/y`, url), { ok: true });
    assert.deepEqual(seen.map((s) => s.auth), ['Bearer cached', 'Bearer fresh-1']);

    seen.length = 0;
    script.push({ status: 401 }, { status: 401 }, { status: 401 });
    await assert.rejects(session().call('GET', `${url}/y`, url));
    assert.equal(seen.length, 2);
    script.length = 0;
  });

  it('reads Retry-After as seconds or a date, bounds it, and retries nothing else', () => {
    assert.equal(retryDelayMs(answer(429, { 'retry-after': '7' }), 0), 7000);
    assert.equal(retryDelayMs(answer(429, { 'retry-after': '86400' }), 0), 60_000);
    const inTwo = new Date(Date.now() + 2500).toUTCString();
    assert.ok((retryDelayMs(answer(429, { 'retry-after': inTwo }), 0) ?? 0) > 500);
    assert.equal(retryDelayMs(answer(429), 2), 4000);
    assert.equal(retryDelayMs(answer(429), 3), null);
    assert.equal(retryDelayMs(answer(503), 0), null);
    assert.equal(retryDelayMs(answer(503, { 'retry-after': '1' }), 0, 'GET'), 1000);
    assert.equal(retryDelayMs(answer(503, { 'retry-after': '1' }), 0, 'DELETE'), null);
    assert.equal(retryDelayMs(answer(429, { 'retry-after': '1' }), 0, 'DELETE'), 1000);
    assert.equal(retryDelayMs(answer(500, { 'retry-after': '1' }), 0), null);
  });

  it('makes a new COFFER_HOME private, and leaves the mode of one that exists (a shared directory) alone', () => {
    const base = mkdtempSync(join(tmpdir(), 'coffer-home-'));
    const profile = session().profile;
    process.env.COFFER_HOME = join(base, 'new');
    writeProfile(profile);
    assert.equal(statSync(join(base, 'new')).mode & 0o777, 0o700);
    const shared = join(base, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o755);
    process.env.COFFER_HOME = shared;
    writeProfile(profile);
    assert.equal(statSync(shared).mode & 0o777, 0o755);
    assert.equal(statSync(join(shared, 'profile.json')).mode & 0o777, 0o600);
  });
});
