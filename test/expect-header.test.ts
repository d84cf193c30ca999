import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { createVault, credential, secretClient } from './support/clients.js';
import { rawExchange as tlsExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// The Expect header: 100-continue is met (curl sends it for large bodies);
// any other expectation is a 417 in the service's error shape, never Node's
// bare 417 without a body.

describe('Expect header', () => {
  let server: TestServer;
  let token: string;
  const vault = 'expect-vault';

  before(async () => {
    server = await startTestServer();
    await createVault(server, vault);
    await secretClient(server, vault).setSecret('existing', 'kept');
    token = (await credential(server).getToken(`https://${server.bootstrap.vaultDnsSuffix}/.default`)).token;
  });
  after(() => server?.stop());

  /** Sends bytes as they are over TLS and returns what comes back until the server closes the connection. */
  const rawExchange = (url: string, bytes: string) => tlsExchange(server.port, new URL(url).hostname, bytes);

  function parse(answer: string) {
    const at = answer.indexOf('\r\n\r\n');
    const head = answer.slice(0, at);
    const headers = new Map(head.split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const));
    return { status: Number(head.split(' ')[1]), headers, body: answer.slice(at + 4) };
  }

  it('an unknown expectation is a 417 with a JSON error and the usual headers, on every host, and the connection closes', async () => {
    const vaultHost = new URL(server.vaultUrl(vault)).host;
    const bareHost = new URL(server.url).host;
    const cases: Array<[string, string, string]> = [
      ['data plane', vaultHost, `GET /secrets/existing?api-version=7.6 HTTP/1.1\r\nHost: ${vaultHost}\r\nAuthorization: Bearer ${token}\r\nExpect: foo\r\n\r\n`],
      ['data plane, with a body', vaultHost, `PUT /secrets/other?api-version=7.6 HTTP/1.1\r\nHost: ${vaultHost}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 13\r\nExpect: 200-ok\r\n\r\n{"value":"x"}`],
      ['management plane', bareHost, `GET /subscriptions/${server.bootstrap.subscriptionId}/providers/Microsoft.KeyVault/vaults?api-version=2024-11-01 HTTP/1.1\r\nHost: ${bareHost}\r\nExpect: foo\r\n\r\n`],
    ];
    for (const [label, host, bytes] of cases) {
      const answer = parse(await rawExchange(`https://${host}`, bytes));
      assert.equal(answer.status, 417, `${label}: ${answer.body}`);
      assert.match(answer.headers.get('content-type') ?? '', /^application\/json/, label);
      assert.match(answer.headers.get('x-ms-request-id') ?? '', /^[0-9a-f-]{36}$/, label);
      assert.equal(answer.headers.get('connection'), 'close', label);
      const error = (JSON.parse(answer.body) as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'BadParameter', label);
      assert.match(error.message, /Expect header is not supported; only '100-continue' is\./, label);
    }
    // Nothing was stored, and the server still answers.
    await assert.rejects(secretClient(server, vault).getSecret('other'), { statusCode: 404 });
    assert.equal((await secretClient(server, vault).getSecret('existing')).value, 'kept');
  });

  it('an unknown expectation refused for another reason first still closes the connection: its next request is never read as the body', async () => {
    const host = new URL(server.url).host;
    const cases: Array<[string, string]> = [
      ['two Host headers', `PUT /healthz HTTP/1.1\r\nHost: ${host}\r\nHost: ${host}\r\nExpect: foo\r\nContent-Length: 60\r\n\r\n`],
      ['U+0000 in the URI', `PUT /healthz%00 HTTP/1.1\r\nHost: ${host}\r\nExpect: foo\r\nContent-Length: 60\r\n\r\n`],
      ['a URI that does not decode (refused before any hook)', `PUT /x%zz HTTP/1.1\r\nHost: ${host}\r\nExpect: foo\r\nContent-Length: 60\r\n\r\n`],
    ];
    for (const [label, bytes] of cases) {
      // The client waits for the server before sending its body; what it sends next is another request.
      const answer = await Promise.race([
        rawExchange(server.url, `${bytes}GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
        new Promise<string>((resolve) => setTimeout(() => resolve('kept open'), 3000).unref()),
      ]);
      assert.notEqual(answer, 'kept open', `${label}: the connection stayed open`);
      const first = parse(answer);
      assert.equal(first.status, 400, label);
      assert.equal(first.headers.get('connection'), 'close', label);
    }
  });

  it('Expect: 100-continue gets 100 Continue, then the request is served', async () => {
    const body = JSON.stringify({ value: 'y'.repeat(20_000) });
    const url = new URL(`${server.vaultUrl(vault)}/secrets/continued?api-version=7.6`);
    const result = await new Promise<{ status: number; continued: boolean; text: string }>((resolve, reject) => {
      let continued = false;
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, text }));
        },
      );
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('error', reject);
    });
    assert.equal(result.continued, true);
    assert.equal(result.status, 200, result.text);
    assert.equal((await secretClient(server, vault).getSecret('continued')).value, 'y'.repeat(20_000));
  });

  it('HTTP/1.0 has no Expect: the header is ignored', async () => {
    const host = new URL(server.vaultUrl(vault)).host;
    const answer = parse(await rawExchange(`https://${host}`, `GET /secrets/existing?api-version=7.6 HTTP/1.0\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nExpect: foo\r\n\r\n`));
    assert.equal(answer.status, 200, answer.body);
    assert.equal((JSON.parse(answer.body) as { value: string }).value, 'kept');
  });
});
