import assert from 'node:assert/strict';
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, rootCertificates } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { integrationSchema, type IntegrationConfig } from '../src/connector/connector-config.js';
import { connect, trustedCas } from '../src/connector/db-clients.js';
import { createIntegrationRunner } from '../src/connector/integration-runner.js';
import { ConnectorError, type Credentials } from '../src/connector/vault-reader.js';
import { freePort } from './support/server-fixture.js';
import { databaseCa, publiclyTrustedCert, startMariaDb, startPostgres, type ServerTls, type TestDatabase } from './support/databases.js';

// The connector's TLS to real MariaDB and PostgreSQL servers: verified by
// default, refused with the db-tls kind (and never the password) when the
// certificate or the server falls short, cleartext only when asked for.
// The TLS servers' certificate names localhost only, not 127.0.0.1, so
// connecting to the address is a name mismatch. The "public" servers'
// certificate comes from the run's CA, which NODE_EXTRA_CA_CERTS adds to
// Node's default trust, as a public CA's would be: anyone can hold one.

const PASSWORD = 'tls-Test-Pa55word';
const creds: Credentials = { username: 'apono', password: PASSWORD, version: '0'.repeat(32) };
const TYPES = ['mysql', 'postgresql'] as const;
type DbType = (typeof TYPES)[number];

const integration = (type: DbType, port: number, tls: object, host = '127.0.0.1'): IntegrationConfig =>
  integrationSchema.parse({ name: `${type}-tls`, type, host, port, database: 'app', secret: { vault: 'tls-vault', name: 'db-user' }, tls });

async function connects(i: IntegrationConfig): Promise<void> {
  const c = await connect(i, creds);
  try {
    await c.check();
  } finally {
    await c.close();
  }
}

/**
 * A stand-in PostgreSQL server: it answers the SSLRequest with yes, records
 * the SNI name of the TLS handshake (null for none), then hangs up.
 */
async function sniRecorder(cert: ServerTls): Promise<{ port: number; names: Array<string | null>; close(): Promise<void> }> {
  const names: Array<string | null> = [];
  const tlsServer = createTlsServer(cert, (s) => {
    names.push(typeof s.servername === 'string' ? s.servername : null);
    s.destroy();
  });
  tlsServer.on('tlsClientError', () => {});
  const server = createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      socket.write('S');
      tlsServer.emit('connection', socket);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, names, close: () => new Promise((r) => server.close(() => r())) };
}

/** Connecting fails with a db-tls error that matches pattern and holds no password; returns the error. */
async function refused(i: IntegrationConfig, pattern: RegExp, kind: ConnectorError['kind'] = 'db-tls'): Promise<ConnectorError> {
  const err = await connect(i, creds).then(
    async (c) => (await c.close(), null),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectorError, `expected a refusal, got ${err === null ? 'a connection' : String(err)}`);
  assert.equal(err.kind, kind, err.message);
  assert.match(err.message, pattern);
  assert.ok(!`${err.message}\n${err.stack}`.includes(PASSWORD), `the password is in the error: ${err.message}`);
  return err;
}

