import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Server } from 'node:http';
import type { Authorizer } from '../authorization/authorizer.js';
import { registerAuthorizationRoutes } from '../authorization/authorization-routes.js';
import type { CheckAccess } from '../authorization/check-access.js';
import type { RoleAssignmentService } from '../authorization/role-assignment-service.js';
import type { RoleDefinitionService } from '../authorization/role-definition-service.js';
import { registerDirectoryRoutes } from '../identity/directory-routes.js';
import type { createGrantHandler } from '../identity/oauth-grants.js';
import { registerOAuthRoutes } from '../identity/oauth-routes.js';
import { registerDeviceLoginPage } from '../identity/device-login-page.js';
import type { DeviceCodes } from '../identity/device-code.js';
import type { AuthCodes } from '../identity/auth-codes.js';
import { registerAuthorizePage } from '../identity/authorize-page.js';
import type { TokenService } from '../identity/token-service.js';
import { registerSecretRoutes } from '../secrets/secret-routes.js';
import { registerSecretArmRoutes } from '../secrets/secret-arm-routes.js';
import type { SecretService } from '../secrets/secret-service.js';
import { registerProviderRoutes } from '../vaults/provider-routes.js';
import { registerSubscriptionRoutes } from '../vaults/subscription-routes.js';
import { registerVaultRoutes } from '../vaults/vault-routes.js';
import { registerAdminRoutes, type AdminOperations } from './admin-routes.js';
import { checkApiVersion } from './api-version.js';
import { installArmHook, type ArmDeps } from './arm-common.js';
import type { BearerAuth } from './bearer-auth.js';
import { FORM_ROUTE, installBodyParsers } from './body-parsers.js';
import { clientError, frameworkError, installErrorHandling, refuseConnect, type ErrorLog } from './error-handler.js';
import { errors } from './errors.js';
import { headerFault, originForm, routeUnmetExpectations, unmetExpectation, unsupportedTransferCoding } from './header-faults.js';
import { registerMetadataRoutes } from './metadata-routes.js';
import { installAuditHook } from '../audit/audit-hook.js';
import type { RefusalAuditLimits } from '../audit/audit-hook.js';
import type { Throttle } from './throttle.js';
import { DEFAULT_BODY_LIMITS, installBodyBudget, type BodyLimits } from './body-budget.js';
import { installUnreadBodyWatch } from './unread-body.js';
import { SERVICE_VERSION } from './service-version.js';
import { unmapped } from '../net/client-address.js';
import { isIPv4 } from 'node:net';
import type { AuditLog } from '../audit/audit-log.js';
import './request-context.js';
import { installPortalCors } from './portal-cors.js';
import type { InFlight } from './graceful-close.js';
import type { Metrics } from './metrics.js';
import { findPortalBuild, registerPortalRoutes } from '../portal/portal-routes.js';
import { checkNetworkAccess } from '../vaults/network-rules.js';

// HTTP wiring. One server serves two kinds of host, as Azure does with two
// DNS names: `{vault}.{suffix}` is a vault's data plane; any other host is
// the bare host with identity and management APIs.

export interface AppDeps extends ArmDeps {
  port: number;
  tokens: TokenService;
  auth: BearerAuth;
  grants: ReturnType<typeof createGrantHandler>;
  deviceCodes: DeviceCodes;
  authCodes: AuthCodes;
  authorizer: Authorizer;
  secrets: SecretService;
  assignments: RoleAssignmentService;
  definitions: RoleDefinitionService;
  checkAccess: CheckAccess;
  adminObjectId: string;
  admin: AdminOperations;
  audit: AuditLog;
  /** How many refusals without a valid token, or throttled, are recorded one by one (absent: all). */
  refusalAudit?: RefusalAuditLimits;
  /** Counts the requests in flight, for the shutdown (graceful-close.ts). */
  inFlight: InFlight;
  /** What `GET /coffer/metrics` reports (metrics.ts). */
  metrics: Metrics;
  /** False while the database connection is being renewed (database-outage.ts): requests but the health check are refused 503. */
  databaseReady?: () => boolean;
  /** Absent when throttling is off. */
  throttle?: Throttle;
  https?: { key: string; cert: string };
  /** The server's budget for request bodies held at once, and how long one may pause (body-budget.ts); defaults if absent. */
  bodyLimits?: BodyLimits;
  /** Where request-path errors are logged (never bodies, headers or tokens). */
  log: ErrorLog;
  /** The portal's static build; found next to the server code when not given. */
  portalBuildDir?: string | null;
}

const DEFAULT_BODY_LIMIT = 256 * 1024;
/**
 * A client must send its headers within 15 s, and its whole request within
 * 300 s (Node's default; a backup restored with POST /secrets/restore may be
 * 32 MiB, which takes more than a minute on a slow uplink), or it gets a 408
 * and its connection is closed: one that trickles bytes cannot hold a
 * connection open for long (a shutdown closes it at its own timeout).
 * Fastify's default is no limit. Keep-alive between requests stays fastify's
 * 72 s. Node checks both timeouts every connectionsCheckingInterval (its
 * default, 30 s, would let them run that late).
 */
