import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliHome, coffer } from './support/cli.js';
import { databaseCa, startPostgres, type TestDatabase } from './support/databases.js';
import { runConnector, type RunningConnector } from './support/connector-kit.js';
import { freePort, startTestServer, type TestServer } from './support/server-fixture.js';

// A database connection dropped at a bad time, under a running connector,
// against a real coffer and a real PostgreSQL: in a rotation done in the
// other order (the new version stored before the password changes in the
// database), and while the vault is out of reach.

interface Integration {
  state: string;
  secretVersion: string | null;
  connectedAt: string | null;
  lastError: string | null;
  errorKind: string | null;
}

describe('connector: a database connection dropped at a bad time', () => {
  let server: TestServer;
  let postgres: TestDatabase;
  let home: string;
  let connector: RunningConnector;
  let statusPort: number;

  const cli = async (...args: string[]) => {
    const r = await coffer(home, args);
    assert.equal(r.code, 0, `coffer ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const setValue = async (value: string) => (await cli('keyvault', 'secret', 'set', '--vault-name', 'rot-vault', '--name', 'pg-user', '--value', value)).json<{ id: string }>().id.split('/').pop()!;
  const setPassword = (password: string) => setValue(JSON.stringify({ username: 'apono', password }));
  const integration = async () => ((await (await fetch(`http://127.0.0.1:${statusPort}/health`)).json()) as { integrations: Integration[] }).integrations[0]!;
  async function until(pred: (i: Integration) => boolean, what: string): Promise<Integration> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const i = await integration().catch(() => null);
      if (i && pred(i)) return i;
      if (Date.now() > deadline) throw new Error(`${what} did not happen; last state ${JSON.stringify(i)}\n${connector.log()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  /**
   * The reconnect's message, as the connector logged it: the status shows it only until the next refresh (every
   * 0.5 s here) says the newer version still fails beside the new connection ("still connected").
   */
  async function logged(re: RegExp): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!re.test(connector.log()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(connector.log(), re);
  }
  const dropConnections = () => postgres.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'apono'");

  before(async () => {
    const dbCa = await databaseCa();
    [server, postgres] = await Promise.all([startTestServer(), startPostgres({ tls: dbCa.server })]);
    home = cliHome();
    await cli('login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none');
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    const vault = (await cli('keyvault', 'create', '-n', 'rot-vault', '-g', 'rg', '--enable-rbac-authorization', 'true')).json<{ id: string }>();
    const sp = (await cli('ad', 'sp', 'create-for-rbac', '--name', 'rotation-connector')).json<{ appId: string; password: string }>();
    await cli('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', sp.appId, '--scope', `${vault.id}/secrets/pg-user`, '-o', 'none');
    await postgres.admin("CREATE USER apono PASSWORD 'rotation-one'");
    await postgres.admin('CREATE DATABASE app OWNER apono');
    await setPassword('rotation-one');
    statusPort = await freePort();
    connector = runConnector(
      {
        authority: server.url,
        tenantId: server.bootstrap.tenantId,
        clientId: sp.appId,
        caFile: server.bootstrap.caCertFile,
        refreshSeconds: 0.5,
        statusPort,
        integrations: [{ name: 'pg', type: 'postgresql', host: '127.0.0.1', port: postgres.port, database: 'app', secret: { vault: 'rot-vault', name: 'pg-user' }, tls: { caFile: dbCa.caFile } }],
      },
      sp.password,
    );
  });

  after(async () => {
    connector?.stop();
    await Promise.all([server?.stop(), postgres?.stop()]);
  });

  it('reconnects with the version that last worked while the database refuses the newer one, then takes the newer one once it works', async () => {
    const first = await until((i) => i.state === 'connected', 'the first connection');
    const second = await setPassword('rotation-two');
    await until((i) => i.errorKind === 'db-auth' && i.secretVersion === first.secretVersion, 'the new version refused beside the kept connection');
    await dropConnections();
    const back = await until((i) => i.connectedAt !== first.connectedAt && i.secretVersion !== null, 'a new connection');
    assert.equal(back.secretVersion, first.secretVersion, 'on the version the database still takes');
    assert.equal(back.errorKind, 'db-auth', 'the newer version still fails, and the status says so');
    await logged(new RegExp(`"msg":"error: secret version ${second} failed, reconnected with version ${first.secretVersion}: postgresql at 127\\.0\\.0\\.1:\\d+ rejected the credentials of user 'apono' from the vault`));
    await postgres.admin("ALTER USER apono PASSWORD 'rotation-two'");
    await until((i) => i.state === 'connected' && i.secretVersion === second, 'the newer version once the database takes it');
  });

  it('a malformed latest version falls back the same way when the connection drops', async () => {
    const good = await until((i) => i.state === 'connected', 'a connection');
    await setValue('{"username": "apono", "pasword": "typo"}');
    await until((i) => i.errorKind === 'bad-value' && i.secretVersion === good.secretVersion, 'the malformed version beside the kept connection');
    await dropConnections();
    const back = await until((i) => i.connectedAt !== good.connectedAt && i.secretVersion !== null, 'a new connection');
    assert.equal(back.secretVersion, good.secretVersion);
    await logged(new RegExp(`"msg":"error: the latest secret version is unusable, reconnected with version ${good.secretVersion}: secret 'pg-user' in vault 'rot-vault' is not JSON`));
    assert.ok(!/rotation-one|rotation-two|typo/.test(connector.log()), 'no password in the log');
  });

  it('while the vault is unreachable the kept connection is still checked, and one that died is not shown', async () => {
    const good = await setPassword('rotation-two');
    const before = await until((i) => i.state === 'connected' && i.secretVersion === good, 'a connection');
    await server.restart(async () => {
      const kept = await until((i) => i.errorKind === 'vault-unreachable', 'the vault missed');
      assert.equal(kept.secretVersion, before.secretVersion);
      assert.match(kept.lastError!, new RegExp(`^the vault is unreachable, still connected with version ${good}: cannot read secret 'pg-user' in vault 'rot-vault': `));
      await dropConnections();
      const gone = await until((i) => i.secretVersion === null, 'the dead connection noticed');
      assert.equal(gone.connectedAt, null);
      assert.equal(gone.errorKind, 'vault-unreachable');
      assert.match(gone.lastError!, new RegExp(`and the connection with version ${good} no longer works: cannot read secret 'pg-user'`));
    });
    await until((i) => i.state === 'connected' && i.secretVersion === good, 'a connection once the vault is back');
  });
});
