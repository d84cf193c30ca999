import type { IntegrationConfig } from './connector-config.js';
import { connect as connectToDb, describeDbError, type DbConnection } from './db-clients.js';
import { createSignInBackoff } from './sign-in-backoff.js';
import { ConnectorError, type Credentials, type VaultReader } from './vault-reader.js';

// Keeps one integration connected. Each refresh re-reads the secret (the
// vault decides, every time, whether the connector may still read it),
// reconnects when the version changed or the database refused the old
// credentials, and runs a health query. Credentials live only in the closure
// of the current connection attempt. A version the database refused is tried
// again less and less often (sign-in-backoff.ts).

export interface IntegrationStatus {
  name: string;
  type: IntegrationConfig['type'];
  tls: IntegrationConfig['tls']['mode'];
  state: 'starting' | 'connected' | 'error';
  secret: string;
  secretVersion: string | null;
  connectedAt: string | null;
  lastCheckAt: string | null;
  lastError: string | null;
  errorKind: ConnectorError['kind'] | null;
}

// The vault said no: a connection made with what it gave before is not kept. A malformed value (bad-value)
// is not among them: it is a newer version than the connection's (a typo in a rotation), which keeps it.
const REVOKED: Array<ConnectorError['kind']> = ['denied', 'not-found', 'disabled', 'vault-auth', 'vault-network'];

export interface RunnerOptions {
  refreshSeconds: number;
  /** How to sign in to the database (tests replace it). */
  connect?: typeof connectToDb;
}

