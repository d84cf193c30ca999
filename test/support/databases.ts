import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { ensureTlsMaterial } from '../../src/tls/certificates.js';
import { freePort, testCaDir } from './server-fixture.js';

// Real MariaDB and PostgreSQL servers (Debian's packages, installed by
// scripts/test.mjs) on private data dirs and free loopback ports, with TLS
// when asked.

/** The certificate (PEM) and key a database server presents. */
export interface ServerTls {
  cert: string;
  key: string;
}

export interface DatabaseOptions {
  /** Serve TLS with this certificate; without it the server offers no TLS at all. */
  tls?: ServerTls;
}

/**
 * A new CA of its own (so neither Node's CAs nor the run's NODE_EXTRA_CA_CERTS
 * trust it) and a server certificate from it, by default for localhost and
 * 127.0.0.1, kept in dir (a new temporary directory by default).
 */
export async function databaseCa(opts: { dnsNames?: string[]; ipAddresses?: string[]; dir?: string } = {}): Promise<{ caFile: string; server: ServerTls }> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'coffer-db-ca-'));
  const m = await ensureTlsMaterial({ caDir: join(dir, 'ca'), certDir: join(dir, 'server'), dnsNames: opts.dnsNames ?? ['localhost'], ipAddresses: opts.ipAddresses ?? ['127.0.0.1'] });
  return { caFile: m.caFile, server: { cert: m.cert, key: m.key } };
}

/**
 * A server certificate from the run's CA (COFFER_TEST_CA_DIR), which the run's
 * NODE_EXTRA_CA_CERTS adds to Node's default trust: to the connector, one a
 * public CA issued. By default for localhost only.
 */
export async function publiclyTrustedCert(opts: { dnsNames?: string[]; ipAddresses?: string[] } = {}): Promise<ServerTls> {
  const certDir = mkdtempSync(join(tmpdir(), 'coffer-db-public-'));
  const m = await ensureTlsMaterial({ caDir: testCaDir(), certDir, dnsNames: opts.dnsNames ?? ['localhost'], ipAddresses: opts.ipAddresses ?? [] });
  return { cert: m.cert, key: m.key };
}

/** Writes the certificate and a 0600 key into dir, owned by the server's user. */
function writeServerTls(dir: string, tls: ServerTls, owner?: { uid: number; gid: number }): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'server-cert.pem');
  const keyFile = join(dir, 'server-key.pem');
  writeFileSync(certFile, tls.cert, { mode: 0o644 });
  writeFileSync(keyFile, tls.key, { mode: 0o600 }); // PostgreSQL refuses a key others can read
  if (owner) for (const f of [certFile, keyFile]) chownSync(f, owner.uid, owner.gid);
  return { certFile, keyFile };
}

export interface TestDatabase {
  port: number;
  /** Runs SQL as the database's superuser. */
  admin(sql: string): Promise<void>;
  /** Runs a query as the superuser and returns its rows. */
  rows(sql: string): Promise<Array<Record<string, unknown>>>;
  /** PostgreSQL only: a fast shutdown and a start again, on the same port and data. */
  restart?(): Promise<void>;
  stop(): Promise<void>;
}

async function waitFor(check: () => Promise<void>, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`database exited (${child.exitCode}):\n${logs()}`);
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`database did not start: ${(err as Error).message}\n${logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const stopper = (child: ChildProcess, dir: string) => async () => {
  if (child.exitCode === null) {
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill('SIGTERM');
    });
  }
  rmSync(dir, { recursive: true, force: true });
};

export async function startMariaDb(opts: DatabaseOptions = {}): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-mariadb-'));
  const port = await freePort();
  // A temporary directory of its own: servers bootstrapped at once in the shared /tmp collide on their temporary tables' names.
  mkdirSync(join(dir, 'tmp'));
  const tmpdirArg = `--tmpdir=${dir}/tmp`;
  const init = spawnSync('mariadb-install-db', ['--no-defaults', `--datadir=${dir}/data`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db', tmpdirArg], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr}`);
  const tls = opts.tls ? writeServerTls(dir, opts.tls) : undefined;
  const tlsArgs = tls ? [`--ssl-cert=${tls.certFile}`, `--ssl-key=${tls.keyFile}`] : [];
  let logs = '';
  const child = spawn('/usr/sbin/mariadbd', ['--no-defaults', `--datadir=${dir}/data`, `--socket=${dir}/mysqld.sock`, `--pid-file=${dir}/mysqld.pid`, `--port=${port}`, '--bind-address=127.0.0.1', '--user=root', '--skip-name-resolve', '--skip-log-bin', tmpdirArg, ...tlsArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (logs += d));
  child.stderr!.on('data', (d: Buffer) => (logs += d));
  const root = () => mysql.createConnection({ host: '127.0.0.1', port, user: 'root', multipleStatements: true });
  await waitFor(async () => void (await (await root()).end()), child, () => logs);
  const rows = async (sql: string) => {
    const c = await root();
    try {
      const [result] = await c.query(sql);
      return Array.isArray(result) ? (result as Array<Record<string, unknown>>) : [];
    } finally {
      await c.end();
    }
  };
  return {
    port,
    admin: async (sql) => void (await rows(sql)),
    rows,
    stop: stopper(child, dir),
  };
}

