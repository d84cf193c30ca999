import dns, { type LookupAddress } from 'node:dns';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { ConnectorError, type Credentials } from './vault-reader.js';
import type { DbTlsConfig, IntegrationConfig } from './connector-config.js';

// A live connection to an integration's database, opened with credentials
// held only in memory, with a health check query. TLS is on unless the
// integration turns it off: a server that does not offer it is refused, never
// silently used in cleartext.

export interface DbConnection {
  check(): Promise<void>;
  close(): Promise<void>;
}

const AUTH_CODES = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', '28P01', '28000']);
/** Of those, a wrong user name or password (MySQL/MariaDB 1045, PostgreSQL invalid_password); the others are a missing grant or a host rule. */
const PASSWORD_CODES = new Set(['ER_ACCESS_DENIED_ERROR', '28P01']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'EAI_AGAIN']);
// OpenSSL's verification failures, as Node names them in err.code.
const UNTRUSTED_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED',
]);

interface DbErrorShape {
  code?: string;
  errno?: number;
  message?: string;
}

/** A MariaDB (4150, ER_USER_IS_BLOCKED) or MySQL (3955) account locked after failed sign-ins: mysql2 names them otherwise. */
const LOCKED_ERRNOS = new Set([4150, 3955]);

/** A TLS failure in the user's terms, or undefined when err is not one. */
function describeTlsError(where: string, e: DbErrorShape): ConnectorError | undefined {
  const message = e.message ?? '';
  // pg's and mysql2's words for a server that answered the TLS request with "no".
  if (e.code === 'HANDSHAKE_NO_SSL_SUPPORT' || message === 'The server does not support SSL connections') {
    return new ConnectorError('db-tls', `${where} does not offer TLS; set tls.mode to "disable" to connect without it`);
  }
  // mysql2 replaces Node's code with HANDSHAKE_SSL_ERROR, so its failures are told apart by Node's messages.
  const mysqlTls = e.code === 'HANDSHAKE_SSL_ERROR';
  const reason = (e.code && !mysqlTls ? `${message} (${e.code})` : message).slice(0, 200);
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || (mysqlTls && message.startsWith('Hostname/IP does not match'))) {
    return new ConnectorError('db-tls', `${where}: the certificate is not for this server: ${reason}; set tls.serverName to a name it carries (failing that, tls.mode "verify-ca" with the issuing CA in tls.caFile)`);
  }
  if ((e.code && UNTRUSTED_CODES.has(e.code)) || (mysqlTls && /certificate|self[- ]signed/i.test(message))) {
    return new ConnectorError('db-tls', `${where}: the certificate is not trusted: ${reason}; give the CA that issued it in tls.caFile`);
  }
  if (mysqlTls || e.code === 'EPROTO' || e.code?.startsWith('ERR_SSL_') || message === 'There was an error establishing an SSL connection') {
    return new ConnectorError('db-tls', `${where}: the TLS handshake failed: ${reason}`);
  }
  return undefined;
}

/** Database errors in the user's terms; the message never includes the password. */
export function describeDbError(i: IntegrationConfig, err: unknown, username: string): ConnectorError {
  const e = err as DbErrorShape;
  const where = `${i.type} at ${i.host}:${i.port ?? defaultPort(i)}`;
  // A username comes from the secret: shown, but not at any length.
  const user = username.length > 100 ? `${username.slice(0, 100)}...` : username;
  if (e.code && AUTH_CODES.has(e.code)) return new ConnectorError('db-auth', `${where} rejected the credentials of user '${user}' from the vault`, PASSWORD_CODES.has(e.code));
  // pg refuses to answer a SCRAM challenge with an empty password itself, before the server can.
  if (/client password must be a non-empty string/.test(e.message ?? '')) {
    return new ConnectorError('db-auth', `${where} asks user '${user}' for a password, and the secret's password is empty`, true);
  }
  if (e.errno !== undefined && LOCKED_ERRNOS.has(e.errno)) {
    return new ConnectorError('db-auth', `${where} has blocked user '${user}' after too many failed sign-ins (${(e.message ?? '').slice(0, 200)}): unblock it in the database`);
  }
  if (e.code && NETWORK_CODES.has(e.code)) return new ConnectorError('db-unreachable', `${where} is unreachable (${e.code})`);
  // pg's connectionTimeoutMillis fails without a code.
  if (!e.code && /connection timeout|timeout expired/i.test(e.message ?? '')) return new ConnectorError('db-unreachable', `${where} is unreachable (ETIMEDOUT)`);
  const tls = describeTlsError(where, e);
  if (tls) return tls;
  return new ConnectorError('db-error', `${where}: ${(e.message ?? String(err)).slice(0, 200)}`);
}

const defaultPort = (i: IntegrationConfig) => (i.type === 'mysql' ? 3306 : 5432);

