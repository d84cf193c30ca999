import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVault, credential, secretClient } from './support/clients.js';
import { api, assignRole, newServicePrincipal, ROLE_IDS, statusOf, type Principal } from './support/access-kit.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// GET /coffer/metrics: Prometheus's text format, for a scraper signed in with
// a role that reads the subscription (its oauth2 client credentials), never
// for anyone else; requests counted by operation and status as they happen.

/** One sample line of the exposition: name, labels, value. */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/;

async function scrape(server: TestServer, token?: string) {
  const res = await fetch(`${server.url}/coffer/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), challenge: res.headers.get('www-authenticate'), text: await res.text() };
}

/** The value of the sample `name{labels}` (labels in the order written), or 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('GET /coffer/metrics', () => {
  let server: TestServer;
  let scraperToken: string;
  let outsiderToken: string;
  let scraper: Principal;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'metrics-vault');
    await secretClient(server, 'metrics-vault').setSecret('counted', 'value');
    scraper = await newServicePrincipal(server, 'prometheus');
    const outsider = await newServicePrincipal(server, 'not-a-scraper');
    const assigned = await assignRole(server, `/subscriptions/${server.bootstrap.subscriptionId}`, ROLE_IDS.Reader, scraper.id, { principalType: 'ServicePrincipal' });
    assert.equal(assigned.status, 201, JSON.stringify(assigned.body));
    scraperToken = (await credential(server, scraper.appId, scraper.secret).getToken(`${server.url}/.default`)).token;
    outsiderToken = (await credential(server, outsider.appId, outsider.secret).getToken(`${server.url}/.default`)).token;
  });
  after(() => server?.stop());

  it('answers a Reader of the subscription, and no one else', async () => {
    const anonymous = await scrape(server);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.challenge ?? '', /^Bearer /);
    const outsider = await scrape(server, outsiderToken);
    assert.equal(outsider.status, 403);
    assert.equal(JSON.parse(outsider.text).error.code, 'AuthorizationFailed');
    const scraper = await scrape(server, scraperToken);
    assert.equal(scraper.status, 200, scraper.text);
    assert.equal(scraper.type, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it("takes the token Prometheus's oauth2 client credentials get (client_secret_basic, the scope from its config)", async () => {
    // As Go's oauth2 clientcredentials sends it: Basic with the URL-encoded id and secret, the scopes space-separated.
    const basic = Buffer.from(`${encodeURIComponent(scraper.appId)}:${encodeURIComponent(scraper.secret)}`).toString('base64');
    const res = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${server.url}/.default` }),
    });
    assert.equal(res.status, 200);
    const { access_token } = (await res.json()) as { access_token: string };
    assert.equal((await scrape(server, access_token)).status, 200);
  });

  it('is well-formed exposition text: every sample of a declared family, histograms cumulative and ending at +Inf = _count', async () => {
    const { text } = await scrape(server, scraperToken);
    assert.ok(text.endsWith('\n'));
    const types = new Map<string, string>();
    const buckets = new Map<string, number[]>();
    for (const line of text.trimEnd().split('\n')) {
      const declared = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
      if (declared) {
        if (declared[1] === 'TYPE') types.set(declared[2]!, declared[3]!);
        continue;
      }
      const m = SAMPLE.exec(line);
      assert.ok(m, `not a sample line: ${line}`);
      const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
      assert.ok(types.has(m[1]!) || types.get(family) === 'histogram', `no TYPE for ${m[1]}`);
      if (m[1]!.endsWith('_bucket')) {
        const key = m[2]!.replace(/,le="[^"]*"/, '');
        buckets.set(key, [...(buckets.get(key) ?? []), Number(m[3] === '+Inf' ? Infinity : m[3])]);
        if (m[2]!.includes('le="+Inf"')) assert.equal(Number(m[3]), sample(text, `coffer_http_request_duration_seconds_count${key}`), key);
      }
    }
    assert.ok(buckets.size > 0);
    for (const [key, counts] of buckets) assert.deepEqual(counts, [...counts].sort((a, b) => a - b), `${key} is cumulative`);
    for (const family of ['coffer_http_requests_total', 'coffer_http_request_duration_seconds', 'coffer_audit_healthy', 'process_resident_memory_bytes', 'coffer_build_info']) assert.ok(types.has(family), family);
    assert.equal(sample(text, 'coffer_audit_healthy'), 1);
  });

  it('counts each answered request under its operation and status, as it happens; scrapes stay out of the audit trail', async () => {
    const get = 'coffer_http_requests_total{operation="SecretGet",code="200"}';
    const missing = 'coffer_http_requests_total{operation="SecretGet",code="404"}';
    const latency = 'coffer_http_request_duration_seconds_count{operation="SecretGet"}';
    const before = await scrape(server, scraperToken);
    const client = secretClient(server, 'metrics-vault');
    for (let i = 0; i < 5; i++) await client.getSecret('counted');
    assert.equal(await statusOf(client.getSecret('absent')), 404);
    const after = await scrape(server, scraperToken);
    assert.equal(sample(after.text, get) - sample(before.text, get), 5);
    assert.equal(sample(after.text, missing) - sample(before.text, missing), 1);
    // Every SecretGet answered, whatever its status (the SDK's first request, without a token, gets Key Vault's 401 challenge).
    const allGets = (text: string) => text.split('\n').filter((l) => l.startsWith('coffer_http_requests_total{operation="SecretGet",')).reduce((n, l) => n + Number(l.split(' ')[1]), 0);
    assert.equal(sample(after.text, latency) - sample(before.text, latency), allGets(after.text) - allGets(before.text));
    assert.ok(allGets(after.text) - allGets(before.text) >= 6);
    // The refused scrapes of the first test are counted too, under the route's name.
    assert.ok(sample(after.text, 'coffer_http_requests_total{operation="MetricsRead",code="403"}') >= 1);
    const records = await api(server, 'GET', '/coffer/audit?operation=MetricsRead');
    assert.deepEqual(records.body!.value, []);
  });
});
