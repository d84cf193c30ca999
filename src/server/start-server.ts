import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import pino from 'pino';
import type { CofferConfig } from '../config/config.js';
import { createAccessControl, grantAdministrator } from './access-control.js';
import { createBackupKeys, ensureBackupKey, renewUnsealableBackupKey } from '../crypto/backup-key.js';
import { loadKeyring } from '../crypto/keyring.js';
import { keyIdsInUse, renewUnsealableDataKeys, rewrapAll, rolledBackAdvice } from '../crypto/master-key-rotation.js';
import { createAdminOperations } from './admin-operations.js';
import { createVaultKeys } from '../crypto/vault-keys.js';
import { bindUnboundHashes, openCredentialHasher, PEPPER_RECORD_FILE } from '../identity/credential-pepper.js';
import { watchCredentialWrites } from '../identity/own-credentials.js';
import { retiredKidsFile } from '../identity/signing-keys.js';
import { createDirectoryService, type SignInLock } from '../identity/directory-service.js';
import { createGrantHandler } from '../identity/oauth-grants.js';
import { EARLIER_GENERATIONS_LOOKED_IN } from '../identity/refresh-token-renewal.js';
import { createDeviceCodes } from '../identity/device-code.js';
import { createAuthCodes } from '../identity/auth-codes.js';
import { createAuditLog } from '../audit/audit-log.js';
import { createAuditKeySource, loadRecordedAuditKey } from '../audit/audit-key.js';
import { createFileSink } from '../audit/audit-file-sink.js';
import { refusalAuditLimits } from '../audit/audit-hook.js';
import { createThrottle } from './throttle.js';

import { createTokenService } from '../identity/token-service.js';
import { createSecretService } from '../secrets/secret-service.js';
import { withLatestVersionCache } from '../storage/latest-version-cache.js';
import { followChanges } from './follow-changes.js';
import { auditTipUnchanged, watchDatabase } from './database-outage.js';
import { createHighWater } from '../audit/audit-high-water.js';
import { recordRestore } from '../audit/restore-note.js';
import { createMetrics } from './metrics.js';
import { SERVICE_VERSION } from './service-version.js';
import { openSqliteStore } from '../storage/sqlite/sqlite-store.js';
import { checkRecordedKey, earlierBuildDataDir, startSealing } from './authorization-sealing.js';
import { preflight, unknownMasterKeyError } from './start-preflight.js';
import type { ForeseenDigest } from './authorization-digest-start.js';
import { withSqliteStartView } from '../storage/sqlite/sqlite-start-view.js';
import type { StartView } from '../storage/store-types.js';
import { describeTrust, ensureTlsMaterial, serverTlsOptions } from '../tls/certificates.js';
import { createVaultService } from '../vaults/vault-service.js';
import { answerBeforeFastify, buildApp } from './app.js';
import { createBearerAuth } from './bearer-auth.js';
import { ensureDeployment, writeBootstrapFile } from './bootstrap.js';
export type { BootstrapInfo } from './bootstrap.js';
import { lockDataDir, removeDataDirMade, writableByOthers, type DataDirLock } from './data-dir-lock.js';
import { checkPortFree, isAddressInUse, PortInUseError } from './port-check.js';
import { assertionAudiences, createUrls } from './urls.js';
import { federationFromConfig } from '../identity/federation-keys.js';
import { closeGracefully, createInFlight, watchConnections } from './graceful-close.js';
import { otherListeningServers } from './listening-servers.js';
import { survivesAcceptErrors } from './accept-errors.js';
import { createConnectionLimits } from './connection-limits.js';
import { createPurgeSweep } from './purge-sweep.js';

// Boot: keyring, store, TLS, identity, services, HTTP; then bootstrap.json
// for automation and a sweeper for expired soft-deleted objects.

export interface RunningServer {
  url: string;
  port: number;
  bootstrapFile: string;
  /**
   * Stops accepting, lets requests in flight finish until the shutdown timeout, closes the connections left, waits up to the timeout again
   * for handlers still running, then writes the queued audit records and closes the store. With a handler still running after that, it
   * never resolves: the store stays open under it (its write would otherwise lose its audit record), and the caller's watchdog ends the process.
   */
  close(): Promise<void>;
  /** Settles if the server can no longer serve safely (the PostgreSQL lock was lost): the process must then close it and exit. */
  fatal: Promise<Error>;
}

