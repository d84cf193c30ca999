import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RestError } from '@azure/core-rest-pipeline';
import { adminToken } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { assertLogged, BIN, startTestServer, testCaDir, type TestServer } from './support/server-fixture.js';

// The audit file copy on a full disk: /dev/full takes the open and fails every
// write with ENOSPC. Requests are refused (fail-closed) with Azure's 503, the
// server stays up, /healthz says the storage takes no writes, the log says why.

describe('the audit file copy on a full disk', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ args: ['--audit-file', '/dev/full'] });
  });
  after(() => server?.stop());

  it('refuses audited requests with 503 and Retry-After, stays up, and /healthz and the log say why', async () => {
    const res = await fetch(`${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourceGroups/rg-none/providers/Microsoft.KeyVault/vaults/none?api-version=2023-07-01`, {
      headers: { authorization: `Bearer ${await adminToken(server)}` },
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ServiceUnavailable');
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: 'degraded', audit: { healthy: false }, storage: { writable: false } });
    await assertLogged(server, /"err":"ENOSPC: no space left on device, write","msg":"audit write failed; request refused"/);
    assert.equal(server.exitCode(), null);
  });
});

// The database's files cannot grow, as on a full disk, through the running
// server's file size limit (prlimit, no root needed): SQLite's write of the
// WAL fails (EFBIG: "disk I/O error", where a full disk gives SQLITE_FULL).
describe('database files that cannot grow (a file size limit on the running server)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await createVault(server, 'fsize-vault');
  });
  after(() => server?.stop());

  it('refuses writes with 503, stays up, and takes them again once the limit is raised, the audit chain whole', async () => {
    const client = secretClient(server, 'fsize-vault');
    await client.setSecret('kept', 'kept value');
    const pid = readFileSync(join(server.dataDir, 'server.pid'), 'utf8').trim();
    // No file may grow past its size now; the WAL is far from SQLite's checkpoint (1,000 pages), so it is only appended to.
    const largest = Math.max(...['coffer.db', 'coffer.db-wal'].map((f) => statSync(join(server.dataDir, f)).size));
    execFileSync('prlimit', ['--pid', pid, `--fsize=${largest}:`]);
    const err = (await client.setSecret('refused', randomBytes(9000).toString('base64')).then(
      () => assert.fail('stored past the limit'),
      (e: RestError) => e,
    )) as RestError;
    assert.deepEqual([err.statusCode, err.code, err.response?.headers.get('retry-after')], [503, 'ServiceUnavailable', '5']);
    await assertLogged(server, /"err":"disk I\/O error","msg":"storage full or failing; change undone and refused with 503"/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 503);

    execFileSync('prlimit', ['--pid', pid, '--fsize=unlimited:']);
    assert.equal(await client.getSecret('refused').then(() => 200, (e: RestError) => e.statusCode), 404);
    assert.equal((await client.setSecret('refused', 'now stored')).value, 'now stored');
    assert.equal((await client.getSecret('kept')).value, 'kept value');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const home = cliHome();
    assert.equal((await coffer(home, ['login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none'])).code, 0);
    const verify = await coffer(home, ['audit', 'verify']);
    assert.equal(verify.code, 0, verify.stderr);
  });
});

describe('a start on a full disk', () => {
  it('ends with a message naming the full disk, and the next start with room goes on as before', async () => {
    const server = await startTestServer();
    await createVault(server, 'start-vault');
    await server.restart(async () => {
      // The lock's journal is the first file a start writes: no file may grow past 2 KiB.
      const args = [BIN, 'server', '--port', String(server.port), '--data-dir', server.dataDir, '--tls-ca-dir', testCaDir(), '--dev', '--no-throttle'];
      const r = spawnSync('bash', ['-c', 'ulimit -f 2 && exec "$0" "$@"', process.execPath, ...args], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /cannot lock the data dir with \S+server\.lock \(SQLITE_IOERR_\w+\): the disk holding the data dir is full/);
    });
    assert.equal((await secretClient(server, 'start-vault').setSecret('after', 'v')).value, 'v');
    await server.stop();
  });
});
