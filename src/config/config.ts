import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_BODY_LIMITS } from '../server/body-budget.js';
import { DEFAULT_CONNECTION_LIMITS } from '../server/connection-limits.js';

// Configuration is validated once at boot. Precedence: flags, then
// environment variables, then the optional JSON config file, then defaults.

const MIB = 1024 * 1024;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

/** A URL the pg driver connects with; the message on failure never echoes it (it may hold a password). */
function isPostgresUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * A boolean setting: a JSON boolean, or the words the environment variables
 * take (z.coerce.boolean made the string "false" true, turning --dev on).
 */
const flag = z.union([z.boolean(), z.string().regex(/^(1|0|true|false|yes|no|on|off)$/i, 'must be true or false').transform((v) => /^(1|true|yes|on)$/i.test(v))]);

/** A number of connections (connection-limits.ts), from `min`. */
const connectionCount = (min: number, tooSmall: string) =>
  z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').min(min, tooSmall).max(1_000_000, 'must be at most 1,000,000');

export const configSchema = z
  .object({
    port: z.coerce.number().int().min(1).max(65535).default(8443),
    /** The port clients reach coffer at, in every URL it issues, when a load balancer listens on another than `port` (default: port). */
    publicPort: z.coerce.number().int().min(1).max(65535).optional(),
    host: z.string().min(1).default('localhost'),
    dataDir: z.string().min(1).default('./data'),
    /** PostgreSQL instead of the SQLite file in the data dir (docs/postgres.md). */
    databaseUrl: z.string().refine(isPostgresUrl, 'must be a postgres:// or postgresql:// URL').optional(),
    /** With databaseUrl: wait while another server holds the database, and take over when it stops. */
    standby: flag.default(false),
    /** With databaseUrl: share the database with other servers started with cluster too (docs/postgres.md, "Clusters"). */
    cluster: flag.default(false),
    /** With databaseUrl: how long the database may stay away (its lock connection broken) before the server exits; 0: exit at once. */
    databaseReconnectSeconds: z.coerce.number().int().min(0).max(86400).default(300),
    /** With databaseUrl: the lock connection is checked this often, and taken as broken when a check goes unanswered for twice as long. */
    databaseHeartbeatSeconds: z.coerce.number().int().min(1).max(300).default(5),
    /** Seal the authorization data found unsealed at this start, though the data dir shows no earlier start against the database (docs/access-control.md). */
    sealStoredAuthorization: flag.default(false),
    /** Seal the authorization rows as found at this start, though they are not those coffer last sealed (docs/access-control.md, "Rows put back"). */
    acceptAuthorizationRows: flag.default(false),
    vaultDnsSuffix: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, 'must be a DNS name such as vault.localhost')
      .default('vault.localhost'),
    /** Host name of the bare host (identity, management, portal) in URLs. */
    publicHost: z.string().min(1).default('localhost'),
    dev: flag.default(false),
    masterKey: z.string().optional(),
    previousMasterKeys: z.array(z.string()).default([]),
    tlsCert: z.string().optional(),
    tlsKey: z.string().optional(),
    tlsCaDir: z.string().optional(),
    /** PEM CAs trusted, besides Node's, for the HTTPS of external identity providers (federated identity credentials). */
    federationCaFile: z.string().optional(),
    location: z.string().regex(/^[a-z0-9]+$/).default('local'),
    tokenLifetimeSeconds: z.coerce.number().int().min(300).max(86400).default(3600),
    purgeSweepSeconds: z.coerce.number().int().min(1).max(86400).default(3600),
    /** On SIGTERM/SIGINT, how long requests in flight may take before their connections are closed. */
    shutdownTimeoutSeconds: z.coerce.number().int().min(0).max(3600).default(10),
    auditFile: z.string().optional(),
    auditFileMaxBytes: z.coerce.number().int().min(1024).default(100 * 1024 * 1024),
    auditFileKeep: z.coerce.number().int().min(1).max(100).default(5),
    auditRetentionDays: z.coerce.number().int().min(1).max(3650).default(365),
    /** Refusals without a valid token recorded one by one per network (IPv4 /24, IPv6 /48) per minute; the rest are summarised. 0: all. */
    auditAnonymousPerNetwork: z.coerce.number().int().min(0).default(600),
    /** Throttled refusals (429) of a signed-in caller recorded one by one per vault per minute; the rest are summarised. 0: all. */
    auditThrottledPerCaller: z.coerce.number().int().min(0).default(600),
    throttle: flag.default(true),
    throttleWindowSeconds: z.coerce.number().int().min(1).max(3600).default(10),
    throttleSecretCreates: z.coerce.number().int().min(1).default(300),
    throttleOther: z.coerce.number().int().min(1).default(4000),
    /** Memory for the cache of latest secret versions (ciphertext, never plaintext); 0 (the default) turns it off. */
    secretCacheMb: z.coerce.number().int().min(0).max(4096).default(0),
    /** Request bodies held in memory at once, over all requests (a 32 MiB restore needs at least 32); past it, 429. */
    requestBodyBudgetMb: z.coerce.number().int().min(1).max(4096).default(DEFAULT_BODY_LIMITS.budgetBytes / MIB),
    /** How long a request body may pause between two chunks before it is refused with 408. */
    requestBodyIdleSeconds: z.coerce.number().int().min(1).max(300).default(DEFAULT_BODY_LIMITS.idleMs / 1000),
    /** Open connections at once, TLS handshakes included (each holds about 30 KB); one past it is closed on arrival. */
    maxConnections: connectionCount(1, 'must be at least 1').default(DEFAULT_CONNECTION_LIMITS.maxConnections),
    /** Open connections from one client address; 0: no limit (behind a proxy every client shares its address). */
    maxConnectionsPerClient: connectionCount(0, 'must be 0 (no limit) or more').default(DEFAULT_CONNECTION_LIMITS.maxConnectionsPerClient),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: 'tlsCert and tlsKey must be given together' });
    }
    if (c.standby && c.databaseUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['standby'], message: 'standby needs databaseUrl: a standby waits for another server on the same PostgreSQL database' });
    }
    if (c.cluster && c.databaseUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'cluster needs databaseUrl: the members of a cluster share one PostgreSQL database' });
    }
    if (c.cluster && c.standby) {
      ctx.addIssue({ code: 'custom', path: ['standby'], message: 'standby and cluster exclude each other: a cluster member serves alongside the others instead of waiting for one to stop' });
    }
    if (c.cluster && c.secretCacheMb > 0) {
      ctx.addIssue({ code: 'custom', path: ['secretCacheMb'], message: 'the latest-version cache is for a server that holds its database alone: a cluster member reads every secret from the database, so that a version set on another member shows at once' });
    }
    if (c.dev && !LOOPBACK_HOSTS.has(c.host)) {
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'dev mode uses well-known credentials and only listens on loopback' });
    }
  });

