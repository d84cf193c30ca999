import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api } from './support/access-kit.js';
import { cliHome, cliRunners } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Resource Manager lists come in pages of at most 1,000 items with a
// nextLink, which az's pagers follow: the CLI's lists do too.

describe('CLI: Resource Manager lists past one page', () => {
  let server: TestServer;
  let home = '';
  const { json, signIn } = cliRunners(() => home);
  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    const sub = server.bootstrap.subscriptionId;
    for (let i = 0; i < 1001; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, 1001 - i) }, (_, k) =>
          api(server, 'PUT', `/subscriptions/${sub}/resourcegroups/paged-${String(i + k).padStart(4, '0')}?api-version=2021-04-01`, { location: 'local' }).then((r) => assert.equal(r.status, 201)),
        ),
      );
    }
  });
  after(() => server?.stop());

  it('group list shows every group, not only the first page', async () => {
    const names = await json<string[]>('group', 'list', '--query', "[?starts_with(name, 'paged-')].name");
    assert.equal(names.length, 1001);
    assert.ok(names.includes('paged-1000'));
  });
});
