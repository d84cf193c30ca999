import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { headerFault, originForm, unsupportedTransferCoding } from '../src/server/header-faults.js';

// The header checks every request passes (src/server/header-faults.ts);
// test/input-validation.test.ts sends the refused ones to a running server.

function request(url: string, hosts: string[], version = '1.1', more: string[] = []): IncomingMessage {
  const [major, minor] = version.split('.').map(Number);
  return {
    url,
    rawHeaders: [...hosts.flatMap((h) => ['Host', h]), 'Accept', '*/*', ...more],
    headers: hosts.length > 0 ? { host: hosts[0] } : {},
    httpVersionMajor: major,
    httpVersionMinor: minor,
  } as unknown as IncomingMessage;
}

test('one Host is needed on HTTP/1.1, and two are refused', () => {
  assert.equal(headerFault(request('/secrets/x', ['kv.vault.localhost:8443'])), null);
  assert.equal(headerFault(request('/secrets/x', [])), 'The request has no Host header.');
  assert.equal(headerFault(request('/secrets/x', [], '1.0')), null, 'HTTP/1.0 has no Host header to require');
  assert.equal(headerFault(request('/secrets/x', ['a.vault.localhost', 'b.vault.localhost'])), 'The request has more than one Host header.');
});

test("an absolute-form target must name the Host header's host, a scheme's default port or letter case aside", () => {
  const agree: Array<[string, string]> = [
    ['https://kv.vault.localhost:8443/secrets/x', 'kv.vault.localhost:8443'],
    ['https://KV.vault.localhost:8443/secrets/x', 'kv.VAULT.localhost:8443'],
    ['https://kv.vault.local:443/secrets', 'kv.vault.local:443'],
    ['https://kv.vault.local/secrets', 'kv.vault.local:443'],
    ['http://kv.vault.local:80/x', 'kv.vault.local'],
  ];
  for (const [url, host] of agree) assert.equal(headerFault(request(url, [host])), null, `${url} with Host ${host}`);
  const differ: Array<[string, string]> = [
    ['https://other.vault.localhost:8443/secrets/x', 'kv.vault.localhost:8443'],
    ['https://kv.vault.localhost:9443/secrets/x', 'kv.vault.localhost:8443'],
  ];
  for (const [url, host] of differ) assert.equal(headerFault(request(url, [host])), 'The request target names another host than the Host header.', `${url} with Host ${host}`);
});

test('a Host that is not a host name and port, or an Authorization or Content-Type given twice, is refused', () => {
  for (const host of ['kv.vault.localhost', 'kv.vault.localhost:8443', '127.0.0.1:8443', '[::1]:8443', '[::1]', 'KV.Vault.Localhost.']) {
    assert.equal(headerFault(request('/secrets/x', [host])), null, host);
  }
  for (const host of ['', ' ', 'kv.vault.localhost:abc', 'kv.vault.localhost:', 'kv.vault.localhost:123456', 'user@kv.vault.localhost', 'kv vault', 'kv.vault.localhost/x', '::1:8443']) {
    assert.equal(headerFault(request('/secrets/x', [host])), "The request's Host header is not a host name, with a port of digits if any.", JSON.stringify(host));
  }
  const twice = (name: string) => request('/secrets/x', ['kv.vault.localhost'], '1.1', [name, 'a', name.toUpperCase(), 'b']);
  assert.equal(headerFault(twice('Authorization')), 'The request has more than one Authorization header.');
  assert.equal(headerFault(twice('content-type')), 'The request has more than one Content-Type header.');
  assert.equal(headerFault(request('/secrets/x', ['kv.vault.localhost'], '1.1', ['Authorization', 'Bearer x', 'Accept', 'a'])), null, 'other headers may repeat');
});

test('an absolute-form target is routed by its path and query alone; origin form is left as it is', () => {
  const cases: Array<[string, string]> = [
    ['https://kv.vault.localhost:8443/secrets/x?api-version=7.6', '/secrets/x?api-version=7.6'],
    ['https://localhost:8443', '/'],
    ['https://localhost:8443?a=1', '/?a=1'],
    ['http://h/a%2Fb/../c', '/a%2Fb/../c'],
    ['/secrets/..', '/secrets/..'],
    ['*', '*'],
  ];
  for (const [url, routed] of cases) assert.equal(originForm({ url } as IncomingMessage), routed, url);
});

test('a transfer coding other than chunked is named; chunked alone, or none, is not', () => {
  const withTe = (te?: string) => ({ headers: te === undefined ? {} : { 'transfer-encoding': te } }) as IncomingMessage;
  assert.equal(unsupportedTransferCoding(withTe()), null);
  assert.equal(unsupportedTransferCoding(withTe('chunked')), null);
  assert.equal(unsupportedTransferCoding(withTe(' Chunked ')), null);
  assert.equal(unsupportedTransferCoding(withTe('gzip, chunked')), 'gzip');
  assert.equal(unsupportedTransferCoding(withTe('deflate,gzip,chunked')), 'deflate, gzip');
});