export type CofferConfig = z.infer<typeof configSchema>;

export const envNames: Record<string, keyof CofferConfig> = {
  COFFER_PORT: 'port',
  COFFER_HOST: 'host',
  COFFER_DATA_DIR: 'dataDir',
  COFFER_DATABASE_URL: 'databaseUrl',
  COFFER_STANDBY: 'standby',
  COFFER_CLUSTER: 'cluster',
  COFFER_DATABASE_RECONNECT_SECONDS: 'databaseReconnectSeconds',
  COFFER_DATABASE_HEARTBEAT_SECONDS: 'databaseHeartbeatSeconds',
  COFFER_SEAL_STORED_AUTHORIZATION: 'sealStoredAuthorization',
  COFFER_ACCEPT_AUTHORIZATION_ROWS: 'acceptAuthorizationRows',
  COFFER_VAULT_DNS_SUFFIX: 'vaultDnsSuffix',
  COFFER_PUBLIC_HOST: 'publicHost',
  COFFER_PUBLIC_PORT: 'publicPort',
  COFFER_DEV: 'dev',
  COFFER_MASTER_KEY: 'masterKey',
  COFFER_PREVIOUS_MASTER_KEYS: 'previousMasterKeys',
  COFFER_TLS_CERT: 'tlsCert',
  COFFER_TLS_KEY: 'tlsKey',
  COFFER_TLS_CA_DIR: 'tlsCaDir',
  COFFER_FEDERATION_CA_FILE: 'federationCaFile',
  COFFER_LOCATION: 'location',
  COFFER_TOKEN_LIFETIME_SECONDS: 'tokenLifetimeSeconds',
  COFFER_PURGE_SWEEP_SECONDS: 'purgeSweepSeconds',
  COFFER_SHUTDOWN_TIMEOUT_SECONDS: 'shutdownTimeoutSeconds',
  COFFER_LOG_LEVEL: 'logLevel',
  COFFER_SECRET_CACHE_MB: 'secretCacheMb',
  COFFER_REQUEST_BODY_BUDGET_MB: 'requestBodyBudgetMb',
  COFFER_REQUEST_BODY_IDLE_SECONDS: 'requestBodyIdleSeconds',
  COFFER_MAX_CONNECTIONS: 'maxConnections',
  COFFER_MAX_CONNECTIONS_PER_CLIENT: 'maxConnectionsPerClient',
  COFFER_AUDIT_FILE: 'auditFile',
  COFFER_AUDIT_FILE_MAX_BYTES: 'auditFileMaxBytes',
  COFFER_AUDIT_FILE_KEEP: 'auditFileKeep',
  COFFER_AUDIT_RETENTION_DAYS: 'auditRetentionDays',
  COFFER_AUDIT_ANONYMOUS_PER_NETWORK: 'auditAnonymousPerNetwork',
  COFFER_AUDIT_THROTTLED_PER_CALLER: 'auditThrottledPerCaller',
  COFFER_THROTTLE: 'throttle',
  COFFER_THROTTLE_WINDOW_SECONDS: 'throttleWindowSeconds',
  COFFER_THROTTLE_SECRET_CREATES: 'throttleSecretCreates',
  COFFER_THROTTLE_OTHER: 'throttleOther',
};

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(envNames)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (key === 'previousMasterKeys') out[key] = raw.split(',').map((s) => s.trim()).filter(Boolean);
    else if (key === 'dev' || key === 'throttle' || key === 'standby' || key === 'cluster' || key === 'sealStoredAuthorization' || key === 'acceptAuthorizationRows') out[key] = /^(1|true|yes|on)$/i.test(raw);
    else out[key] = raw;
  }
  return out;
}

function fromFile(file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  if (!existsSync(file)) throw new ConfigError([`config file ${file} does not exist`]);
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([`config file ${file}: ${(err as Error).message}`]);
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  configFile: string | undefined = env.COFFER_CONFIG,
): CofferConfig {
  const definedFlags = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const merged = { ...fromFile(configFile), ...fromEnv(env), ...definedFlags };
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const cfg = result.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(p));
  return {
    ...cfg,
    dataDir: abs(cfg.dataDir),
    tlsCaDir: cfg.tlsCaDir ? abs(cfg.tlsCaDir) : undefined,
    tlsCert: cfg.tlsCert ? abs(cfg.tlsCert) : undefined,
    tlsKey: cfg.tlsKey ? abs(cfg.tlsKey) : undefined,
    auditFile: cfg.auditFile ? abs(cfg.auditFile) : undefined,
    federationCaFile: cfg.federationCaFile ? abs(cfg.federationCaFile) : undefined,
  };
}
