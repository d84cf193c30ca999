import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newServicePrincipal } from './support/access-kit.js';
import { azSignedIn, type AzResult } from './support/az-cli.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// `ad sp|app credential reset` without --append, as az 2.45's _reset_credential sends it: every client secret
// removed first, then the new one added. Seen where the order shows: an addPassword the server refuses (an
// --end-date in the past) leaves the principal with no client secret, in az and in coffer alike.

describe('CLI: credential reset removes the old client secrets before adding the new one, as az 2.45', () => {
  let server: TestServer;
  let home = '';
  let az: (args: string[]) => Promise<AzResult>;
  const { signIn } = cliRunners(() => home);

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    az = await azSignedIn(server);
  });
  after(() => server?.stop());

  for (const kind of ['sp', 'app'] as const) {
    it(`ad ${kind} credential reset with a refused --end-date: the old secrets are gone in both`, async () => {
      const seen: Array<{ code: number; left: string }> = [];
      for (const [who, runner] of [
        ['az', az],
        ['coffer', (args: string[]) => coffer(home, args)],
      ] as const) {
        const sp = await newServicePrincipal(server, `reset-order-${kind}-${who}`);
        const reset = await runner(['ad', kind, 'credential', 'reset', '--id', sp.appId, '--end-date', '2000-01-01', '--only-show-errors']);
        const listed = await runner(['ad', kind, 'credential', 'list', '--id', sp.appId, '--query', 'length(@)']);
        assert.equal(listed.code, 0, `${who}: ${listed.stderr}`);
        seen.push({ code: reset.code, left: listed.stdout.trim() });
      }
      assert.deepEqual(seen[1], seen[0]);
      assert.deepEqual(seen[0], { code: 1, left: '0' });
    });
  }
});
