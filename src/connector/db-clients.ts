import mysql from 'mysql2/promise';
import pg from 'pg';
import { ConnectorError, type Credentials } from './vault-reader.js';
import type { IntegrationConfig } from './connector-config.js';

// A live connection to an integration's database, opened with credentials
// held only in memory, with a health check query.

export interface DbConnection {
  check(): Promise<void>;
  close(): Promise<void>;
}

const AUTH_CODES = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', '28P01', '28000']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'EAI_AGAIN']);

/** Database errors in the user's terms; the message never includes the password. */
export function describeDbError(i: IntegrationConfig, err: unknown, username: string): ConnectorError {
  const e = err as { code?: string; message?: string };
  const where = `${i.type} at ${i.host}:${i.port ?? defaultPort(i)}`;
  if (e.code && AUTH_CODES.has(e.code)) return new ConnectorError('db-auth', `${where} rejected the credentials of user '${username}' from the vault`);
  if (e.code && NETWORK_CODES.has(e.code)) return new ConnectorError('db-unreachable', `${where} is unreachable (${e.code})`);
  return new ConnectorError('db-error', `${where}: ${(e.message ?? String(err)).slice(0, 200)}`);
}

const defaultPort = (i: IntegrationConfig) => (i.type === 'mysql' ? 3306 : 5432);

export async function connect(i: IntegrationConfig, creds: Credentials): Promise<DbConnection> {
  try {
    if (i.type === 'mysql') {
      const conn = await mysql.createConnection({ host: i.host, port: i.port ?? 3306, user: creds.username, password: creds.password, database: i.database, connectTimeout: 5000 });
      conn.on('error', () => {}); // a dropped connection shows up in the next health check
      return { check: async () => void (await conn.query('SELECT 1')), close: () => conn.end().catch(() => {}) };
    }
    const client = new pg.Client({ host: i.host, port: i.port ?? 5432, user: creds.username, password: creds.password, database: i.database, connectionTimeoutMillis: 5000 });
    client.on('error', () => {});
    await client.connect();
    return { check: async () => void (await client.query('SELECT 1')), close: () => client.end().catch(() => {}) };
  } catch (err) {
    throw describeDbError(i, err, creds.username);
  }
}
