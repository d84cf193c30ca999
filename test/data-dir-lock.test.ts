import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataDirLockedError, dataDirLocked, lockDataDir } from '../src/server/data-dir-lock.js';
import { createVault, secretClient } from './support/clients.js';
import { api } from './support/access-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { freePort, runServerToEnd, startTestServer, type TestServer } from './support/server-fixture.js';

// One server per data dir: a second start on it is refused before it writes
// anything there, and `admin rotate-master-key` tells a running server by
// the lock, not by server.pid (which a second start used to overwrite).

/** `coffer server` started on `dataDir` (a refused start ends at once). */
const startSecond = (dataDir: string, port: number) => runServerToEnd(['--dev', '--port', String(port), '--data-dir', dataDir], 20_000);

describe('data dir lock', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  it('a second server on a data dir in use is refused, and leaves bootstrap.json and server.pid as they were', async () => {
    const bootstrap = readFileSync(join(server.dataDir, 'bootstrap.json'), 'utf8');
    const pid = readFileSync(join(server.dataDir, 'server.pid'), 'utf8');
    const second = await startSecond(server.dataDir, await freePort());
    assert.equal(second.code, 1, second.output);
    assert.match(second.output, /another coffer process holds the data dir .*: stop it first, or give this server a --data-dir of its own/);
    assert.equal(readFileSync(join(server.dataDir, 'bootstrap.json'), 'utf8'), bootstrap);
    assert.equal(readFileSync(join(server.dataDir, 'server.pid'), 'utf8'), pid);
    assert.equal((await api(server, 'GET', `/subscriptions/${server.bootstrap.subscriptionId}?api-version=2022-12-01`)).status, 200, 'the first serves on');
  });

  it('rotate-master-key finds the running server by its lock, even with server.pid gone, and rotates inside it', async () => {
    await createVault(server, 'locked-vault');
    await secretClient(server, 'locked-vault').setSecret('s', 'kept');
    rmSync(join(server.dataDir, 'server.pid'));
    const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    // An offline rotation under the running server would have left it with keys the database no longer has.
    assert.equal((await secretClient(server, 'locked-vault').getSecret('s')).value, 'kept');
    assert.equal((await api(server, 'GET', '/coffer/audit/verify')).body!.ok, true);
    await server.restart();
    assert.equal((await secretClient(server, 'locked-vault').getSecret('s')).value, 'kept', 'and after a restart');
    assert.equal((await api(server, 'GET', '/coffer/audit/verify')).body!.ok, true);
  });

  it('the lock goes with its process, even one killed with SIGKILL', async () => {
    assert.equal(dataDirLocked(server.dataDir), true);
    await server.kill();
    assert.equal(dataDirLocked(server.dataDir), false);
    await server.restart();
    assert.equal(dataDirLocked(server.dataDir), true);
  });

  it('lockDataDir: one holder at a time within a process too, until it releases', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-lock-'));
    try {
      const first = lockDataDir(dir);
      assert.throws(() => lockDataDir(dir), DataDirLockedError);
      first.release();
      first.release();
      lockDataDir(dir).release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
