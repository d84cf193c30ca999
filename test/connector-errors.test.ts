import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { AuthenticationError, AuthenticationRequiredError } from '@azure/identity';
import { connectorConfigSchema } from '../src/connector/connector-config.js';
import { describeDbError } from '../src/connector/db-clients.js';
import { createVaultReader, describeVaultError } from '../src/connector/vault-reader.js';
import { createVaultThrottle, MAX_THROTTLE_WAIT_SECONDS, retryAfterSeconds } from '../src/connector/vault-throttle.js';
import { cliHome, coffer } from './support/cli.js';
import { freePort } from './support/server-fixture.js';

// The connector's words for each failure, checked without a vault or a database
// (connector.test.ts runs the real ones): what the operator reads must say what to change.

describe('connector errors without a server', () => {
  const config = { authority: 'https://vault.example:8443', clientId: 'APP', clientSecretEnv: 'SECRET_ENV', tenantId: 'c0ffee00-0000-4000-8000-000000000001' };
  const secret = { vault: 'v', name: 's' };

  it("the token endpoint refusing the client is the connector's credentials refused, in either of @azure/identity's forms", () => {
    // What ClientSecretCredential throws for coffer's refusal of a wrong secret (MSAL's ServerError, wrapped).
    const wrapped = new AuthenticationRequiredError({ scopes: [], message: 'invalid_client: Error(s): 7000215 - Timestamp: 2026-01-01 00:00:00Z - Description: AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x' });
    const direct = new AuthenticationError(401, { error: 'unauthorized_client', error_description: 'AADSTS700016: Application with identifier APP was not found.' });
    for (const [err, said] of [
      [wrapped, 'invalid_client: Error(s): 7000215 - Description: AADSTS7000215: Invalid client secret provided.'],
      [direct, 'unauthorized_client: AADSTS700016: Application with identifier APP was not found.'],
    ] as const) {
      const e = describeVaultError(err, secret, config);
      assert.equal(e.kind, 'vault-auth');
      assert.equal(e.message, `the connector's credentials were refused by https://vault.example:8443 (${said}): check clientId APP and the client secret in SECRET_ENV`);
    }
  });

  it('a token service that accepts and never answers: every read gives up after vaultTimeoutSeconds (MSAL takes no abort signal)', { timeout: 60_000 }, async () => {
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const reader = createVaultReader(
        connectorConfigSchema.parse({
          authority: `https://127.0.0.1:${port}`,
          tenantId: '00000000-0000-4000-8000-000000000001',
          clientId: '00000000-0000-4000-8000-000000000002',
          vaultTimeoutSeconds: 1,
          integrations: [{ name: 'i', type: 'mysql', host: 'db', database: 'd', secret: { vault: 'vvv', name: 's' } }],
        }),
        'not-a-real-secret',
      );
      // The second read too: it must not wait on the first one's token request, which is still open.
      for (let i = 0; i < 2; i++) {
        // The SDK's abort and the read's own timer fire together: either way, the same words.
        await assert.rejects(reader.read(secret), (e: { kind?: string; message?: string }) => e.kind === 'vault-unreachable' && e.message === `cannot read secret 's' in vault 'v': no answer within 1 s from https://127.0.0.1:${port} or the vault`);
      }
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("a database account blocked after failed sign-ins is db-auth, and a secret's long username is cut short", () => {
    const i = connectorConfigSchema.parse({
      authority: 'https://vault.example:8443', tenantId: '00000000-0000-4000-8000-000000000001', clientId: '00000000-0000-4000-8000-000000000002',
      integrations: [{ name: 'm', type: 'mysql', host: 'db', database: 'd', secret: { vault: 'vvv', name: 's' } }],
    }).integrations[0]!;
    // MariaDB's ER_USER_IS_BLOCKED as mysql2 delivers it (its code is not one of the access-denied names).
    const blocked = Object.assign(new Error('User is blocked because of too many credential errors; unblock with \'FLUSH PRIVILEGES\''), { errno: 4150, code: 'ER_UNKNOWN_ERROR' });
    const e = describeDbError(i, blocked, 'apono');
    assert.equal(e.kind, 'db-auth');
    assert.match(e.message, /mysql at db:3306 has blocked user 'apono' after too many failed sign-ins/);
    const long = describeDbError(i, Object.assign(new Error('denied'), { code: 'ER_ACCESS_DENIED_ERROR' }), 'u'.repeat(20_000));
    assert.ok(long.message.length < 300, long.message.slice(0, 80));
  });

  it('a pinned version, throttling, a foreign tenant, an untrusted certificate and a refused connection each say what to change', () => {
    const pinned = { vault: 'v', name: 's', version: '0123456789abcdef0123456789abcdef' };
    const rest = (statusCode: number, code: string) => Object.assign(new Error(code), { name: 'RestError', statusCode, code, details: { error: { innerError: { code } } } });
    const disabled = describeVaultError(rest(403, 'SecretDisabled'), pinned, config);
    assert.equal(disabled.kind, 'disabled');
    assert.equal(disabled.message, `version ${pinned.version} of secret 's' in vault 'v' (pinned by secret.version) is disabled: enable it (coffer keyvault secret set-attributes --vault-name v --name s --version ${pinned.version} --enabled true) or pin another version`);
    const missing = describeVaultError(rest(404, 'SecretNotFound'), pinned, config);
    assert.equal(missing.kind, 'not-found');
    assert.match(missing.message, /^version 0123456789abcdef0123456789abcdef of secret 's' in vault 'v' \(pinned by secret\.version\) was not found: check the pin against coffer keyvault secret list-versions --vault-name v --name s;/);
    const throttled = describeVaultError(rest(429, 'Throttled'), secret, config);
    assert.equal(throttled.message, "the vault is throttling the connector reading secret 's' in vault 'v' (429 Throttled): it reads again at the next refresh; a longer refreshSeconds asks less often");
    assert.equal(throttled.retryAfterSeconds, undefined);
    const headers = new Map([['retry-after', '30']]);
    const asked = describeVaultError(Object.assign(rest(429, 'Throttled'), { response: { headers } }), secret, config);
    assert.equal(asked.message, "the vault is throttling the connector reading secret 's' in vault 'v' (429 Throttled): it asks again in 30 s (the vault's Retry-After); a longer refreshSeconds asks less often");
    assert.equal(asked.retryAfterSeconds, 30);
    const foreign = describeVaultError(new Error('The current credential is not configured to acquire tokens for tenant 11111111-0000-4000-8000-000000000001. To enable acquiring tokens for this tenant add it to the AdditionallyAllowedTenants on the credential options'), secret, config);
    assert.equal(foreign.kind, 'vault-auth');
    assert.equal(foreign.message, "the vault belongs to tenant 11111111-0000-4000-8000-000000000001, not the connector's tenantId c0ffee00-0000-4000-8000-000000000001: check tenantId in the connector config");
    const request = { url: 'https://v.vault.example:8443/secrets/s?api-version=7.6' };
    const untrusted = describeVaultError(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN', request }), secret, config);
    assert.equal(untrusted.message, "cannot read secret 's' in vault 'v': https://v.vault.example:8443's TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN): set caFile in the connector config to the CA that issued it (a coffer server's is its data dir's tls/ca.pem)");
    const refused = describeVaultError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', request }), secret, config);
    assert.equal(refused.message, "cannot read secret 's' in vault 'v': https://v.vault.example:8443 is unreachable (ECONNREFUSED)");
  });

  it('a token request that fails for another reason is not reported as a wrong secret', () => {
    const e = describeVaultError(new AuthenticationRequiredError({ scopes: [], message: 'network_error: Network request failed' }), secret, config);
    assert.equal(e.kind, 'vault-unreachable');
    assert.equal(e.message, "cannot read secret 's' in vault 'v': network_error: Network request failed");
  });

  it('coffer connector status says what it got when the answer is not the status, without a stack', async () => {
    const home = cliHome();
    const garbled = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status": "ok", '));
    await new Promise<void>((resolve) => garbled.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(garbled.address() as { port: number }).port}/health`;
    try {
      const r = await coffer(home, ['connector', 'status', '--url', url]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `ERROR: ${url} did not answer with the connector's status (HTTP 200)\n`);
    } finally {
      garbled.close();
    }
    const closed = `http://127.0.0.1:${await freePort()}/health`;
    const r = await coffer(home, ['connector', 'status', '--url', closed]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `ERROR: cannot reach the connector at ${closed} (ECONNREFUSED)\n`);
  });
});

describe('connector: a throttling vault is left alone for its Retry-After', () => {
  it('reads Retry-After as seconds or an HTTP date, bounded; nothing else', () => {
    const now = Date.parse('2026-12-08T00:00:00Z');
    assert.equal(retryAfterSeconds('30', now), 30);
    assert.equal(retryAfterSeconds(' 7 ', now), 7);
    assert.equal(retryAfterSeconds('Tue, 08 Dec 2026 00:01:00 GMT', now), 60);
    assert.equal(retryAfterSeconds('86400', now), MAX_THROTTLE_WAIT_SECONDS);
    for (const bad of [undefined, null, '', '0', '-5', 'soon', 'Mon, 07 Dec 2026 23:00:00 GMT', '1.5']) assert.equal(retryAfterSeconds(bad, now), undefined, String(bad));
  });

  it('holds back every read of that vault until then, whatever its case, and no other vault', () => {
    const throttle = createVaultThrottle();
    const now = 1_000_000;
    assert.equal(throttle.waitUntil('v', now), undefined);
    throttle.throttled('My-Vault', 30, now);
    assert.equal(throttle.waitUntil('my-vault', now + 29_999), now + 30_000);
    assert.equal(throttle.waitUntil('other', now + 1), undefined);
    assert.equal(throttle.waitUntil('MY-VAULT', now + 30_000), undefined, 'asked again once the time has come');
  });
});
