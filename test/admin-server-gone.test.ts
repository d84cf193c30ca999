import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// An admin command the running server took and then stopped answering (it
// was stopped, or died, found by a fuzzing helper): the CLI says that
// whether it was carried out is not known, not its sign-in advice ("Name
// it with --server URL when logging in"), which admin commands have no use for.

describe('an admin command whose server stops answering', () => {
  let server: TestServer;
  let gone: Server;
  before(async () => {
    server = await startTestServer();
    // In the server's place in bootstrap.json (with its certificate): it issues a token, then drops the admin request.
    const tls = join(server.dataDir, 'tls');
    gone = createServer({ cert: readFileSync(join(tls, 'server.pem')), key: readFileSync(join(tls, 'server-key.pem')) }, (req, res) => {
      if (req.url!.includes('/oauth2/')) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token_type: 'Bearer', expires_in: 3600, access_token: 'a.b.c' }));
      req.socket.destroy();
    });
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    const file = join(server.dataDir, 'bootstrap.json');
    const bootstrap = JSON.parse(readFileSync(file, 'utf8')) as { authorityHost: string };
    writeFileSync(file, JSON.stringify({ ...bootstrap, authorityHost: `https://localhost:${(gone.address() as AddressInfo).port}` }));
  });
  after(async () => {
    gone?.close();
    await server?.stop();
  });

  it('says whether it was carried out is not known, and where to look', async () => {
    for (const operation of ['rotate-master-key', 'rotate-signing-key']) {
      const r = await coffer(cliHome(), ['admin', operation, '--data-dir', server.dataDir]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, new RegExp(`the coffer server running on \\S+ stopped answering during ${operation} \\([^)]+\\): whether it was carried out is not known\\. Once the server runs again, look in the audit trail \\(coffer audit list\\) before asking again\\.`));
      assert.doesNotMatch(r.stderr, /--server URL/);
    }
  });
});
