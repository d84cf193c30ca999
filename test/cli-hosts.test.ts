import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hostsBlock } from '../src/cli/commands/hosts-command.js';
import { ROLE_IDS, assignRole, newServicePrincipal } from './support/access-kit.js';
import { createVault } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer } from './support/server-fixture.js';

describe('coffer hosts', () => {
  it('writes one coffer block of loopback entries and replaces it on the next run', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'coffer-hosts-')), 'hosts');
    writeFileSync(file, '127.0.0.1 localhost\n');
    const home = cliHome();
    let r = await coffer(home, ['hosts', '--vault', 'one', 'Two', '--suffix', 'vault.localhost', '--file', file]);
    assert.equal(r.code, 0, r.stderr);
    r = await coffer(home, ['hosts', '--vault', 'three', '--suffix', 'vault.localhost', '--file', file]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('127.0.0.1 localhost\n'));
    assert.equal(text.match(/# BEGIN coffer vaults/g)?.length, 1);
    assert.match(text, /^127\.0\.0\.1 three\.vault\.localhost$/m);
    assert.doesNotMatch(text, /one\.vault\.localhost/);
  });

  it('leaves the file alone when the login sees no vault (a data-plane-only identity), rather than emptying the block', async () => {
    const server = await startTestServer();
    try {
      const home = cliHome();
      const b = server.bootstrap;
      // A connector's identity: granted one secret, so it sees the subscription but no vault.
      const sp = await newServicePrincipal(server, 'hosts-connector');
      const vault = await createVault(server, 'hosts-vault', { enableRbacAuthorization: true });
      assert.equal((await assignRole(server, `${vault.id}/secrets/db-user`, ROLE_IDS['Key Vault Secrets User'], sp.id)).status, 201);
      const login = await coffer(home, ['login', '--service-principal', '-u', sp.appId, '-p', sp.secret, '--tenant', b.tenantId, '--server', server.url, '-o', 'none']);
      assert.equal(login.code, 0, login.stderr);
      const file = join(mkdtempSync(join(tmpdir(), 'coffer-hosts-')), 'hosts');
      const before = `127.0.0.1 localhost\n${hostsBlock(['kept'], 'vault.localhost')}\n`;
      writeFileSync(file, before);
      const r = await coffer(home, ['hosts', '--file', file]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /this login can see no vaults, so .* is left as it is; name them with --vault NAME/);
      assert.equal(readFileSync(file, 'utf8'), before);
    } finally {
      await server.stop();
    }
  });

  it('explains what to do when the file is not writable', async () => {
    const r = await coffer(cliHome(), ['hosts', '--vault', 'x', '--suffix', 'vault.localhost', '--file', '/proc/version']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /add these lines yourself/);
    assert.match(r.stderr, /127\.0\.0\.1 x\.vault\.localhost/);
  });
});
