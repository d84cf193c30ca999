import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { hostFault } from '../src/server/host-header.js';

// The Host header checks every request passes (src/server/host-header.ts);
// test/input-validation.test.ts sends the refused ones to a running server.

function request(url: string, hosts: string[], version = '1.1'): IncomingMessage {
  const [major, minor] = version.split('.').map(Number);
  return {
    url,
    rawHeaders: [...hosts.flatMap((h) => ['Host', h]), 'Accept', '*/*'],
    headers: hosts.length > 0 ? { host: hosts[0] } : {},
    httpVersionMajor: major,
    httpVersionMinor: minor,
  } as unknown as IncomingMessage;
}

test('one Host is needed on HTTP/1.1, and two are refused', () => {
  assert.equal(hostFault(request('/secrets/x', ['kv.vault.localhost:8443'])), null);
  assert.equal(hostFault(request('/secrets/x', [])), 'The request has no Host header.');
  assert.equal(hostFault(request('/secrets/x', [], '1.0')), null, 'HTTP/1.0 has no Host header to require');
  assert.equal(hostFault(request('/secrets/x', ['a.vault.localhost', 'b.vault.localhost'])), 'The request has more than one Host header.');
});

test("an absolute-form target must name the Host header's host, a scheme's default port or letter case aside", () => {
  const agree: Array<[string, string]> = [
    ['https://kv.vault.localhost:8443/secrets/x', 'kv.vault.localhost:8443'],
    ['https://KV.vault.localhost:8443/secrets/x', 'kv.VAULT.localhost:8443'],
    ['https://kv.vault.local:443/secrets', 'kv.vault.local:443'],
    ['https://kv.vault.local/secrets', 'kv.vault.local:443'],
    ['http://kv.vault.local:80/x', 'kv.vault.local'],
  ];
  for (const [url, host] of agree) assert.equal(hostFault(request(url, [host])), null, `${url} with Host ${host}`);
  const differ: Array<[string, string]> = [
    ['https://other.vault.localhost:8443/secrets/x', 'kv.vault.localhost:8443'],
    ['https://kv.vault.localhost:9443/secrets/x', 'kv.vault.localhost:8443'],
    ['https://kv.vault.localhost:8443/secrets/x', 'bad host'],
  ];
  for (const [url, host] of differ) assert.equal(hostFault(request(url, [host])), 'The request target names another host than the Host header.', `${url} with Host ${host}`);
});