const REQUEST_TIMEOUT_MS = 300_000;
// requireHostHeader off: Node's own refusal of an HTTP/1.1 request without Host is a bare 400 with no
// body; the onRequest hook below refuses it in the service's terms instead.
const NODE_SERVER_TIMEOUTS = { headersTimeout: 15_000, connectionsCheckingInterval: 5_000, requireHostHeader: false };
/**
 * A TLS handshake must be done within 10 s: Node's default, 120 s, lets a
 * connection that never sends its ClientHello hold a descriptor (and, but for
 * watchConnections in graceful-close.ts, a shutdown) that long. headersTimeout
 * then runs from the handshake, so a connection that sends no request is
 * closed after 15–20 s too.
 */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    https: deps.https ? { ...deps.https, ...NODE_SERVER_TIMEOUTS, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS } : null,
    http: NODE_SERVER_TIMEOUTS,
    // No per-request logger: a child logger per request costs throughput; errors go to deps.log.
    logger: false,
    bodyLimit: DEFAULT_BODY_LIMIT,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Refused in the service's terms below (Fastify's own 503 has a body no Azure client reads).
    return503OnClosing: false,
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 512 },
    // Request ids double as Azure's x-ms-request-id.
    genReqId: () => crypto.randomUUID(),
    // Absolute-form targets (from proxies) are routed, and their scopes and nextLinks built, by path alone.
    rewriteUrl: originForm,
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  app.decorateRequest('vaultName', null);
  app.decorateRequest('vault', null);
  app.decorateRequest('caller', null);
  installBodyParsers(app);
  installBodyBudget(app, deps.bodyLimits);
  installUnreadBodyWatch(app, (deps.bodyLimits ?? DEFAULT_BODY_LIMITS).idleMs);
  installErrorHandling(app, deps.log);
  installAuditHook(app, deps.audit, deps.log, deps.inFlight, deps.refusalAudit, deps.metrics.observe);

  const suffix = `.${deps.urls.vaultDnsSuffix}`;
  // Every host is HTTPS only, and browsers may remember it (HSTS), except when reached as plain `localhost`
  // (the host the request names, whatever the public host): a browser would then refuse plain HTTP to every
  // other local development server, whatever its port. Not includeSubDomains either: the vault hosts answer
  // it themselves, and other subdomains are not coffer's.
  const hsts = deps.https !== undefined;
  // Set when the server starts closing (SIGTERM, or a lost database lock): a request that arrives then on a
  // connection already open (keep-alive, pipelined) is refused, as Azure refuses, rather than started.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async (req, reply) => {
    // As Key Vault, Resource Manager and Graph answer: no browser reads an answer as another type than it says.
    reply.header('x-ms-request-id', req.id).header('x-content-type-options', 'nosniff');
    if (closing) throw errors.shuttingDown();
    if (deps.databaseReady?.() === false && req.url !== '/healthz') throw errors.databaseUnavailable();
    const fault = headerFault(req.raw);
    if (fault) throw errors.badParameter(fault);
    const coding = unsupportedTransferCoding(req.raw);
    if (coding !== null) throw errors.unsupportedTransferCoding(coding);
    const host = req.hostname.toLowerCase();
    if (host.endsWith(suffix)) {
      const label = host.slice(0, -suffix.length);
      if (label.length > 0 && !label.includes('.')) req.vaultName = label;
    }
    if (hsts && host !== 'localhost') reply.header('strict-transport-security', 'max-age=31536000');
    const clientRequestId = req.headers['x-ms-client-request-id'];
    if (typeof clientRequestId === 'string' && clientRequestId.length <= 128) reply.header('x-ms-client-request-id', clientRequestId);
    // U+0000 names nothing coffer stores, and PostgreSQL's text cannot even be compared with it.
    if (req.url.includes('%00')) throw errors.badParameter('The request URI contains the character U+0000 (%00), which is not accepted.');
    const expect = unmetExpectation(req.raw);
    if (expect !== null) throw errors.expectationFailed(expect);
  });
  answerBeforeFastify(app.server);
  installPortalCors(app, deps.urls.authority);

  // Vault hosts: the Key Vault data plane.
  app.register(async (dataPlane) => {
    dataPlane.addHook('onRequest', async (req: FastifyRequest<{ Querystring: Record<string, string> }>, reply) => {
      // Answers may carry secret values: no cache, browser or proxy, may keep them.
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      // As Key Vault sends them on every answer: its version, and the address it saw the client connect from.
      const addr = unmapped(req.ip);
      const v4 = isIPv4(addr);
      reply.header('x-ms-keyvault-service-version', SERVICE_VERSION);
      reply.header('x-ms-keyvault-network-info', `conn_type=${v4 ? 'Ipv4' : 'Ipv6'};addr=${addr};act_addr_fam=${v4 ? 'InterNetwork' : 'InterNetworkV6'};`);
      if (!req.vaultName) throw errors.notFound(req.url.split('?')[0] ?? '');
      let vault = await deps.vaults.findLive(req.vaultName);
      if (!vault) throw errors.vaultNotFound(req.hostname);
      req.vault = vault;
      // As Azure sends it (the SDKs let it into their logs).
      reply.header('x-ms-keyvault-region', vault.location);
      checkApiVersion(req.query['api-version']);
      req.caller = await deps.auth.dataPlane(req.headers.authorization);
      // A change of the vault stored while the token was checked replaced the row read (and its seal, which the
      // authorization digest no longer holds): the vault as it stands now, not a row put back.
      if (!deps.vaults.isCurrent(vault)) {
        vault = await deps.vaults.findLive(req.vaultName);
        if (!vault) throw errors.vaultNotFound(req.hostname);
        req.vault = vault;
      }
      // Its access policies and network rules, before anything is decided from them.
      deps.vaults.assertIntact(vault);
      // After authentication, as Key Vault's firewall names the caller in its 403.
      checkNetworkAccess(vault, req.ip, req.caller);
      // The caller's own allowance, after authentication (anonymous requests use up no one's); the vault's shared
      // one once authorized (secret-routes). By the matched route, which no spelling of the path escapes.
      deps.throttle?.admitCaller(vault.id, req.caller.objectId, req.method === 'PUT' && req.routeOptions.url === '/secrets/:name');
    });
    registerSecretRoutes(dataPlane, { urls: deps.urls, secrets: deps.secrets, authorizer: deps.authorizer, throttle: deps.throttle });
  });

  // The bare host: identity service, directory, management plane, admin.
  app.register(async (bare) => {
    bare.addHook('onRequest', async (req) => {
      if (req.vaultName) throw errors.notFound(req.url.split('?')[0] ?? '');
    });
    // Sign-in, discovery and health are not part of the vault audit trail; the sign-in service reads HTML forms.
    bare.register(async (open) => {
      open.addHook('onRoute', (route) => {
        route.config = { ...(route.config as object), audit: false, ...FORM_ROUTE };
      });
      registerOAuthRoutes(open, { tenantId: deps.tenantId, urls: deps.urls, tokens: deps.tokens, grants: deps.grants });
      registerDeviceLoginPage(open, { directory: deps.directory, deviceCodes: deps.deviceCodes });
      registerAuthorizePage(open, { authority: deps.urls.authority, tenantId: deps.tenantId, directory: deps.directory, authCodes: deps.authCodes, grants: deps.grants });
      registerMetadataRoutes(open, { urls: deps.urls, port: deps.port });
      registerPortalRoutes(open, { urls: deps.urls, tenantId: deps.tenantId, subscriptionId: deps.subscriptionId, buildDir: deps.portalBuildDir === undefined ? findPortalBuild() : deps.portalBuildDir });
      open.get('/healthz', async (_req, reply) => {
        const audit = deps.audit.health();
        // Unauthenticated: the state only, never the error's text (paths, database messages); that is in the log.
        // storage.writable: false when the trail failed because the storage took no write (a full disk: docs/deployment.md).
        // database.connected (PostgreSQL): false while the lock connection is renewed, so that a balancer sends requests elsewhere.
        const connected = deps.databaseReady?.();
        const healthy = audit.healthy && connected !== false;
        return reply
          .status(healthy ? 200 : 503)
          .send({ status: healthy ? 'ok' : 'degraded', audit: { healthy: audit.healthy }, storage: { writable: !audit.storageFull }, ...(connected === undefined ? {} : { database: { connected } }) });
      });
    });
    registerDirectoryRoutes(bare, { directory: deps.directory, auth: deps.auth, adminObjectId: deps.adminObjectId, index: deps.index, tokens: deps.tokens, authority: deps.urls.authority });
    registerAdminRoutes(bare, {
      metrics: deps.metrics,
      auth: deps.auth,
      adminObjectId: deps.adminObjectId,
      ops: deps.admin,
      authorizer: deps.authorizer,
      checkAccess: deps.checkAccess,
      audit: deps.audit,
      vaults: deps.vaults,
      subscriptionId: deps.subscriptionId,
      authority: deps.urls.authority,
    });
    bare.register(async (arm) => {
      installArmHook(arm, deps.auth);
      registerSubscriptionRoutes(arm, deps);
      registerProviderRoutes(arm, deps);
      registerVaultRoutes(arm, deps);
      registerSecretArmRoutes(arm, { subscriptionId: deps.subscriptionId, urls: deps.urls, authorizer: deps.authorizer, vaults: deps.vaults, secrets: deps.secrets });
      registerAuthorizationRoutes(arm, { subscriptionId: deps.subscriptionId, assignments: deps.assignments, definitions: deps.definitions });
    });
  });

  return app;
}

/** What a server of the app answers before fastify sees a request: CONNECT and unmet Expect headers (listening-servers.ts: on each). */
export function answerBeforeFastify(server: Server): void {
  routeUnmetExpectations(server);
  refuseConnect(server);
}
