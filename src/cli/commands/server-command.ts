import type { Command } from 'commander';

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('Run the coffer vault server (identity service, management API and vault data plane over HTTPS).')
    .option('--port <port>', 'HTTPS port (env COFFER_PORT; default 8443)')
    .option('--host <address>', 'address to listen on (env COFFER_HOST; default localhost, loopback only)')
    .option('--data-dir <dir>', 'data directory: database, master key, TLS files, bootstrap.json (env COFFER_DATA_DIR; default ./data)')
    .option('--database-url <url>', 'keep the data in PostgreSQL (postgres://user:password@host:5432/db) instead of {data-dir}/coffer.db; one server per database (env COFFER_DATABASE_URL)')
    .option('--standby', 'with --database-url: wait while another coffer server holds the database and take over when it stops (env COFFER_STANDBY=1)')
    .option('--cluster', 'with --database-url: share the database with other coffer servers started with --cluster, behind one load balancer (env COFFER_CLUSTER=1; docs/postgres.md)')
    .option('--database-reconnect-seconds <n>', 'with --database-url: when the connection holding the database lock breaks, refuse requests (503) and reconnect for at most this long before exiting; 0 exits at once (env COFFER_DATABASE_RECONNECT_SECONDS; default 300)')
    .option('--database-heartbeat-seconds <n>', 'with --database-url: check the connection holding the database lock this often, and take it as broken (503, then reconnect) when a check goes unanswered for twice as long (env COFFER_DATABASE_HEARTBEAT_SECONDS; default 5)')
    .option('--seal-stored-authorization', 'seal the role assignments, custom roles, memberships and vaults found unsealed at this start, trusting them, on a data dir that has not run against the database before (env COFFER_SEAL_STORED_AUTHORIZATION=1; docs/access-control.md)')
    .option('--accept-authorization-rows', 'seal the role assignments, custom roles, memberships, certificates and vaults as found at this start, after checking them, when they are not those coffer last sealed (rows put back or removed outside coffer; env COFFER_ACCEPT_AUTHORIZATION_ROWS=1; docs/access-control.md)')
    .option('--vault-dns-suffix <suffix>', 'vaults are served at https://{vault}.{suffix}:{port} (env COFFER_VAULT_DNS_SUFFIX; default vault.localhost)')
    .option('--public-host <name>', 'host name of the identity/management endpoint in URLs (env COFFER_PUBLIC_HOST; default localhost)')
    .option('--public-port <n>', 'the port clients reach coffer at, in URLs, when a load balancer listens on another than --port (env COFFER_PUBLIC_PORT; default --port)')
    .option('--dev', 'development mode: well-known tenant and administrator credentials, loopback only (env COFFER_DEV=1)')
    .option('--tls-cert <file>', 'PEM certificate to serve instead of the generated one (env COFFER_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (env COFFER_TLS_KEY)')
    .option('--tls-ca-dir <dir>', 'folder of the local CA used to issue the server certificate (env COFFER_TLS_CA_DIR; default {data-dir}/tls)')
    .option('--federation-ca-file <file>', "PEM CA certificates trusted, besides the system's, for the HTTPS of external identity providers that federated identity credentials name (env COFFER_FEDERATION_CA_FILE)")
    .option('--location <name>', 'location reported for vaults (env COFFER_LOCATION; default local)')
    .option('--token-lifetime-seconds <n>', 'access token lifetime (env COFFER_TOKEN_LIFETIME_SECONDS; default 3600)')
    .option('--purge-sweep-seconds <n>', 'how often expired soft-deleted objects are purged (env COFFER_PURGE_SWEEP_SECONDS; default 3600)')
    .option('--shutdown-timeout-seconds <n>', 'on SIGTERM/SIGINT, how long requests in flight may take before their connections are closed (env COFFER_SHUTDOWN_TIMEOUT_SECONDS; default 10)')
    .option('--audit-file <file>', 'also write audit records as JSON lines here, rotated by size (env COFFER_AUDIT_FILE)')
    .option('--audit-file-max-bytes <n>', 'rotate the audit file at this size (env COFFER_AUDIT_FILE_MAX_BYTES; default 100 MiB)')
    .option('--audit-file-keep <n>', 'rotated audit files to keep (env COFFER_AUDIT_FILE_KEEP; default 5)')
    .option('--secret-cache-mb <n>', 'memory for cached latest secret versions, ciphertext only; e.g. 8 for about 16,000 typical secrets (env COFFER_SECRET_CACHE_MB; default 0: off)')
    .option('--request-body-budget-mb <n>', 'request bodies held in memory at once, over all requests (one principal holds at most a quarter); a body past it is refused with 429 (env COFFER_REQUEST_BODY_BUDGET_MB; default 48; a 32 MiB restore needs 32)')
    .option('--request-body-idle-seconds <n>', 'how long a request body may pause before it is refused with 408 (env COFFER_REQUEST_BODY_IDLE_SECONDS; default 30)')
    .option('--max-connections <n>', 'open connections at once, TLS handshakes included (about 30 KB each); one past it is closed on arrival (env COFFER_MAX_CONNECTIONS; default 4096)')
    .option('--max-connections-per-client <n>', 'open connections from one client address; raise it or set 0 (no limit) behind a load balancer or reverse proxy, whose address every client shares (env COFFER_MAX_CONNECTIONS_PER_CLIENT; default 512)')
    .option('--audit-retention-days <n>', 'audit records older than this are deleted (env COFFER_AUDIT_RETENTION_DAYS; default 365)')
    .option('--audit-anonymous-per-network <n>', 'refusals without a valid token recorded one by one per network (IPv4 /24, IPv6 /48) per minute, and ten times that over all networks; the rest are counted in one summary record per network (env COFFER_AUDIT_ANONYMOUS_PER_NETWORK; default 600; 0: all)')
    .option('--audit-throttled-per-caller <n>', 'throttled refusals (429) of a signed-in caller recorded one by one per vault per minute, and ten times that over all callers; the rest are counted in one summary record per caller and vault (env COFFER_AUDIT_THROTTLED_PER_CALLER; default 600; 0: all)')
    .option('--no-throttle', "turn off Azure's per-vault request limits (env COFFER_THROTTLE=0)")
    .option('--throttle-window-seconds <n>', 'throttling window (env COFFER_THROTTLE_WINDOW_SECONDS; default 10)')
    .option('--throttle-secret-creates <n>', 'secret creates per vault per window (env COFFER_THROTTLE_SECRET_CREATES; default 300)')
    .option('--throttle-other <n>', 'other transactions per vault per window (env COFFER_THROTTLE_OTHER; default 4000)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env COFFER_LOG_LEVEL; default info)')
    .option('--config <file>', 'JSON config file with the same settings in camelCase (env COFFER_CONFIG)')
    .addHelpText(
      'after',
      `
The master key is read from {data-dir}/master.key (created on first start, mode 0600),
or from COFFER_MASTER_KEY (32 bytes as 64 hex digits or base64) with older keys in
COFFER_PREVIOUS_MASTER_KEYS (comma separated) during a rotation.
Precedence: flags, then environment variables, then the config file, then defaults.`,
    )
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const { config: file, ...flags } = opts;
      // commander sets throttle=true unless --no-throttle was given; only an explicit "off" is a flag.
      if (flags.throttle === true) delete flags.throttle;
      // The configuration is read and checked in the server thread, with the
      // server's modules (server-thread.ts); loaded here so that client
      // commands start without them.
      const { runServerThread } = await import('./server-thread.js');
      await runServerThread({ flags, configFile: typeof file === 'string' ? file : process.env.COFFER_CONFIG });
    });
}