export function createIntegrationRunner(config: IntegrationConfig, reader: VaultReader, log: (msg: string, fields?: object) => void, options: RunnerOptions) {
  const connect = options.connect ?? connectToDb;
  const backoff = createSignInBackoff(options.refreshSeconds);
  let connection: DbConnection | null = null;
  // The version of the last connection that worked: its id only, its value is read again from the vault when needed.
  let workingVersion: string | null = null;
  const status: IntegrationStatus = {
    name: config.name,
    type: config.type,
    tls: config.tls.mode,
    state: 'starting',
    secret: `${config.secret.vault}/${config.secret.name}`,
    secretVersion: null,
    connectedAt: null,
    lastCheckAt: null,
    lastError: null,
    errorKind: null,
  };
  // Said once, at start: the integration's every connection is cleartext by choice.
  if (config.tls.mode === 'disable') {
    log('TLS is disabled: the password and all data go to the database unencrypted', { integration: config.name, level: 'warn' });
  }

  async function disconnect() {
    const c = connection;
    connection = null;
    status.connectedAt = null;
    // The status says which version the connection uses: with none, none.
    status.secretVersion = null;
    await c?.close();
  }

  /**
   * Connects with the credentials read now and only then lets the old
   * connection go: if the new one fails (a version whose password is not
   * live in the database yet), the old one, which may still work, is kept,
   * and the next refresh tries again.
   */
  async function reconnect(reason: string, read?: Credentials) {
    const creds = read ?? (await reader.read(config.secret));
    const waiting = backoff.waiting(creds.version);
    if (waiting) throw waiting;
    const fresh = await connect(config, creds).catch((err: unknown) => {
      // Only a refused password waits: a missing grant, a host rule or a blocked account is retried at every refresh (fixing it ends the outage at once).
      throw err instanceof ConnectorError && err.passwordRefused ? backoff.refused(creds.version, err) : err;
    });
    backoff.succeeded(creds.version);
    workingVersion = creds.version;
    const old = connection;
    connection = fresh;
    status.secretVersion = creds.version;
    status.connectedAt = new Date().toISOString();
    log(`connected (${reason})`, { integration: config.name, secretVersion: creds.version });
    await old?.close().catch(() => undefined);
  }

  // One refresh at a time per integration; a slow one holds back no other integration.
  let inFlight: Promise<void> | null = null;
  function refresh(): Promise<void> {
    inFlight ??= refreshOnce().finally(() => (inFlight = null));
    return inFlight;
  }

  /**
   * A newer version cannot be used: the connection kept is checked, and the
   * error says whether it still works ('error' beside a working connection
   * would read as an outage) or is gone too (then the status shows none).
   */
  async function keptOrGone(err: ConnectorError, what: string): Promise<never> {
    const kept = status.secretVersion;
    if (await connection!.check().then(() => true, () => false)) {
      throw new ConnectorError(err.kind, `${what}, still connected with version ${kept}: ${err.message}`);
    }
    await disconnect();
    if (await fallBack(err)) throw new ConnectorError(err.kind, `${what}, reconnected with version ${workingVersion}: ${err.message}`);
    throw new ConnectorError(err.kind, `${what}, and the connection with version ${kept} no longer works: ${err.message}`);
  }

  /**
   * No connection, and the latest version cannot sign in (the database refuses
   * it, or it is malformed): a password stored before it was changed in the
   * database, a typo in a rotation. The version that last worked, read again
   * from the vault (so a revoked grant still stops it), is tried instead while
   * the database takes it: a connection dropped in that window (a database
   * restart, a failover) would otherwise be an outage with a working password
   * in the vault. Its refusals wait too (sign-in-backoff.ts). True when connected.
   */
  async function fallBack(err: ConnectorError): Promise<boolean> {
    const version = workingVersion;
    if (version === null || (err.kind !== 'db-auth' && err.kind !== 'bad-value')) return false;
    try {
      const creds = await reader.read({ ...config.secret, version });
      if (creds.version !== version) return false;
      await reconnect('back to the version that last worked', creds);
      return true;
    } catch {
      return false;
    }
  }

  async function refreshOnce(): Promise<void> {
    try {
      // Reading every time is the point: a revoked grant stops the integration at the next refresh.
      const latest = await reader.read(config.secret).catch(async (err: unknown) => {
        if (err instanceof ConnectorError && err.kind === 'bad-value') {
          if (connection) return keptOrGone(err, 'the latest secret version is unusable');
          if (await fallBack(err)) throw new ConnectorError(err.kind, `the latest secret version is unusable, reconnected with version ${workingVersion}: ${err.message}`);
        }
        // The vault out of reach: the connection is still checked, or the status would show one that died meanwhile.
        if (err instanceof ConnectorError && err.kind === 'vault-unreachable' && connection) return keptOrGone(err, 'the vault is unreachable');
        throw err;
      });
      if (!connection) {
        await reconnect('start', latest).catch(async (err: unknown) => {
          if (err instanceof ConnectorError && latest.version !== workingVersion && (await fallBack(err))) {
            throw new ConnectorError(err.kind, `secret version ${latest.version} failed, reconnected with version ${workingVersion}: ${err.message}`);
          }
          throw err;
        });
      }
      else if (latest.version !== status.secretVersion) {
        // reconnect closes the old connection only once the new one is up.
        await reconnect('new secret version', latest).catch((err: unknown) => {
          if (!(err instanceof ConnectorError)) throw err;
          return keptOrGone(err, `secret version ${latest.version} failed`);
        });
      }
      try {
        await connection!.check();
      } catch (err) {
        // A dropped connection or a password rotated under us: read the secret again and reconnect once.
        log(`health check failed: ${describeDbError(config, err, latest.username).message}`, { integration: config.name });
        // The connection failed its check: if no new one comes, the status must not show it as there.
        await reconnect('health check failed').catch(async (e: unknown) => {
          await disconnect();
          throw e;
        });
        try {
          await connection!.check();
        } catch (again) {
          throw describeDbError(config, again, latest.username);
        }
      }
      // Errors are logged once each: the end of one is logged too, or the log would end on it (a vault back after a restart).
      if (status.state === 'error') log(`working again after: ${status.errorKind}`, { integration: config.name });
      status.state = 'connected';
      status.lastError = null;
      status.errorKind = null;
    } catch (err) {
      const e = err instanceof ConnectorError ? err : new ConnectorError('db-error', (err as Error).message.slice(0, 200));
      if (REVOKED.includes(e.kind)) await disconnect();
      if (status.lastError !== e.message) log(`error: ${e.message}`, { integration: config.name, kind: e.kind });
      status.state = 'error';
      status.lastError = e.message;
      status.errorKind = e.kind;
    } finally {
      status.lastCheckAt = new Date().toISOString();
    }
  }

  return { refresh, status: () => ({ ...status }), stop: disconnect };
}

export type IntegrationRunner = ReturnType<typeof createIntegrationRunner>;
