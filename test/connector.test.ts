import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api } from './support/access-kit.js';
import { cliHome, coffer } from './support/cli.js';
import { databaseCa, startMariaDb, startPostgres, type TestDatabase } from './support/databases.js';
import { runConnector, type RunningConnector } from './support/connector-kit.js';
import { BIN, freePort, startTestServer, type TestServer } from './support/server-fixture.js';

// The seed, end to end: credentials stored with `coffer keyvault secret set`,
// a connector that holds none, grants given and taken away in both models,
// a password rotated under a running connector. Real MariaDB and PostgreSQL,
// reached over verified TLS as the connector does by default.

interface Status {
  status: string;
  integrations: Array<{ name: string; state: string; tls: string; secretVersion: string | null; connectedAt: string | null; lastError: string | null; errorKind: string | null; lastCheckAt: string | null }>;
}

describe('connector end to end', () => {
  let server: TestServer;
  let maria: TestDatabase;
  let postgres: TestDatabase;
  let home: string;
  let connector: RunningConnector | null = null;
  const connectorLog = () => connector?.log() ?? '';
  let statusPort: number;
  let sp: { appId: string; password: string };
  let configFile: string;
  let secretScope: (name: string) => string;
  let db: (name: string, type: string, port: number, secret: string) => object;
  const passwords = ['first-Pa55word', 'second-Pa55word'];
  // A TCP relay to PostgreSQL that can go silent (bytes stop both ways, sockets stay open): a database that hangs.
  let relay: TcpServer;
  let relaySilent = false;
  const relayed: Socket[] = [];

  const cli = async (...args: string[]) => {
    const r = await coffer(home, args);
    assert.equal(r.code, 0, `coffer ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const status = async (): Promise<Status> => (await fetch(`http://127.0.0.1:${statusPort}/health`)).json() as Promise<Status>;
  const integration = async (name: string) => (await status()).integrations.find((i) => i.name === name)!;
  async function until(name: string, pred: (i: Status['integrations'][number]) => boolean, what: string, ms = 15_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = await integration(name);
      if (pred(i)) return i;
      if (Date.now() > deadline) throw new Error(`${name}: ${what} did not happen; last state ${JSON.stringify(i)}\n${connectorLog()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const setCredentials = async (name: string, password: string) =>
    (await cli('keyvault', 'secret', 'set', '--vault-name', 'conn-vault', '--name', name, '--value', JSON.stringify({ username: 'apono', password }))).json<{ id: string }>().id.split('/').pop()!;

  before(async () => {
    const dbCa = await databaseCa();
    [server, maria, postgres] = await Promise.all([startTestServer(), startMariaDb({ tls: dbCa.server }), startPostgres({ tls: dbCa.server })]);
    home = cliHome();
    await cli('login', '--bootstrap', join(server.dataDir, 'bootstrap.json'), '-o', 'none');
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    const vault = (await cli('keyvault', 'create', '-n', 'conn-vault', '-g', 'rg', '--enable-rbac-authorization', 'true')).json<{ id: string }>();
    secretScope = (name) => `${vault.id}/secrets/${name}`;
    sp = (await cli('ad', 'sp', 'create-for-rbac', '--name', 'apono-connector')).json();

    // REQUIRE SSL: MariaDB turns the connector away unless its connection is encrypted.
    await maria.admin(`CREATE DATABASE app; CREATE USER 'apono'@'%' IDENTIFIED BY '${passwords[0]}' REQUIRE SSL; GRANT ALL ON app.* TO 'apono'@'%';`);
    await postgres.admin(`CREATE USER apono PASSWORD '${passwords[0]}'`);
    await postgres.admin('CREATE DATABASE app OWNER apono');
    await setCredentials('apono-mysql-user', passwords[0]!);
    await setCredentials('apono-pg-user', passwords[0]!);
    await cli('keyvault', 'secret', 'set', '--vault-name', 'conn-vault', '--name', 'not-json', '--value', 'username=apono', '-o', 'none');
    await cli('keyvault', 'secret', 'set', '--vault-name', 'conn-vault', '--name', 'wrong-password', '--value', JSON.stringify({ username: 'apono', password: 'nope' }), '-o', 'none');
    await setCredentials('disabled-secret', passwords[0]!);
    await cli('keyvault', 'secret', 'set-attributes', '--vault-name', 'conn-vault', '--name', 'disabled-secret', '--enabled', 'false', '-o', 'none');
    for (const name of ['not-json', 'wrong-password', 'missing-secret', 'apono-pg-user', 'disabled-secret']) {
      await cli('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', sp.appId, '--scope', secretScope(name), '-o', 'none');
    }

    relay = createTcpServer((inbound) => {
      const outbound = tcpConnect(postgres.port, '127.0.0.1');
      relayed.push(inbound, outbound);
      inbound.on('data', (d) => void (relaySilent || outbound.write(d)));
      outbound.on('data', (d) => void (relaySilent || inbound.write(d)));
      inbound.on('error', () => {});
      outbound.on('error', () => {});
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    statusPort = await freePort();
    db = (name: string, type: string, port: number, secret: string) => ({ name, type, host: '127.0.0.1', port, database: 'app', secret: { vault: 'conn-vault', name: secret }, tls: { caFile: dbCa.caFile } });
    connector = runConnector(
      {
        authority: server.url,
        tenantId: server.bootstrap.tenantId,
        clientId: sp.appId,
        caFile: server.bootstrap.caCertFile,
        refreshSeconds: 0.5,
        statusPort,
        integrations: [
          db('mysql', 'mysql', maria.port, 'apono-mysql-user'),
          db('postgresql', 'postgresql', postgres.port, 'apono-pg-user'),
          db('bad-json', 'mysql', maria.port, 'not-json'),
          db('bad-password', 'postgresql', postgres.port, 'wrong-password'),
          db('no-secret', 'mysql', maria.port, 'missing-secret'),
          db('no-database', 'postgresql', await freePort(), 'apono-pg-user'),
          db('hung-db', 'postgresql', (relay.address() as { port: number }).port, 'apono-pg-user'),
          db('disabled', 'postgresql', postgres.port, 'disabled-secret'),
        ],
      },
      sp.password,
    );
    configFile = connector.configFile;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        await status();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });

  after(async () => {
    connector?.stop();
    for (const socket of relayed) socket.destroy();
    relay?.close();
    await Promise.all([server?.stop(), maria?.stop(), postgres?.stop()]);
  });

  it('a database that stops answering is reported within seconds, and holds back no other integration', async () => {
    await until('hung-db', (i) => i.state === 'connected', 'connecting through the relay');
    relaySilent = true;
    const hung = await until('hung-db', (i) => i.state === 'error', 'the hang being noticed', 30_000);
    assert.equal(hung.errorKind, 'db-unreachable', JSON.stringify(hung));
    assert.match(hung.lastError!, /ETIMEDOUT/);
    // Meanwhile the others went on refreshing every half second.
    const other = await integration('postgresql');
    assert.equal(other.state, 'connected');
    assert.ok(Date.now() - Date.parse(other.lastCheckAt!) < 3_000, JSON.stringify(other));
  });

  it('without a grant the connector is denied, with a message that says what to grant', async () => {
    const i = await until('mysql', (x) => x.errorKind === 'denied', 'denial');
    assert.equal(i.state, 'error');
    assert.match(i.lastError!, new RegExp(`principal ${sp.appId} lacks get on secret 'apono-mysql-user' in vault 'conn-vault': grant "Key Vault Secrets User"`));
  });

  it('each other failure gets its own clear message', async () => {
    assert.match((await until('bad-json', (x) => x.errorKind === 'bad-value', 'bad value')).lastError!, /is not JSON of the form \{"username": "\.\.\.", "password": "\.\.\."\}/);
    assert.match((await until('bad-password', (x) => x.errorKind === 'db-auth', 'auth failure')).lastError!, /rejected the credentials of user 'apono' from the vault/);
    // A soft-deleted secret answers 404 as well, and `secret set` on its name is refused (409) until it is recovered: the message says both.
    assert.equal((await until('no-secret', (x) => x.errorKind === 'not-found', 'not found')).lastError!, "secret 'missing-secret' in vault 'conn-vault' was not found: if it was deleted, recover it (coffer keyvault secret recover --vault-name conn-vault --name missing-secret); else create it with coffer keyvault secret set");
    assert.match((await until('no-database', (x) => x.errorKind === 'db-unreachable', 'unreachable')).lastError!, /is unreachable \(ECONNREFUSED\)/);
    assert.match((await until('disabled', (x) => x.errorKind === 'disabled', 'disabled')).lastError!, /^secret 'disabled-secret' in vault 'conn-vault' is disabled: enable it \(coffer keyvault secret set-attributes --vault-name conn-vault --name disabled-secret --enabled true\)/);
  });

  /** Runs another connector with this config's vault and the given changes; resolves with its exit code and output, or once it serves its status. */
  function otherConnector(changes: object, secret: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string; port: number; stop(): void }> {
    return new Promise((resolve) => {
      const config = { ...JSON.parse(readFileSync(configFile, 'utf8')), ...changes };
      const file = join(mkdtempSync(join(tmpdir(), 'coffer-connector-')), 'connector.json');
      writeFileSync(file, JSON.stringify(config));
      const child = spawn(process.execPath, [BIN, 'connector', 'run', '--config', file], { env: { ...process.env, ...env, COFFER_CONNECTOR_CLIENT_SECRET: secret }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d));
      child.stderr.on('data', (d: Buffer) => {
        output += d;
        if (output.includes('connector started')) resolve({ code: null, output, port: config.statusPort, stop: () => child.kill('SIGTERM') });
      });
      child.on('exit', (code) => resolve({ code, output, port: config.statusPort, stop: () => {} }));
    });
  }

  it('a wrong client secret is reported as the connector\'s own credentials refused, not as an unreachable vault', async () => {
    const port = await freePort();
    const other = await otherConnector({ statusPort: port, integrations: [db('pg', 'postgresql', postgres.port, 'apono-pg-user')] }, 'not-the-secret');
    try {
      const body = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Status;
      assert.equal(body.integrations[0]!.errorKind, 'vault-auth', JSON.stringify(body));
      assert.match(body.integrations[0]!.lastError!, new RegExp(`^the connector's credentials were refused by ${server.url} \\(invalid_client: .*AADSTS7000215: Invalid client secret provided.*\\): check clientId ${sp.appId} and the client secret in COFFER_CONNECTOR_CLIENT_SECRET$`));
      assert.ok(!body.integrations[0]!.lastError!.includes('Timestamp'));
    } finally {
      other.stop();
    }
  });

  it("an empty password or user name from the vault is not filled in from the connector's host (PGPASSWORD, PGUSER, ~/.pgpass)", async () => {
    const current = passwords[0]!; // apono's until the rotation below
    const hostHome = mkdtempSync(join(tmpdir(), 'coffer-pgpass-'));
    writeFileSync(join(hostHome, '.pgpass'), `*:*:*:apono:${current}\n`, { mode: 0o600 });
    for (const [name, value] of [['empty-password', { username: 'apono', password: '' }], ['empty-user', { username: '', password: current }]] as const) {
      await cli('keyvault', 'secret', 'set', '--vault-name', 'conn-vault', '--name', name, '--value', JSON.stringify(value), '-o', 'none');
      await cli('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', sp.appId, '--scope', secretScope(name), '-o', 'none');
    }
    const port = await freePort();
    const integrations = [db('empty-password', 'postgresql', postgres.port, 'empty-password'), db('empty-user', 'postgresql', postgres.port, 'empty-user')];
    const other = await otherConnector({ statusPort: port, integrations }, sp.password, { PGPASSWORD: current, PGUSER: 'apono', HOME: hostHome });
    try {
      let shown: Status['integrations'] = [];
      for (let i = 0; i < 100 && !(shown.length === 2 && shown.every((x) => x.errorKind !== null)); i++) {
        shown = ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Status).integrations;
        await new Promise((r) => setTimeout(r, 100));
      }
      const [noPassword, noUser] = shown;
      assert.equal(noPassword!.state, 'error', JSON.stringify(noPassword));
      assert.equal(noPassword!.errorKind, 'db-auth', JSON.stringify(noPassword));
      assert.match(noPassword!.lastError!, /^postgresql at 127\.0\.0\.1:\d+ asks user 'apono' for a password, and the secret's password is empty$/);
      assert.equal(noUser!.errorKind, 'bad-value', JSON.stringify(noUser));
      assert.equal(noUser!.lastError, `secret 'empty-user' in vault 'conn-vault' has an empty "username"`);
    } finally {
      other.stop();
    }
  });

  it("a vault whose network rules refuse the connector says so, not that a grant is missing", async () => {
    const vault = (await cli('keyvault', 'create', '-n', 'fenced-vault', '-g', 'rg')).json<{ id: string }>();
    await cli('keyvault', 'secret', 'set', '--vault-name', 'fenced-vault', '--name', 'creds', '--value', JSON.stringify({ username: 'apono', password: 'x' }), '-o', 'none');
    const fence = async (properties: object) => {
      const r = await api(server, 'PATCH', `${vault.id}?api-version=2023-07-01`, { properties });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const errorOf = async () => {
      const port = await freePort();
      const other = await otherConnector({ statusPort: port, integrations: [{ ...db('fenced', 'postgresql', postgres.port, 'creds'), secret: { vault: 'fenced-vault', name: 'creds' } }] }, sp.password);
      try {
        return ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Status).integrations[0]!;
      } finally {
        other.stop();
      }
    };
    await fence({ publicNetworkAccess: 'Disabled' });
    const closed = await errorOf();
    assert.equal(closed.errorKind, 'vault-network', JSON.stringify(closed));
    assert.equal(closed.lastError, "the vault's network rules refuse the connector (ForbiddenByConnection: public network access is disabled) reading secret 'creds' in vault 'fenced-vault': enable it (az keyvault update --public-network-access Enabled)");
    await fence({ publicNetworkAccess: 'Enabled', networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '203.0.113.0/24' }] } });
    const firewalled = await errorOf();
    assert.equal(firewalled.errorKind, 'vault-network', JSON.stringify(firewalled));
    assert.equal(firewalled.lastError, "the vault's network rules refuse the connector (ForbiddenByFirewall: client address 127.0.0.1) reading secret 'creds' in vault 'fenced-vault': allow it (az keyvault network-rule add --ip-address 127.0.0.1)");
  });

  it('the status answers only to loopback names: a page that rebinds its own name to 127.0.0.1 gets nothing', async () => {
    const get = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: statusPort, path: '/health', headers: { host } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
    for (const host of ['attacker.example', `attacker.example:${statusPort}`, `127.0.0.1.nip.io:${statusPort}`, `192.168.1.5:${statusPort}`]) {
      const refused = await get(host);
      assert.equal(refused.status, 421, host);
      assert.ok(!refused.body.includes(sp.appId) && !refused.body.includes('conn-vault'), host);
    }
    for (const host of [`127.0.0.1:${statusPort}`, `localhost:${statusPort}`, 'LOCALHOST']) {
      assert.match(String((await get(host)).status), /^(200|503)$/, host);
    }
  });

  it('a busy status port stops the connector at start with one clear line', async () => {
    const other = await otherConnector({ statusPort }, sp.password);
    assert.equal(other.code, 1, other.output);
    assert.equal(other.output, `ERROR: status port ${statusPort} on 127.0.0.1 is in use: set statusPort in the connector config\n`);
  });

  it('a Key Vault Secrets User grant on the secret connects it; removing the grant loses access', async () => {
    await cli('role', 'assignment', 'create', '--role', 'Key Vault Secrets User', '--assignee', sp.appId, '--scope', secretScope('apono-mysql-user'), '-o', 'none');
    const connected = await until('mysql', (x) => x.state === 'connected', 'connection');
    assert.match(connected.secretVersion!, /^[0-9a-f]{32}$/);
    assert.equal(connected.tls, 'verify-full');
    assert.equal((await until('postgresql', (x) => x.state === 'connected', 'connection')).state, 'connected');
    await cli('role', 'assignment', 'delete', '--assignee', sp.appId, '--role', 'Key Vault Secrets User', '--scope', secretScope('apono-mysql-user'));
    const lost = await until('mysql', (x) => x.errorKind === 'denied', 'loss of access');
    assert.equal(lost.state, 'error');
    assert.equal(lost.connectedAt, null, 'the connection made with the revoked secret is closed');
    assert.equal(lost.secretVersion, null, 'and no version is shown as in use');
  });

  it('the access-policy model works the same with Get only', async () => {
    await cli('keyvault', 'update', '-n', 'conn-vault', '--enable-rbac-authorization', 'false', '-o', 'none');
    assert.equal((await until('postgresql', (x) => x.errorKind === 'denied', 'RBAC grants no longer counting')).state, 'error');
    await cli('keyvault', 'set-policy', '-n', 'conn-vault', '--spn', sp.appId, '--secret-permissions', 'get', '-o', 'none');
    // The administrator's RBAC role no longer counts either: it needs a policy to keep writing secrets.
    await cli('keyvault', 'set-policy', '-n', 'conn-vault', '--object-id', server.bootstrap.objectId, '--secret-permissions', 'all', '-o', 'none');
    assert.equal((await until('mysql', (x) => x.state === 'connected', 'connection')).state, 'connected');
    assert.equal((await until('postgresql', (x) => x.state === 'connected', 'connection')).state, 'connected');
  });

  it('follows a password rotation without a restart', async () => {
    const before = await integration('mysql');
    await maria.admin(`ALTER USER 'apono'@'%' IDENTIFIED BY '${passwords[1]}'`);
    await postgres.admin(`ALTER USER apono PASSWORD '${passwords[1]}'`);
    const mysqlVersion = await setCredentials('apono-mysql-user', passwords[1]!);
    const pgVersion = await setCredentials('apono-pg-user', passwords[1]!);
    assert.notEqual(mysqlVersion, before.secretVersion);
    assert.equal((await until('mysql', (x) => x.state === 'connected' && x.secretVersion === mysqlVersion, 'reconnection')).state, 'connected');
    assert.equal((await until('postgresql', (x) => x.state === 'connected' && x.secretVersion === pgVersion, 'reconnection')).state, 'connected');
    const cliStatus = await coffer(home, ['connector', 'status', '--url', `http://127.0.0.1:${statusPort}/health`, '--query', "integrations[?name=='mysql'].secretVersion | [0]", '-o', 'tsv']);
    assert.equal(cliStatus.stdout.trim(), mysqlVersion);
    assert.equal(cliStatus.code, 1, 'degraded (other integrations fail on purpose): not a success');
  });

  it('a new version whose credentials the database refuses leaves the working connection in place until a good one comes', async () => {
    const before = await until('postgresql', (x) => x.state === 'connected', 'connection');
    passwords.push('not-the-live-password');
    const bad = await setCredentials('apono-pg-user', passwords.at(-1)!);
    const refused = await until('postgresql', (x) => x.errorKind === 'db-auth', 'the new version refused');
    assert.equal(refused.secretVersion, before.secretVersion, 'still on the version that works');
    assert.equal(refused.connectedAt, before.connectedAt, 'the old connection was not closed');
    assert.notEqual(refused.secretVersion, bad);
    assert.match(refused.lastError!, new RegExp(`^secret version ${bad} failed, still connected with version ${before.secretVersion}: postgresql at 127\\.0\\.0\\.1:\\d+ rejected the credentials of user 'apono' from the vault$`));
    // A malformed version (a typo in a rotation) keeps the working connection too.
    await cli('keyvault', 'secret', 'set', '--vault-name', 'conn-vault', '--name', 'apono-pg-user', '--value', '{"username": "apono", "pasword": "typo"}', '-o', 'none');
    const malformed = await until('postgresql', (x) => x.errorKind === 'bad-value', 'the malformed version');
    assert.equal(malformed.secretVersion, before.secretVersion);
    assert.equal(malformed.connectedAt, before.connectedAt);
    assert.match(malformed.lastError!, new RegExp(`^the latest secret version is unusable, still connected with version ${before.secretVersion}: secret 'apono-pg-user' in vault 'conn-vault' is not JSON`));
    const good = await setCredentials('apono-pg-user', passwords[1]!);
    assert.equal((await until('postgresql', (x) => x.state === 'connected' && x.secretVersion === good, 'the good version')).state, 'connected');
    // The log says the error ended, not only that it began (its line may reach this process after the status did).
    for (let i = 0; i < 50 && !/working again after: bad-value/.test(connectorLog()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(connectorLog(), /working again after: bad-value/);
  });

  it('when the database refuses the credentials it holds, it re-reads the secret and reconnects', async () => {
    const third = 'third-Pa55word';
    passwords.push(third);
    await maria.admin(`ALTER USER 'apono'@'%' IDENTIFIED BY '${third}'`);
    // Drop the live connection: the next health check must reconnect, and the old password fails.
    for (const row of await maria.rows("SELECT id FROM information_schema.processlist WHERE user = 'apono'")) await maria.admin(`KILL ${Number(row.id)}`);
    const refusal = await until('mysql', (x) => x.errorKind === 'db-auth', 'refusal');
    assert.equal(refusal.state, 'error');
    assert.equal(refusal.secretVersion, null, 'the dropped connection is not shown as there');
    assert.equal(refusal.connectedAt, null);
    const version = await setCredentials('apono-mysql-user', third);
    assert.equal((await until('mysql', (x) => x.state === 'connected' && x.secretVersion === version, 'recovery')).state, 'connected');
  });

  it("the connector's files, logs and status never contain a password", async () => {
    const everything = [readFileSync(configFile, 'utf8'), connectorLog(), JSON.stringify(await status())].join('\n');
    for (const p of passwords) assert.ok(!everything.includes(p), `found a password in the connector's output`);
    assert.ok(connectorLog().includes('connected'), 'the log is not empty');
  });
});