/**
 * The CAs a database's certificate must chain to: caFile's alone when given,
 * as libpq's sslrootcert replaces the default roots; otherwise undefined, which
 * leaves Node's defaults (its built-in list and NODE_EXTRA_CA_CERTS). verify-ca
 * always has caFile (the config requires it): checking no name, it would
 * accept any certificate a public CA issued to anyone for any domain.
 */
export function trustedCas(tls: DbTlsConfig): string[] | undefined {
  if (tls.caPem !== undefined) return [tls.caPem];
  if (tls.mode === 'verify-ca') throw new Error('tls.mode "verify-ca" needs tls.caFile');
  return undefined;
}

function pgSsl(tls: DbTlsConfig): pg.ClientConfig['ssl'] {
  if (tls.mode === 'disable') return false;
  const name = tls.serverName;
  return {
    ca: trustedCas(tls),
    rejectUnauthorized: true,
    // pg checks the certificate against host unless told otherwise, and overwrites
    // servername with host when host is a name: pgHosts gives it addresses then.
    ...(name === undefined ? {} : { servername: name }),
    ...(tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : name === undefined ? {} : { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert) }),
  };
}

/**
 * The hosts to give pg, in order. pg sends host as SNI when it is a name,
 * overwriting servername, and sends none for an address. So when serverName
 * is set and host is a name, the connector looks host up itself and gives pg
 * its addresses: SNI is then serverName, the name the certificate is checked
 * against.
 */
async function pgHosts(i: IntegrationConfig): Promise<string[]> {
  if (i.tls.mode === 'disable' || i.tls.serverName === undefined || isIP(i.host) !== 0 || i.host.startsWith('/')) return [i.host];
  // dns.lookup as net calls it, so a replaced lookup (the tests' loopback one) applies here too.
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) => dns.lookup(i.host, { all: true }, (err, a) => (err ? reject(err) : resolve(a))));
  return [...new Set(addresses.map((a) => a.address))];
}

function mysqlOptions(i: IntegrationConfig, port: number): Pick<mysql.ConnectionOptions, 'host' | 'ssl' | 'stream'> {
  const { tls } = i;
  if (tls.mode === 'disable') return { host: i.host };
  // mysql2 has no servername option and checks the certificate against its host
  // option, or, when that is an IP address, against "localhost": Node's last
  // fallback after the socket's _host, which net sets only for names it looked up.
  // So the connector opens the socket itself: mysql2's host is the name to check
  // (serverName), and an IP address to check is the socket's _host.
  const stream = (): Socket => {
    const socket = tcpConnect({ host: i.host, port, noDelay: true });
    if (isIP(i.host) !== 0) Object.assign(socket, { _host: i.host });
    return socket;
  };
  return {
    host: tls.serverName ?? i.host,
    ssl: { ca: trustedCas(tls), rejectUnauthorized: true, verifyIdentity: tls.mode === 'verify-full' },
    stream,
  };
}

/** How long a health query (or a close) may take: a database that stopped answering must not hold the connector. */
export const DB_ANSWER_TIMEOUT_MS = 5000;

/** Waits for `work` at most DB_ANSWER_TIMEOUT_MS; past that, `abandon` drops the connection and the wait fails. */
async function bounded(work: Promise<unknown>, abandon: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandon();
      reject(Object.assign(new Error(`the database did not answer within ${DB_ANSWER_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' }));
    }, DB_ANSWER_TIMEOUT_MS);
  });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function connect(i: IntegrationConfig, creds: Credentials): Promise<DbConnection> {
  try {
    if (i.type === 'mysql') {
      const port = i.port ?? 3306;
      const conn = await mysql.createConnection({ port, user: creds.username, password: creds.password, database: i.database, connectTimeout: 5000, ...mysqlOptions(i, port) });
      conn.on('error', () => {}); // a dropped connection shows up in the next health check
      return {
        check: () => bounded(conn.query('SELECT 1'), () => conn.destroy()),
        close: () => bounded(conn.end(), () => conn.destroy()).catch(() => {}),
      };
    }
    const ssl = pgSsl(i.tls);
    const hosts = await pgHosts(i);
    for (const [n, host] of hosts.entries()) {
      // Only the vault's credentials: pg takes an empty password as unset and would fill it from the host
      // (PGPASSWORD, ~/.pgpass). A password given as a function is used as it is, even empty.
      const password = creds.password;
      const client = new pg.Client({ host, port: i.port ?? 5432, user: creds.username, password: () => password, database: i.database, connectionTimeoutMillis: 5000, ssl });
      client.on('error', () => {});
      try {
        await client.connect();
      } catch (err) {
        // The next address, as net does for a name, when this one is out of reach.
        if (n < hosts.length - 1 && NETWORK_CODES.has((err as DbErrorShape).code ?? '')) continue;
        throw err;
      }
      // pg has no destroy: a stuck client's socket is ended under it.
      const drop = () => (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      return { check: () => bounded(client.query('SELECT 1'), drop), close: () => bounded(client.end(), drop).catch(() => {}) };
    }
    throw new Error(`${i.host} has no address`);
  } catch (err) {
    throw describeDbError(i, err, creds.username);
  }
}