/** How often the audit trail's last record is noted in audit-head.json (and at shutdown). */
const AUDIT_HEAD_EVERY_MS = 10_000;
/** How often lockout counts whose window and lock have ended are dropped. */
const LOCKOUT_SWEEP_MS = 60_000;
/** The least time between two reads of the credential pepper prompted by sign-ins. */
const PEPPER_READ_INTERVAL_MS = 5_000;

export async function startServer(config: CofferConfig): Promise<RunningServer> {
  // Everything the server writes (database, WAL, keys) is private to its user.
  // A worker thread cannot set the umask: `coffer server` sets it before starting its server thread.
  if (isMainThread) process.umask(0o077);
  // A port in use is told before the data dir is made or touched (port-check.ts).
  await checkPortFree(config.host, config.port);
  // The first directory this start made (the data dir or a parent of it), if it made any.
  const made = mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // Before anything in the data dir is read or written; held until the server has closed.
  const dirLock = lockDataDir(config.dataDir);
  try {
    return await startLocked(config, dirLock);
  } catch (err) {
    // A failed first start leaves no data dir behind, only with SQLite: a PostgreSQL database may by
    // now hold keys wrapped by the master key made here, and must not lose it. Removed under the lock.
    if (!config.databaseUrl) removeDataDirMade(config.dataDir, made);
    dirLock.release();
    throw isAddressInUse(err) ? new PortInUseError(config.port, config.host) : err;
  }
}

