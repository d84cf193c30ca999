import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Authorizer } from '../authorization/authorizer.js';
import type { TokenService } from '../identity/token-service.js';
import { registerOAuthRoutes } from '../identity/oauth-routes.js';
import type { createGrantHandler } from '../identity/oauth-grants.js';
import { registerSecretRoutes } from '../secrets/secret-routes.js';
import type { SecretService } from '../secrets/secret-service.js';
import { registerArmRoutes } from '../vaults/arm-routes.js';
import type { DirectoryService } from '../identity/directory-service.js';
import { registerDirectoryRoutes } from '../identity/directory-routes.js';
import { registerAdminRoutes, type AdminOperations } from './admin-routes.js';
import { registerMetadataRoutes } from './metadata-routes.js';
import type { VaultService } from '../vaults/vault-service.js';
import { checkApiVersion } from './api-version.js';
import type { BearerAuth } from './bearer-auth.js';
import { installBodyParsers } from './body-parsers.js';
import { installErrorHandling } from './error-handler.js';
import { errors } from './errors.js';
import './request-context.js';
import type { Urls } from './urls.js';

// HTTP wiring. One server serves two kinds of host, as Azure does with two
// DNS names: `{vault}.{suffix}` is a vault's data plane; any other host is
// the bare host with identity and management APIs.

export interface AppDeps {
  tenantId: string;
  subscriptionId: string;
  location: string;
  port: number;
  urls: Urls;
  tokens: TokenService;
  auth: BearerAuth;
  handleGrant: ReturnType<typeof createGrantHandler>;
  authorizer: Authorizer;
  vaults: VaultService;
  secrets: SecretService;
  directory: DirectoryService;
  adminObjectId: string;
  admin: AdminOperations;
  https?: { key: string; cert: string };
  logger?: boolean | object;
}

const DEFAULT_BODY_LIMIT = 256 * 1024;

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    https: deps.https ?? null,
    logger: deps.logger ?? false,
    bodyLimit: DEFAULT_BODY_LIMIT,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, ignoreDuplicateSlashes: false, maxParamLength: 512 },
    // Request ids double as Azure's x-ms-request-id.
    genReqId: () => crypto.randomUUID(),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  app.decorateRequest('vaultName', null);
  app.decorateRequest('vault', null);
  app.decorateRequest('caller', null);
  installBodyParsers(app);
  installErrorHandling(app);

  const suffix = `.${deps.urls.vaultDnsSuffix}`;
  app.addHook('onRequest', async (req, reply) => {
    const host = req.hostname.toLowerCase();
    if (host.endsWith(suffix)) {
      const label = host.slice(0, -suffix.length);
      if (label.length > 0 && !label.includes('.')) req.vaultName = label;
    }
    reply.header('x-ms-request-id', req.id);
    const clientRequestId = req.headers['x-ms-client-request-id'];
    if (typeof clientRequestId === 'string' && clientRequestId.length <= 128) reply.header('x-ms-client-request-id', clientRequestId);
  });

  // Vault hosts: the Key Vault data plane.
  app.register(async (dataPlane) => {
    dataPlane.addHook('onRequest', async (req: FastifyRequest<{ Querystring: Record<string, string> }>) => {
      if (!req.vaultName) throw errors.notFound(req.url.split('?')[0] ?? '');
      const vault = await deps.vaults.findLive(req.vaultName);
      if (!vault) throw errors.vaultNotFound(req.hostname);
      req.vault = vault;
      checkApiVersion(req.query['api-version']);
      req.caller = await deps.auth.dataPlane(req.headers.authorization);
    });
    registerSecretRoutes(dataPlane, { urls: deps.urls, secrets: deps.secrets, authorizer: deps.authorizer });
  });

  // The bare host: identity service and management plane.
  app.register(async (bare) => {
    bare.addHook('onRequest', async (req) => {
      if (req.vaultName) throw errors.notFound(req.url.split('?')[0] ?? '');
    });
    registerOAuthRoutes(bare, { tenantId: deps.tenantId, urls: deps.urls, tokens: deps.tokens, handleGrant: deps.handleGrant });
    registerArmRoutes(bare, {
      tenantId: deps.tenantId,
      subscriptionId: deps.subscriptionId,
      location: deps.location,
      urls: deps.urls,
      auth: deps.auth,
      authorizer: deps.authorizer,
      vaults: deps.vaults,
    });
    registerDirectoryRoutes(bare, { directory: deps.directory, auth: deps.auth, adminObjectId: deps.adminObjectId });
    registerAdminRoutes(bare, { auth: deps.auth, adminObjectId: deps.adminObjectId, ops: deps.admin });
    registerMetadataRoutes(bare, { urls: deps.urls, port: deps.port });
    bare.get('/healthz', async () => ({ status: 'ok' }));
  });

  return app;
}