describe('connector TLS to the databases', () => {
  let caFile: string;
  /** A CA of its own that issued none of the servers' certificates. */
  let otherCaFile: string;
  const servers = {} as Record<DbType, { tls: TestDatabase; plain: TestDatabase; public: TestDatabase }>;
  const started: TestDatabase[] = [];

  before(async () => {
    const [ca, other, publicCert] = await Promise.all([databaseCa({ dnsNames: ['localhost'], ipAddresses: [] }), databaseCa(), publiclyTrustedCert()]);
    caFile = ca.caFile;
    otherCaFile = other.caFile;
    // Every server that started is stopped, even when another failed to.
    const starts = await Promise.allSettled([
      startMariaDb({ tls: ca.server }),
      startMariaDb(),
      startMariaDb({ tls: publicCert }),
      startPostgres({ tls: ca.server }),
      startPostgres(),
      startPostgres({ tls: publicCert }),
    ]);
    for (const s of starts) if (s.status === 'fulfilled') started.push(s.value);
    const failed = starts.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [mariaTls, mariaPlain, mariaPublic, pgTls, pgPlain, pgPublic] = started as [TestDatabase, TestDatabase, TestDatabase, TestDatabase, TestDatabase, TestDatabase];
    servers.mysql = { tls: mariaTls, plain: mariaPlain, public: mariaPublic };
    servers.postgresql = { tls: pgTls, plain: pgPlain, public: pgPublic };
    // On the TLS servers, MariaDB lets the user in over TLS only: a login there is proof of encryption.
    for (const db of [mariaTls, mariaPublic]) await db.admin(`CREATE DATABASE app; CREATE USER 'apono'@'%' IDENTIFIED BY '${PASSWORD}' REQUIRE SSL; GRANT ALL ON app.* TO 'apono'@'%';`);
    await mariaPlain.admin(`CREATE DATABASE app; CREATE USER 'apono'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT ALL ON app.* TO 'apono'@'%';`);
    for (const db of [pgTls, pgPlain, pgPublic]) {
      await db.admin(`CREATE USER apono PASSWORD '${PASSWORD}'`);
      await db.admin('CREATE DATABASE app OWNER apono');
    }
  });

  after(async () => {
    await Promise.all(started.map((db) => db.stop()));
  });

  it('verify-full is the default and connects by name with the CA from caFile, encrypted', async () => {
    const i = integration('postgresql', servers.postgresql.tls.port, { caFile }, 'localhost');
    assert.equal(i.tls.mode, 'verify-full');
    const c = await connect(i, creds);
    try {
      await c.check();
      const sessions = await servers.postgresql.tls.rows("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'apono'");
      assert.ok(sessions.length > 0 && sessions.every((s) => s.ssl === true), `sessions: ${JSON.stringify(sessions)}`);
    } finally {
      await c.close();
    }

    await connects(integration('mysql', servers.mysql.tls.port, { caFile }, 'localhost'));
    // The proof holds: without TLS the same user is turned away.
    await refused(integration('mysql', servers.mysql.tls.port, { mode: 'disable' }), /rejected the credentials of user 'apono'/, 'db-auth');
  });

  for (const type of TYPES) {
    describe(type, () => {
      const tlsPort = () => servers[type].tls.port;

      it("refuses a certificate from a CA it does not trust, in both verify modes", async () => {
        for (const tls of [{}, { caFile: otherCaFile }, { mode: 'verify-ca', caFile: otherCaFile }]) {
          const err = await refused(integration(type, tlsPort(), tls, 'localhost'), /: the certificate is not trusted: .+; give the CA that issued it in tls\.caFile$/);
          assert.ok(err.message.startsWith(`${type} at localhost:${tlsPort()}: `), err.message);
        }
      });

      it("trusts only caFile's CAs when given, not a publicly trusted certificate", async () => {
        const port = servers[type].public.port;
        // Without caFile, verify-full takes Node's default trust, NODE_EXTRA_CA_CERTS included.
        await connects(integration(type, port, {}, 'localhost'));
        // With caFile, only its CAs: a certificate for this very name from a CA trusted by default is refused...
        await refused(integration(type, port, { caFile }, 'localhost'), /: the certificate is not trusted: /);
        // ...and verify-ca, which checks no name, is not fooled by one issued for another server.
        await refused(integration(type, port, { mode: 'verify-ca', caFile }), /: the certificate is not trusted: /);
      });

      it('verify-full refuses a certificate for another name; verify-ca and a matching serverName accept it', async () => {
        const notForThisServer = /: the certificate is not for this server: .+; set tls\.serverName to a name it carries \(failing that, tls\.mode "verify-ca" with the issuing CA in tls\.caFile\)$/;
        // The certificate names localhost, not 127.0.0.1: mysql2 alone would have checked "localhost" here.
        await refused(integration(type, tlsPort(), { caFile }), notForThisServer);
        await refused(integration(type, tlsPort(), { caFile, serverName: 'db.elsewhere.test' }, 'localhost'), notForThisServer);
        await connects(integration(type, tlsPort(), { caFile, mode: 'verify-ca' }));
        await connects(integration(type, tlsPort(), { caFile, serverName: 'localhost' }));
      });

      it('refuses a server without TLS unless the integration disables TLS', async () => {
        const port = servers[type].plain.port;
        for (const tls of [{}, { mode: 'verify-ca', caFile }]) {
          const err = await refused(integration(type, port, tls), /does not offer TLS/);
          assert.equal(err.message, `${type} at 127.0.0.1:${port} does not offer TLS; set tls.mode to "disable" to connect without it`);
        }
        await connects(integration(type, port, { mode: 'disable' }));
      });

      it('says once per integration that TLS is disabled', async () => {
        const logs: Array<{ msg: string; fields?: object }> = [];
        const reader = { read: async () => creds };
        const plain = createIntegrationRunner(integration(type, servers[type].plain.port, { mode: 'disable' }), reader, (msg, fields) => logs.push({ msg, fields }), { refreshSeconds: 60 });
        const verified = createIntegrationRunner({ ...integration(type, tlsPort(), { caFile }, 'localhost'), name: 'verified' }, reader, (msg, fields) => logs.push({ msg, fields }), { refreshSeconds: 60 });
        try {
          for (let n = 0; n < 2; n++) await Promise.all([plain.refresh(), verified.refresh()]);
          assert.deepEqual([plain.status().state, verified.status().state], ['connected', 'connected'], JSON.stringify([plain.status(), verified.status()]));
          assert.deepEqual([plain.status().tls, verified.status().tls], ['disable', 'verify-full']);
          const warnings = logs.filter((l) => /TLS is disabled/.test(l.msg));
          assert.deepEqual(warnings, [{ msg: 'TLS is disabled: the password and all data go to the database unencrypted', fields: { integration: `${type}-tls`, level: 'warn' } }]);
        } finally {
          await Promise.all([plain.stop(), verified.stop()]);
        }
      });
    });
  }

  it('trusts exactly the certificates of caFile when given, none of Node\'s own', () => {
    const caPem = readFileSync(caFile, 'utf8');
    for (const tls of [{ caFile }, { mode: 'verify-ca', caFile }, { caFile, serverName: 'db.example.test' }]) {
      const cas = trustedCas(integration('postgresql', 5432, tls).tls);
      assert.ok(cas?.length === 1 && cas[0] === caPem, `${JSON.stringify(tls)}: ${cas?.length ?? 'Node\'s default'} CAs trusted`);
      assert.ok(!rootCertificates.some((root) => cas.includes(root)));
    }
    assert.equal(trustedCas(integration('mysql', 3306, {}).tls), undefined);
    assert.throws(() => integration('mysql', 3306, { mode: 'verify-ca' }), /verify-ca needs caFile/);
  });

  it('postgresql sends serverName as SNI, also when host is a name', async () => {
    const db = await databaseCa({ dnsNames: ['db.example.test'], ipAddresses: [] });
    const recorder = await sniRecorder(db.server);
    try {
      for (const host of ['localhost', '127.0.0.1']) {
        await connect(integration('postgresql', recorder.port, { caFile: db.caFile, serverName: 'db.example.test' }, host), creds).then(
          (c) => c.close(),
          () => {},
        );
      }
      await connect(integration('postgresql', recorder.port, { mode: 'verify-ca', caFile: db.caFile, serverName: 'db.example.test' }, 'localhost'), creds).then(
        (c) => c.close(),
        () => {},
      );
      assert.deepEqual(recorder.names, ['db.example.test', 'db.example.test', 'db.example.test']);
    } finally {
      await recorder.close();
    }
  });

  it('postgresql with serverName tries each address of a host name in turn', async () => {
    // 127.0.0.2 is loopback too, but nothing listens there: the connector must go on to 127.0.0.1.
    const original = dns.lookup;
    (dns as { lookup: unknown }).lookup = (hostname: string, options: unknown, callback?: unknown) => {
      if (hostname !== 'two-addresses.test') return (original as (...args: unknown[]) => void)(hostname, options, callback);
      const cb = (typeof options === 'function' ? options : callback) as (err: null, a: dns.LookupAddress[]) => void;
      cb(null, [{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.1', family: 4 }]);
    };
    try {
      await connects(integration('postgresql', servers.postgresql.tls.port, { caFile, serverName: 'localhost' }, 'two-addresses.test'));
      // When none answers, the error is the last one's.
      const nowhere = await freePort();
      await refused(integration('postgresql', nowhere, { caFile, serverName: 'localhost' }, 'two-addresses.test'), /^postgresql at two-addresses\.test:\d+ is unreachable \(ECONNREFUSED\)$/, 'db-unreachable');
    } finally {
      (dns as { lookup: unknown }).lookup = original;
    }
  });
});