async function startLocked(config: CofferConfig, dirLock: DataDirLock): Promise<RunningServer> {
  const log = pino({ level: config.logLevel, base: { service: 'coffer' } });
  const publicPort = config.publicPort ?? config.port;
  const urls = createUrls({ publicHost: config.publicHost, port: publicPort, vaultDnsSuffix: config.vaultDnsSuffix });
  const tlsFiles = serverTlsOptions(config);
  // A certificate the operator gives is only read: refused (unreadable, not matching its key) before anything is written.
  const userTls = config.tlsCert ? await ensureTlsMaterial(tlsFiles) : null;
  const keyringFile = join(config.dataDir, 'master.key');
  const { keyring, created } = loadKeyring({ masterKey: config.masterKey, previousKeys: config.previousMasterKeys, file: keyringFile });
  // Every refusal foreseen, before anything is migrated, converted or recorded (start-preflight.ts).
  let foreseenDigest: ForeseenDigest | null = null;
  const checkFirst = (view: StartView) =>
    preflight(view, keyring, { dataDir: config.dataDir, dev: config.dev, sealStored: config.sealStoredAuthorization, sqlite: !config.databaseUrl, cluster: config.cluster, acceptRows: config.acceptAuthorizationRows }).then(
      (digest) => void (foreseenDigest = digest),
      (err: unknown) => {
        // A key made now for a database it does not open would stay behind in the data dir.
        if (created) rmSync(keyringFile, { force: true });
        throw err;
      },
    );
  if (!config.databaseUrl) await withSqliteStartView(join(config.dataDir, 'coffer.db'), checkFirst);

  // The master key, TLS files and bootstrap.json stay in the data dir whichever database holds the rest.
  // PostgreSQL's driver is loaded only when a database URL is configured.
  const store = config.databaseUrl
    ? await (await import('../storage/postgres/pg-store.js')).openPostgresStore(config.databaseUrl, {
        wait: config.standby,
        onWaiting: () => log.warn('standby: another coffer server holds the database; waiting to take over when it stops'),
        cluster: config.cluster,
        preflight: checkFirst,
        heartbeatMs: config.databaseHeartbeatSeconds * 1000,
        heartbeatTimeoutMs: 2 * config.databaseHeartbeatSeconds * 1000,
        reconnect: { limitMs: config.databaseReconnectSeconds * 1000, warn: (message, fields) => log.warn(fields ?? {}, message) },
      })
    : openSqliteStore({ file: join(config.dataDir, 'coffer.db') });
  // Once the pre-flight kept it (PostgreSQL's runs as the store opens).
  if (created) log.warn({ file: keyringFile }, 'created a new master key; back it up separately from the database');
  if (writableByOthers(config.dataDir)) log.warn({ dataDir: config.dataDir }, 'the data dir is writable by its group or by others, who could replace the files in it (the master key, bootstrap.json, the TLS key): chmod 700 it');
  // Another server may serve the database from now on, or this cluster member missed the others' changes:
  // either way this one's caches would go stale under it (database-outage.ts).
  const database = watchDatabase(store, config.databaseReconnectSeconds, log);
  // Servers of a cluster started together make the deployment's ids, administrator and keys once, in
  // turn (and check the master key against what the first one made). A start that fails later on the
  // way exits the process, whose connection takes the lock with it.
  const endSetup = (await store.setupLock?.()) ?? (async () => undefined);
  const inUse = [...(await keyIdsInUse(store, keyring))];
  const unknownKeys = inUse.filter((id) => !keyring.has(id));
  if (unknownKeys.length > 0) {
    await endSetup();
    await store.close();
    throw unknownMasterKeyError(unknownKeys, keyring.primaryId);
  }
  // Keys wrapped by a previous master key (an env-supplied rotation) move to the primary now.
  const stale = inUse.filter((id) => id !== keyring.primaryId);
  // A cluster's members do not renew the authorization key: the others would go on sealing under the old one.
  const rewrapHooks = { ...(config.cluster ? { renewAuthorization: async () => null } : {}), acceptAuthorizationRows: config.acceptAuthorizationRows };
  if (stale.length > 0) {
    await checkRecordedKey(store, keyring, config.dataDir);
    log.info({ result: await rewrapAll(store, keyring, rewrapHooks) }, 'rewrapped keys under the current master key');
  }
  // While a previous master key is held, its holder can wrap keys coffer takes as made under the current one (vault-key-wrap.ts).
  const stillUsed = stale.length > 0 ? await keyIdsInUse(store, keyring) : new Set(inUse);
  const unused = keyring.ids().filter((id) => id !== keyring.primaryId && !stillUsed.has(id));
  if (unused.length > 0)
    log.warn({ masterKeys: unused }, 'previous master keys are held that no stored key uses any more: once every cluster member has started with the new master key, restart without them to finish the rotation');
  // Vault keys that may not seal (vault-key-wrap.ts): once for every vault after the upgrade that records births; later, a sign of an
  // earlier key put back in the database, or of a member that made a vault under the old key during a rolling rotation.
  const unsealable = await renewUnsealableDataKeys(store, keyring);
  if (unsealable.unrecorded > 0) log.info({ vaults: unsealable.unrecorded }, 'renewed the data keys made before their master key was recorded in them');
  for (const v of unsealable.rolledBack) log.error({ vault: v.id }, rolledBackAdvice(v));
  if (unsealable.foreign > 0) log.warn({ vaults: unsealable.foreign }, 'renewed vault data keys made under a master key no longer in use (put back in the database, or made during a rotation)');
  // Rows that grant access carry a seal (authorization-seal.ts); the first start of a build that seals them seals those stored.
  const servedByEarlierBuild = await earlierBuildDataDir(store, { dataDir: config.dataDir, sqlite: !config.databaseUrl });
  const sealing = await startSealing(
    store,
    keyring,
    { dataDir: config.dataDir, sealStored: config.sealStoredAuthorization, acceptRows: config.acceptAuthorizationRows, servedByEarlierBuild, foreseenDigest },
    log,
  );
  const sealed = sealing.stores;

  const tls = userTls ?? (await ensureTlsMaterial(tlsFiles));

  const pepperFile = join(config.dataDir, PEPPER_RECORD_FILE);
  const { hasher, converted, reload: reloadPepper, own } = await openCredentialHasher(store.settings, store.principals, keyring, pepperFile, { log, trackStored: config.cluster });
  // The keyring an online rotation switched to (the pepper's generations are read again under it).
  let currentKeyring = keyring;
  // Expected once, on the first start of a build with the pepper; again later, someone changed the database.
  if (converted > 0) log.warn({ hashes: converted }, 'keyed the credential hashes stored before the credential pepper');
  // Once, after an upgrade from a build whose hashes named no row (a data dir without the record reads the hashes to tell).
  const unbound = await bindUnboundHashes(store.settings, store.principals, keyring, hasher, pepperFile);
  if (unbound > 0) log.warn({ hashes: unbound }, 'renewed the credential pepper to bind credential hashes made before hashes named their row; refresh tokens and pending codes issued before redeem nothing');
  // A changed row is logged and the generations held are kept. Another member's renewal announced reads them at once.
  const readPepperNow = () => reloadPepper(currentKeyring).catch((err: Error) => log.error({ err: err.message }, 'could not read the credential pepper again'));
  // A sign-in that meets a hash of a newer generation reads them again, at most every few seconds (a hash labelled with a
  // far generation would otherwise cost a read per sign-in).
  let pepperReadAt = 0;
  const readPepperAgain = async () => {
    if (Date.now() - pepperReadAt < PEPPER_READ_INTERVAL_MS) return;
    pepperReadAt = Date.now();
    await readPepperNow();
  };
  // A member keys again what it stored under a generation another member renewed before it read that, and during a
  // conversion a credential replaced or removed here stays so, even if written back (own-credentials.ts).
  // Key credentials are sealed as authorization data: one written without the key authenticates nothing.
  const principals = sealing.principals(watchCredentialWrites(store.principals, own));
  const onLocked = (l: SignInLock) => log.warn({ ...l, until: new Date(l.until * 1000).toISOString() }, `sign-in lockout: ${l.kind === 'name' ? 'user name' : 'client address'} locked`);
  const directory = createDirectoryService({ principals, failures: store.signInFailures, hasher, reloadPepper: readPepperAgain, onLocked });
  const bootstrapFile = join(config.dataDir, 'bootstrap.json');
  const deploymentExisted = (await store.settings.get('deploymentId')) !== null;
  const deployment = await ensureDeployment(store, directory, { dev: config.dev, needAdminSecret: !existsSync(bootstrapFile) });
  await sealing.checkAdministrator(deployment.adminObjectId);
  const tokens = await createTokenService({
    store: store.signingKeys,
    keyring,
    issuer: urls.issuer(deployment.tenantId),
    extraIssuers: [urls.adfsIssuer],
    tenantId: deployment.tenantId,
    lifetimeSeconds: config.tokenLifetimeSeconds,
    principalExists: async (objectId) => (await directory.get(objectId.toLowerCase())) !== null,
    retiredKids: retiredKidsFile(join(config.dataDir, 'signing-keys-retired.json')),
    onUntrustedKey: (kid, why) =>
      log.warn({ kid }, `a stored token signing key ${why === 'seal' ? 'does not open under the master key' : 'this server saw retired is active again in the database'}; it is not trusted`),
  });
  const deviceCodes = createDeviceCodes(store.signInCodes, `${urls.authority}/devicelogin`, {
    hash: (code) => hasher.tokenHash('device-code', code),
    approval: (userCode, objectId) => hasher.tokenHash('device-approval', `${userCode}\u0000${objectId}`),
    confirmation: (userCode, clientId, objectId) => hasher.tokenHash('device-confirmation', `${userCode}\u0000${clientId}\u0000${objectId}`),
  });
  const authCodes = createAuthCodes(store.signInCodes, (code) => hasher.tokenHash('auth-code', code));
  const vaultKeys = createVaultKeys(keyring, store.vaults);
  const vaults = createVaultService({ vaults: sealed.vaults, resourceGroups: store.resourceGroups, vaultKeys, location: config.location, intact: sealed.vaultIntact });
  const secretStore = config.secretCacheMb > 0 ? withLatestVersionCache(store.secrets, { maxBytes: config.secretCacheMb * 1024 * 1024 }) : store.secrets;
  await ensureBackupKey(store.settings, keyring);
  // As for the vault keys above: once after the upgrade that records births; later, a sign of an earlier key put back.
  if (await renewUnsealableBackupKey(store.settings, keyring)) log.info('renewed the backup key: it was made under a master key no longer in use, or before that was recorded');
  const backupKeys = createBackupKeys(store.settings, keyring);
  const secrets = createSecretService({ secrets: secretStore, vaultKeys, backupKeys, deploymentId: deployment.deploymentId });
  const auditKeyFile = join(config.dataDir, 'audit-key.json');
  const auditKey = await loadRecordedAuditKey(store, keyring, auditKeyFile, (since) => {
    // Expected once for a deployment, on the first start of a build that keys the chain. Again later, it
    // means the key was removed from the database: the records before `since` verify by their unkeyed hash only.
    if (deploymentExisted) log.warn({ keyedFrom: since }, `audit trail keyed from record ${since} of an existing deployment: the records before it verify by their unkeyed hash only`);
  });
  // Read again from the store when verifying, and when this cluster member meets a generation another one made.
  const auditKeys = createAuditKeySource(store.settings, keyring, auditKey);
  store.audit.useKey(auditKey, (row) => auditKeys.fromRow(row));
  // Outside the database, like audit-key.json: a database put back to an earlier copy is noticed.
  const highWater = createHighWater(join(config.dataDir, 'audit-head.json'));
  const noteAuditHead = async () => {
    const rolledBack = highWater.observe((await store.audit.tip()).seq);
    if (rolledBack) log.error({ sawRecord: rolledBack.seq, trailEndedAt: rolledBack.rolledBackTo }, 'the audit trail was rolled back to an earlier copy of the database: `coffer audit verify` fails until audit-head.json is removed');
  };
  await noteAuditHead();
  // Bound once the server serves (below): until then the database is there.
  let databaseReady: () => boolean = () => true;
  const audit = createAuditLog({
    highWater,
    available: () => databaseReady(),
    store: store.audit,
    keys: () => auditKeys.current(),
    fileSink: config.auditFile ? createFileSink({ path: config.auditFile, maxBytes: config.auditFileMaxBytes, keep: config.auditFileKeep }) : undefined,
  });
  const restored = await recordRestore(config.dataDir, (entry) => audit.write(entry));
  if (restored !== null) log.warn({ from: restored.backupFile, keptIn: restored.replacedKeptIn }, 'the database was restored from a backup (recorded in the audit trail)');
  const throttle = config.throttle
    ? createThrottle({ windowSeconds: config.throttleWindowSeconds, secretCreates: config.throttleSecretCreates, other: config.throttleOther })
    : undefined;
  const inFlight = createInFlight();
  const connectionLimits = createConnectionLimits({ maxConnections: config.maxConnections, maxConnectionsPerClient: config.maxConnectionsPerClient }, log);
  const access = await createAccessControl({ store: sealed, directory, vaults, subscriptionId: deployment.subscriptionId, tenantId: deployment.tenantId });
  await grantAdministrator(access.index, store.settings, deployment);
  await endSetup();
  // After every cache is built: the changes announced meanwhile are applied first (ChangeFeed.subscribe).
  if (store.changes) followChanges(store.changes, { vaults, vaultKeys, index: access.index, catalog: access.catalog, tokens, pepper: { reload: readPepperNow } }, database.behind);
  // A single server also checks that nobody wrote meanwhile (the database lock's holder, pg-store.ts; the audit trail here).
  const unchanged = config.cluster ? undefined : () => auditTipUnchanged(() => store.audit.tip(), () => highWater.mark()?.seq ?? null);
  const serving = database.serve({ drop: () => (vaults.forgetAll(), tokens.forgetAll()), reload: async () => void (await Promise.all([access.index.reload(), access.catalog.refresh(), tokens.reloadKeys(), readPepperNow()])), unchanged });
  if (serving.ready) databaseReady = serving.ready;

  const app = buildApp({
    tenantId: deployment.tenantId,
    subscriptionId: deployment.subscriptionId,
    location: config.location,
    port: publicPort,
    urls,
    tokens,
    auth: createBearerAuth({ tokens, urls, tenantId: deployment.tenantId }),
    grants: createGrantHandler({ tenantId: deployment.tenantId, directory, tokens, refreshTokens: store.refreshTokens, canonicalResource: urls.canonicalResource, deviceCodes, authCodes, hashRefreshToken: (token) => hasher.tokenHash('refresh-token', token), earlierRefreshTokenHashes: (token) => hasher.earlierTokenHashes('refresh-token', token, EARLIER_GENERATIONS_LOOKED_IN), assertionAudiences: assertionAudiences(urls, deployment.tenantId), federation: federationFromConfig(config, log) }),
    authCodes,
    deviceCodes,
    audit,
    refusalAudit: refusalAuditLimits(config.auditAnonymousPerNetwork, config.auditThrottledPerCaller),
    metrics: createMetrics({ version: SERVICE_VERSION, connections: connectionLimits.stats }),
    inFlight,
    databaseReady: serving.ready,
    throttle,
    bodyLimits: { budgetBytes: config.requestBodyBudgetMb * 1024 * 1024, idleMs: config.requestBodyIdleSeconds * 1000 },
    ...access,
    vaults,
    secrets,
    directory,
    adminObjectId: deployment.adminObjectId,
    admin: createAdminOperations({
      cluster: config.cluster,
      masterKeyFromEnv: Boolean(config.masterKey),
      keyringFile,
      auditKeyFile,
      pepperFile,
      store,
      vaultKeys,
      backupKeys,
      auditKeys,
      tokens,
      vaults,
      hasher,
      sealing,
      keyring: { use: (k) => void (currentKeyring = k), current: () => currentKeyring },
      log,
    }),
    https: { key: tls.key, cert: tls.cert },
    log,
  });
  // Before the TLS handshake, from the first connection on (connection-limits.ts).
  connectionLimits.enforce(app.server);
  const connections = watchConnections(app.server);
  await app.listen({ port: config.port, host: config.host });
  // fastify leaves one listener: on any 'error' of this server it closes the ::1 one (listening-servers.ts). Not for an accept error.
  app.server.removeAllListeners('error');
  survivesAcceptErrors(app.server, log);
  // fastify's servers for the other addresses of `localhost` (::1), listening since a moment before listen() returned.
  for (const other of otherListeningServers(app)) {
    answerBeforeFastify(other);
    connectionLimits.enforce(other);
    connections.watch(other);
    survivesAcceptErrors(other, log);
  }

  if (deployment.adminSecret !== null || !existsSync(bootstrapFile)) {
    writeBootstrapFile(bootstrapFile, deployment, { authorityHost: urls.authority, managementEndpoint: urls.managementEndpoint, vaultDnsSuffix: config.vaultDnsSuffix, port: publicPort, caCertFile: tls.caFile, dev: config.dev });
  }
  const pidFile = join(config.dataDir, 'server.pid');
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });

  const sweep = createPurgeSweep({ secrets, vaults, store, audit, index: access.index, auditRetentionDays: config.auditRetentionDays, log });
  await sweep();
  const timer = setInterval(sweep, config.purgeSweepSeconds * 1000);
  timer.unref();
  const headTimer = setInterval(() => noteAuditHead().catch((err: Error) => log.error({ err: err.message }, 'could not record the audit head')), AUDIT_HEAD_EVERY_MS);
  headTimer.unref();
  // Every minute, not with the hourly sweep: a spray of guesses leaves a count per name tried.
  const lockoutTimer = setInterval(() => directory.forgetEndedLockouts().catch((err: Error) => log.error({ err: err.message }, 'could not drop ended lockout counts')), LOCKOUT_SWEEP_MS);
  lockoutTimer.unref();
  // A cluster member's renewal of the credential pepper (at its start with a new master key): refresh tokens and
  // codes the others issue and redeem then use the new generation within a minute (sign-ins read it when they meet it).
  const pepperTimer = config.cluster ? setInterval(() => void readPepperAgain(), LOCKOUT_SWEEP_MS) : null;
  pepperTimer?.unref();

  log.info({ url: urls.authority, vaults: `https://{vault}.${config.vaultDnsSuffix}:${publicPort}`, tenantId: deployment.tenantId, bootstrap: bootstrapFile }, 'coffer is listening');
  if (tls.generated) process.stderr.write(`\n${describeTrust(tls.caFile)}\n\n`);
  if (tls.unconstrainedCa) {
    log.warn(
      { caFile: tls.caFile },
      'this local CA was made by an earlier coffer without name constraints: whoever reads its key can vouch for any site to those who trust it; remove ca.pem and ca-key.pem to have a constrained one made (then trust the new one)',
    );
  }

  return {
    url: urls.authority,
    port: config.port,
    bootstrapFile,
    fatal: database.fatal,
    async close() {
      clearInterval(timer);
      clearInterval(headTimer);
      clearInterval(lockoutTimer);
      if (pepperTimer) clearInterval(pepperTimer);
      connectionLimits.stop();
      const timeoutMs = config.shutdownTimeoutSeconds * 1000;
      const { forced, running } = await closeGracefully(app, { inFlight, connections }, timeoutMs, timeoutMs);
      if (forced) log.warn({ shutdownTimeoutSeconds: config.shutdownTimeoutSeconds }, 'closed connections still open at the shutdown timeout');
      if (running > 0) {
        // Closing the store now would let their writes commit without their audit records.
        log.error({ requests: running }, 'requests still running past twice the shutdown timeout; the store stays open for them');
        await inFlight.idle();
      }
      await audit.drain();
      await noteAuditHead().catch(() => undefined);
      sealing.recordDigest();
      await store.close();
      rmSync(pidFile, { force: true });
      dirLock.release();
      // The log is written asynchronously, and the process exits right after this: its last lines (the fatal one) first.
      await new Promise<void>((resolve) => log.flush(() => resolve()));
    },
  };
}
