import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createVault, secretClient } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A backup restores only into the deployment that made it.

describe('backup portability', () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    [a, b] = await Promise.all([startTestServer(), startTestServer()]);
    await createVault(a, 'origin');
    await createVault(b, 'elsewhere');
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('a backup from another deployment is refused and restores nothing', async () => {
    const source = secretClient(a, 'origin');
    await source.setSecret('travelling', 'stays home');
    const blob = await source.backupSecret('travelling');
    const target = secretClient(b, 'elsewhere');
    await assert.rejects(target.restoreSecretBackup(blob!), (err: { statusCode?: number; code?: string }) => err.statusCode === 400 && err.code === 'Malformed backup blob');
    await assert.rejects(target.getSecret('travelling'), (err: { statusCode?: number }) => err.statusCode === 404);
  });
});
