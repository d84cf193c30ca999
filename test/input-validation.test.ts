import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVault, credential, secretClient } from './support/clients.js';
import { rawExchange as tlsExchange, rawRequest } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Bad input gets Azure's 400 BadParameter (or the status Azure uses) and
// leaves the stored data exactly as it was.

describe('data-plane input validation', () => {
  let server: TestServer;
  let token: string;
  const vault = 'input-vault';
  let base: string;

  before(async () => {
    server = await startTestServer();
    await createVault(server, vault);
    await secretClient(server, vault).setSecret('existing', 'untouched', { tags: { keep: 'yes' } });
    token = (await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`)).token;
    base = server.vaultUrl(vault);
  });
  after(() => server?.stop());

  async function snapshot() {
    const client = secretClient(server, vault);
    const names: string[] = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(`${p.name}@${p.version}`);
    const existing = await client.getSecret('existing');
    return { names: names.sort(), value: existing.value, tags: existing.properties.tags };
  }

  async function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) {
    const res = await rawRequest(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body,
    });
    return { status: res.status, body: res.text ? (JSON.parse(res.text) as { error?: { code: string; message: string } }) : null };
  }

  const json = (v: unknown) => JSON.stringify(v);
  const cases: Array<{ name: string; method: string; path: string; body?: string | Buffer; headers?: Record<string, string>; status: number; code: string; message?: RegExp }> = [
    { name: 'empty name', method: 'PUT', path: '/secrets/?api-version=7.6', body: json({ value: 'x' }), status: 400, code: 'BadParameter' },
    { name: '128-character name', method: 'PUT', path: `/secrets/${'a'.repeat(128)}?api-version=7.6`, body: json({ value: 'x' }), status: 400, code: 'BadParameter', message: /invalid name/ },
    { name: 'underscore in name', method: 'PUT', path: '/secrets/my_secret?api-version=7.6', body: json({ value: 'x' }), status: 400, code: 'BadParameter', message: /invalid name: my_secret/ },
    { name: 'non-ASCII name', method: 'PUT', path: `/secrets/${encodeURIComponent('sécret')}?api-version=7.6`, body: json({ value: 'x' }), status: 400, code: 'BadParameter' },
    { name: 'dot-dot name', method: 'PUT', path: '/secrets/..?api-version=7.6', body: json({ value: 'x' }), status: 400, code: 'BadParameter' },
    { name: 'value over 25 KB', method: 'PUT', path: '/secrets/big?api-version=7.6', body: json({ value: 'x'.repeat(25 * 1024 + 1) }), status: 400, code: 'BadParameter', message: /^Secret is beyond the maximum permitted length of 25600 characters\.$/ },
    { name: '16 tags', method: 'PUT', path: '/secrets/tagged?api-version=7.6', body: json({ value: 'x', tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, 'v'])) }), status: 400, code: 'BadParameter', message: /^Property has invalid value\r\n$/ },
    { name: 'over-long tag value', method: 'PUT', path: '/secrets/tagged?api-version=7.6', body: json({ value: 'x', tags: { t: 'v'.repeat(513) } }), status: 400, code: 'BadParameter' },
    { name: 'non-string value', method: 'PUT', path: '/secrets/typed?api-version=7.6', body: json({ value: 42 }), status: 400, code: 'BadParameter' },
    { name: 'missing value', method: 'PUT', path: '/secrets/typed?api-version=7.6', body: json({}), status: 400, code: 'BadParameter' },
    { name: 'malformed JSON', method: 'PUT', path: '/secrets/existing?api-version=7.6', body: '{"value": "x"', status: 400, code: 'BadParameter' },
    { name: 'JSON array body', method: 'PUT', path: '/secrets/existing?api-version=7.6', body: '[1,2]', status: 400, code: 'BadParameter' },
    { name: 'wrong content type', method: 'PUT', path: '/secrets/existing?api-version=7.6', body: 'value=x', headers: { 'content-type': 'text/plain' }, status: 415, code: 'BadParameter' },
    { name: 'an HTML form body', method: 'PUT', path: '/secrets/existing?api-version=7.6', body: 'value=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'BadParameter' },
    { name: 'a JSON look-alike type', method: 'PUT', path: '/secrets/existing?api-version=7.6', body: json({ value: 'x' }), headers: { 'content-type': 'application/jsonx' }, status: 415, code: 'BadParameter' },
    { name: 'bytes that are not UTF-8', method: 'PUT', path: '/secrets/existing?api-version=7.6', body: Buffer.concat([Buffer.from('{"value": "bad '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), status: 400, code: 'BadParameter', message: /not valid UTF-8/ },
    { name: 'a charset other than UTF-8', method: 'PUT', path: '/secrets/existing?api-version=7.6', body: json({ value: 'x' }), headers: { 'content-type': 'application/json; charset=utf-16' }, status: 415, code: 'BadParameter' },
    { name: 'a compressed body', method: 'PUT', path: '/secrets/existing?api-version=7.6', body: json({ value: 'x' }), headers: { 'content-encoding': 'gzip' }, status: 415, code: 'BadParameter', message: /content encoding 'gzip' is not supported/ },
    { name: 'missing api-version', method: 'PUT', path: '/secrets/existing', body: json({ value: 'x' }), status: 400, code: 'BadParameter', message: /api-version/ },
    { name: 'malformed api-version', method: 'GET', path: '/secrets/existing?api-version=banana', status: 400, code: 'BadParameter' },
    { name: 'unpublished old dated api-version', method: 'GET', path: '/secrets/existing?api-version=1999-01-01', status: 400, code: 'BadParameter', message: /The specified version \(1999-01-01\) is not recognized\. Consider using the latest supported version \(2025-07-01\)/ },
    { name: 'api-version below 7.0, preview or not', method: 'GET', path: '/secrets/existing?api-version=6.0-preview', status: 400, code: 'BadParameter', message: /is not recognized/ },
    { name: 'maxresults 26', method: 'GET', path: '/secrets?api-version=7.6&maxresults=26', status: 400, code: 'BadParameter' },
    { name: 'maxresults in hex', method: 'GET', path: '/secrets?api-version=7.6&maxresults=0x2', status: 400, code: 'BadParameter' },
    { name: 'maxresults in exponent form', method: 'GET', path: '/secrets?api-version=7.6&maxresults=1e1', status: 400, code: 'BadParameter' },
    { name: 'maxresults with spaces', method: 'GET', path: '/secrets?api-version=7.6&maxresults=%202', status: 400, code: 'BadParameter' },
    { name: 'bad skiptoken', method: 'GET', path: '/secrets?api-version=7.6&$skiptoken=%3C%3E', status: 400, code: 'BadParameter' },
    { name: 'update changing the value', method: 'PATCH', path: '/secrets/existing?api-version=7.6', body: json({ value: 'changed' }), status: 400, code: 'BadParameter' },
    { name: 'bad attributes', method: 'PATCH', path: '/secrets/existing?api-version=7.6', body: json({ attributes: { enabled: 'yes' } }), status: 400, code: 'BadParameter' },
    { name: 'tags not strings', method: 'PATCH', path: '/secrets/existing?api-version=7.6', body: json({ tags: { keep: 1 } }), status: 400, code: 'BadParameter' },
    { name: 'restore of garbage', method: 'POST', path: '/secrets/restore?api-version=7.6', body: json({ value: 'AAAA' }), status: 400, code: 'Malformed backup blob', message: /^Backup blob contains invalid or corrupt version\.$/ },
    { name: 'U+0000 in contentType', method: 'PUT', path: '/secrets/nul-field?api-version=7.6', body: json({ value: 'x', contentType: 'text/\u0000plain' }), status: 400, code: 'BadParameter', message: /Property contentType contains the character U\+0000/ },
    { name: 'U+0000 in a tag value', method: 'PATCH', path: '/secrets/existing?api-version=7.6', body: json({ tags: { keep: 'n\u0000o' } }), status: 400, code: 'BadParameter', message: /Property tags\.keep / },
    { name: 'U+0000 in a tag name', method: 'PUT', path: '/secrets/nul-field?api-version=7.6', body: json({ value: 'x', tags: { 'a\u0000b': 'v' } }), status: 400, code: 'BadParameter', message: /Property tags\.a\uFFFDb / },
    { name: 'lone surrogate in the value', method: 'PUT', path: '/secrets/existing?api-version=7.6', body: '{"value": "half \\ud83d of an emoji"}', status: 400, code: 'BadParameter', message: /Property value contains a lone UTF-16 surrogate/ },
    { name: 'lone low surrogate in a tag', method: 'PATCH', path: '/secrets/existing?api-version=7.6', body: '{"tags": {"keep": "\\ude00"}}', status: 400, code: 'BadParameter', message: /Property tags\.keep contains a lone UTF-16 surrogate/ },
    { name: 'lone surrogate in contentType', method: 'PUT', path: '/secrets/lone?api-version=7.6', body: '{"value": "x", "contentType": "text/\\uD800"}', status: 400, code: 'BadParameter', message: /Property contentType / },
    { name: '%00 in the query', method: 'GET', path: '/secrets/existing?api-version=7.6&x=%00', status: 400, code: 'BadParameter', message: /U\+0000/ },
    { name: 'skiptoken that is not a cursor of ours', method: 'GET', path: '/secrets?api-version=7.6&$skiptoken=AAAA', status: 400, code: 'BadParameter', message: /skiptoken/ },
    { name: 'unknown version', method: 'GET', path: '/secrets/existing/0123456789abcdef0123456789abcdef?api-version=7.6', status: 404, code: 'SecretNotFound' },
    { name: 'unknown secret', method: 'GET', path: '/secrets/nothing-here?api-version=7.6', status: 404, code: 'SecretNotFound', message: /A secret with \(name\/id\) nothing-here was not found in this key vault/ },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.code}, nothing changed`, async () => {
      const before = await snapshot();
      const res = await call(c.method, c.path, c.body, c.headers);
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      assert.equal(res.body?.error?.code, c.code);
      if (c.message) assert.match(res.body!.error!.message, c.message);
      assert.deepEqual(await snapshot(), before);
    });
  }

  it('set on a soft-deleted name: 409 ObjectIsDeletedButRecoverable, nothing changed', async () => {
    const client = secretClient(server, vault);
    await client.setSecret('tombstone', 'gone');
    await (await client.beginDeleteSecret('tombstone')).pollUntilDone();
    const before = await snapshot();
    const res = await call('PUT', '/secrets/tombstone?api-version=7.6', json({ value: 'new' }));
    assert.equal(res.status, 409);
    assert.equal(res.body?.error?.code, 'Conflict');
    assert.equal((res.body?.error as { innererror?: { code: string } }).innererror?.code, 'ObjectIsDeletedButRecoverable');
    assert.deepEqual(await snapshot(), before);
    assert.equal((await client.getDeletedSecret('tombstone')).name, 'tombstone');
  });

  it("every answer carries Key Vault's service version and the address it saw the client connect from", async () => {
    for (const [method, path, auth] of [
      ['GET', '/secrets/existing?api-version=7.6', true],
      ['GET', '/secrets/nothing-here?api-version=7.6', true],
      ['GET', '/secrets?api-version=7.6', false],
    ] as const) {
      const res = await rawRequest(`${base}${path}`, { method, headers: auth ? { authorization: `Bearer ${token}` } : {} });
      assert.match(String(res.headers['x-ms-keyvault-service-version']), /^\d+\.\d+\.\d+/, path);
      assert.equal(res.headers['x-ms-keyvault-network-info'], 'conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;', path);
    }
  });

  it('answers that may carry a value are not to be cached', async () => {
    for (const [method, path, body] of [
      ['GET', '/secrets/existing?api-version=7.6', undefined],
      ['PUT', '/secrets/cached?api-version=7.6', json({ value: 'v' })],
      ['GET', '/secrets?api-version=7.6', undefined],
    ] as const) {
      const res = await rawRequest(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers['cache-control'], 'no-store', `${method} ${path}`);
      assert.equal(res.headers.pragma, 'no-cache');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-ms-keyvault-region'], 'local');
      // A vault host's own (see the next test).
      assert.equal(res.headers['strict-transport-security'], 'max-age=31536000');
    }
  });

  it("the bare host's answers (ARM, Graph, sign-in, errors) are not to be read as another type than they say (nosniff)", async () => {
    for (const path of [`/subscriptions/${server.bootstrap.subscriptionId}/resourcegroups?api-version=2021-04-01`, '/v1.0/users', '/healthz', '/no-such-path']) {
      assert.equal((await fetch(`${server.url}${path}`)).headers.get('x-content-type-options'), 'nosniff', path);
    }
  });

  it('every answer asks browsers for HTTPS only (HSTS), unless the request names plain localhost', async () => {
    const hsts = async (url: string) => (await fetch(url)).headers.get('strict-transport-security');
    // The default public host is localhost: its bare host stays without, so other local servers keep plain HTTP.
    assert.equal(await hsts(`${server.url}/healthz`), null);
    const named = await startTestServer({ args: ['--public-host', 'coffer.localhost'] });
    try {
      const vaultAnswer = await fetch(`${named.vaultUrl('no-such-kv')}/secrets?api-version=7.6`);
      assert.equal(vaultAnswer.status, 404);
      assert.equal(vaultAnswer.headers.get('strict-transport-security'), 'max-age=31536000', 'a vault host');
      // The bare host too (sign-in, portal, ARM), errors included.
      const bare = named.bootstrap.authorityHost;
      for (const path of ['/healthz', '/portal/', '/no-such-path']) assert.equal(await hsts(`${bare}${path}`), 'max-age=31536000', path);
      // The same server reached as localhost (its certificate covers it): not there.
      assert.equal(await hsts(`${named.url}/healthz`), null);
    } finally {
      await named.stop();
    }
  });

  it('a value may hold U+0000: it is stored encrypted and comes back as sent', async () => {
    const client = secretClient(server, vault);
    await client.setSecret('nul-value', 'before\u0000after');
    assert.equal((await client.getSecret('nul-value')).value, 'before\u0000after');
  });

  it('a value with surrogate pairs (escaped or not) comes back as sent', async () => {
    const sent = 'emoji \u{1F600} and \u{10FFFF}';
    const escaped = JSON.stringify({ value: sent }).replace(/[\u{10000}-\u{10FFFF}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}\\u${c.charCodeAt(1).toString(16)}`);
    assert.match(escaped, /\\ud83d\\ude00/);
    const res = await call('PUT', '/secrets/pairs?api-version=7.6', escaped);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await secretClient(server, vault).getSecret('pairs')).value, sent);
  });

  it('a JSON body that starts with a UTF-8 byte order mark is read without it', async () => {
    const res = await call('PUT', '/secrets/bom?api-version=7.6', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ value: '\uFEFFkept inside' }))]));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await secretClient(server, vault).getSecret('bom')).value, '\uFEFFkept inside', 'only the mark before the JSON goes');
  });

  it('U+0000 in a token request field: 400 invalid_request', async () => {
    const res = await rawRequest(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=abc%00def&client_secret=x&scope=https%3A%2F%2Fvault.azure.net%2F.default',
    });
    assert.equal(res.status, 400, res.text);
    assert.equal((JSON.parse(res.text) as { error: string }).error, 'invalid_request');
  });

  it('every published api-version, and a future one, is accepted', async () => {
    for (const v of ['2015-06-01', '2016-10-01', '7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6', '7.6-preview.2', '2025-07-01', '2027-01-01']) {
      const res = await call('GET', `/secrets/existing?api-version=${v}`);
      assert.equal(res.status, 200, `api-version ${v}`);
      // The recovery attributes as each version defines them: recoveryLevel since 2016-10-01, recoverableDays since 7.1.
      const shown = Object.keys((res.body as unknown as { attributes: object }).attributes).filter((k) => k.startsWith('recover'));
      const expected = v === '2015-06-01' ? [] : v === '2016-10-01' || v === '7.0' ? ['recoveryLevel'] : ['recoverableDays', 'recoveryLevel'];
      assert.deepEqual(shown, expected, `api-version ${v}`);
    }
  });

  it('an api-version that is not a date or a small version number is refused', async () => {
    for (const v of ['2099-13-45', '2027-02-30', '99999999999999999999.0', '7.99999', '7.6-preview.99999']) {
      const res = await call('GET', `/secrets/existing?api-version=${v}`);
      assert.equal(res.status, 400, `api-version ${v}`);
      assert.equal(res.body?.error?.code, 'BadParameter', v);
    }
  });

  /** Sends bytes as they are over TLS and returns what comes back until the server closes the connection (each request here makes it close). */
  const rawExchange = (host: string, bytes: string) => tlsExchange(server.port, host, bytes);

  it('requests that are not valid HTTP get the service’s error shape, then the connection closes', async () => {
    const host = new URL(base).hostname;
    const cases: Array<[string, string, number, RegExp?]> = [
      ['a bad request line', 'GARBAGE\r\n\r\n', 400],
      ['two Content-Lengths', `PUT /secrets/x?api-version=7.6 HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`, 400],
      ['a control character in a header', `GET /secrets/x?api-version=7.6 HTTP/1.1\r\nHost: ${host}\r\nX-Bad: a\u0001b\r\n\r\n`, 400],
      ['no Host header', 'GET /secrets/x?api-version=7.6 HTTP/1.1\r\nConnection: close\r\n\r\n', 400, /^The request has no Host header\.$/],
      ['two Host headers', `GET /secrets/x?api-version=7.6 HTTP/1.1\r\nHost: ${host}\r\nHost: other.${host}\r\nConnection: close\r\n\r\n`, 400, /more than one Host header/],
      ['an empty Host header', 'GET /secrets/x?api-version=7.6 HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n', 400, /Host header is not a host name/],
      ['a Host port that is not digits', `GET /secrets/x?api-version=7.6 HTTP/1.1\r\nHost: ${host.split(':')[0]}:abc\r\nConnection: close\r\n\r\n`, 400, /Host header is not a host name/],
      ['two Authorization headers', `GET /secrets/x?api-version=7.6 HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\nConnection: close\r\n\r\n`, 400, /more than one Authorization header/],
      ['an absolute-form target naming another host', `GET https://other.${host}/secrets/x?api-version=7.6 HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 400, /names another host than the Host header/],
      ['a body without a content type', `PUT /secrets/x?api-version=7.6 HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`, 415, /has a body but no content type/],
      ['headers over the limit', `GET /secrets/x?api-version=7.6 HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ];
    for (const [label, bytes, status, message] of cases) {
      const answer = await rawExchange(host, bytes);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `), `${label}: ${answer.slice(0, 200)}`);
      const error = (JSON.parse(body) as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'BadParameter', label);
      if (message) assert.match(error.message, message, label);
    }
  });

  it('OPTIONS that is not the portal’s preflight is a 404 in the service’s shape', async () => {
    const res = await rawRequest(`${base}/secrets/existing?api-version=7.6`, { method: 'OPTIONS' });
    assert.equal(res.status, 404);
    assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'NotFound');
  });

  it('a vault that does not exist: 404', async () => {
    const res = await fetch(`${server.vaultUrl('no-such-vault')}/secrets/x?api-version=7.6`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 404);
  });
});