export async function startPostgres(opts: DatabaseOptions = {}): Promise<TestDatabase> {
  const version = readdirSync('/usr/lib/postgresql').sort().pop()!;
  const bin = join('/usr/lib/postgresql', version, 'bin');
  const dir = mkdtempSync(join(tmpdir(), 'coffer-pg-'));
  // PostgreSQL refuses to run as root: the data dir belongs to the postgres user.
  const { uid, gid } = userIds('postgres');
  chownSync(dir, uid, gid);
  const port = await freePort();
  copyData(postgresTemplate(bin, version, uid, gid), join(dir, 'data'));
  const tls = opts.tls ? writeServerTls(dir, opts.tls, { uid, gid }) : undefined;
  const tlsArgs = tls ? ['-c', 'ssl=on', '-c', `ssl_cert_file=${tls.certFile}`, '-c', `ssl_key_file=${tls.keyFile}`] : [];
  let logs = '';
  const launch = () => {
    const c = spawn(join(bin, 'postgres'), ['-D', join(dir, 'data'), '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', ...tlsArgs], { uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (d: Buffer) => (logs += d));
    c.stderr!.on('data', (d: Buffer) => (logs += d));
    return c;
  };
  let child = launch();
  const superuser = () => new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
  const ready = () =>
    waitFor(async () => {
      const c = superuser();
      await c.connect();
      await c.end();
    }, child, () => logs);
  await ready();
  const rows = async (sql: string) => {
    const c = superuser();
    await c.connect();
    try {
      return (await c.query(sql)).rows as Array<Record<string, unknown>>;
    } finally {
      await c.end();
    }
  };
  return {
    port,
    admin: async (sql) => void (await rows(sql)),
    rows,
    // As `pg_ctl restart -m fast`: SIGINT is PostgreSQL's fast shutdown (every session ended, no wait for clients).
    async restart() {
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGINT');
      });
      child = launch();
      await ready();
    },
    stop: () => stopper(child, dir)(),
  };
}

/**
 * A data dir initdb made, once per PostgreSQL version (about 1.5 s of CPU each time): each server starts on a
 * copy. Made aside and renamed into place, so that files starting at once never copy a half-made one.
 */
function postgresTemplate(bin: string, version: string, uid: number, gid: number): string {
  const template = join(tmpdir(), `coffer-pg-template-${version}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;
  const making = mkdtempSync(`${template}-making-`);
  chownSync(making, uid, gid);
  const data = join(making, 'data');
  // No sync: the tests' servers run with fsync off.
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync'], { uid, gid, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  try {
    renameSync(data, template);
  } catch (err) {
    // Another file made it first: theirs is as good.
    if (!existsSync(join(template, 'PG_VERSION'))) throw err;
  }
  rmSync(making, { recursive: true, force: true });
  return template;
}

/** A copy of a data dir, its owner and modes kept (PostgreSQL wants its data dir 0700 and its own). */
function copyData(from: string, to: string): void {
  const cp = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`copying ${from}: ${cp.stderr}`);
}

function userIds(name: string): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`user ${name} does not exist (is postgresql installed?)`);
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

const PG_ROLE = 'coffer';
const PG_PASSWORD = 'coffer-test-password';

/**
 * A new, empty PostgreSQL database owned by a password-authenticated role
 * (coffer connects over TCP, where initdb set scram-sha-256), and its URL.
 */
export async function freshPostgresDatabase(db: TestDatabase): Promise<string> {
  const name = `coffer_${randomBytes(6).toString('hex')}`;
  await db.admin(`DO $$ BEGIN CREATE ROLE ${PG_ROLE} LOGIN PASSWORD '${PG_PASSWORD}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
  await db.admin(`CREATE DATABASE ${name} OWNER ${PG_ROLE}`);
  return `postgres://${PG_ROLE}:${PG_PASSWORD}@127.0.0.1:${db.port}/${name}`;
}

/** The superuser's URL for one database (over TCP, so the superuser is given a password first). */
export async function postgresSuperuserUrl(db: TestDatabase, database: string): Promise<string> {
  await db.admin(`ALTER ROLE postgres PASSWORD '${PG_PASSWORD}'`);
  return `postgres://postgres:${PG_PASSWORD}@127.0.0.1:${db.port}/${database}`;
}
