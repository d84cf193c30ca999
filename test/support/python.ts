import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, type TestServer } from './server-fixture.js';

/**
 * Runs one of test/python/'s scripts with Debian's python3 against `server` (its tenant, subscription,
 * administrator credentials and CA in the environment); what it observed: its last line, as JSON.
 */
export function runPythonScript<T = Record<string, unknown>>(server: TestServer, script: string, env: Record<string, string> = {}): T {
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'test/python', script)], {
    encoding: 'utf8',
    timeout: 90_000,
    env: {
      ...process.env,
      COFFER_TENANT_ID: server.bootstrap.tenantId,
      COFFER_SUBSCRIPTION_ID: server.bootstrap.subscriptionId,
      COFFER_CLIENT_ID: server.bootstrap.clientId,
      COFFER_CLIENT_SECRET: server.bootstrap.clientSecret,
      COFFER_AUTHORITY: server.url,
      REQUESTS_CA_BUNDLE: process.env.COFFER_TEST_CA_BUNDLE ?? '',
      SSL_CERT_FILE: process.env.COFFER_TEST_CA_BUNDLE ?? '',
      ...env,
    },
  });
  assert.equal(r.status, 0, `python failed:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
