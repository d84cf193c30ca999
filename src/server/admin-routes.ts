import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authorizer } from '../authorization/authorizer.js';
import type { CheckAccess } from '../authorization/check-access.js';
import { requireScope, subscriptionScope } from '../authorization/scopes.js';
import type { BearerAuth } from './bearer-auth.js';
import { errors } from './errors.js';
import { requireCaller } from './request-context.js';
import { registerAuditRoutes } from '../audit/audit-routes.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Metrics } from './metrics.js';
import type { VaultService } from '../vaults/vault-service.js';
import { repeatedParameter } from './query-params.js';
import { mayReadDirectory } from '../identity/directory-access.js';

// coffer's own APIs (no Azure equivalent): check access for any principal,
// and deployment administration (administrator only).

export interface AdminOperations {
  rotateMasterKey(): Promise<object>;
  rotateSigningKey(): Promise<object>;
}

export function registerAdminRoutes(
  app: FastifyInstance,
  deps: {
    auth: BearerAuth;
    adminObjectId: string;
    ops: AdminOperations;
    authorizer: Authorizer;
    checkAccess: CheckAccess;
    audit: AuditLog;
    metrics: Metrics;
    vaults: VaultService;
    subscriptionId: string;
    authority: string;
  },
): void {
  app.register(async (own) => {
    own.addHook('onRequest', async (req) => {
      req.caller = await deps.auth.management(req.headers.authorization);
      const repeated = repeatedParameter(req.query);
      if (repeated !== undefined) throw errors.badParameter(`The query parameter '${repeated}' is given more than once.`);
    });

    // Who may do what at a scope, and why. Needs the right to read role assignments there.
    own.post('/coffer/check-access', async (req: FastifyRequest<{ Body: unknown }>) => {
      const body = (req.body ?? {}) as { principalId?: unknown; scope?: unknown };
      if (typeof body.principalId !== 'string' || typeof body.scope !== 'string') throw errors.badParameter('principalId and scope are required strings.');
      const scope = requireScope(body.scope);
      await deps.authorizer.authorizeManagement(requireCaller(req), 'Microsoft.Authorization/roleAssignments/read', scope.path);
      // An app-only caller may not read the directory (directory-access.ts): the answer then names no principal
      // or group (ids and types only, as a role assignment list shows them), so that it is no way around Graph's 403.
      return deps.checkAccess(body.principalId, scope.path, { names: mayReadDirectory(requireCaller(req), deps.adminObjectId) });
    });

    registerAuditRoutes(own, deps);

    // For Prometheus (its scrape config's oauth2 client credentials get the token). Azure Monitor's action, which
    // Reader's */read grants. Scrapes come every few seconds and read no vault data: not in the audit trail.
    own.get('/coffer/metrics', { config: { audit: false, operation: 'MetricsRead' } }, async (req, reply) => {
      await deps.authorizer.authorizeManagement(requireCaller(req), 'Microsoft.Insights/metrics/read', subscriptionScope(deps.subscriptionId));
      return reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').header('cache-control', 'no-store').send(deps.metrics.render({ auditHealthy: deps.audit.health().healthy }));
    });

    own.post('/coffer/admin/rotate-master-key', async (req) => {
      if (requireCaller(req).objectId !== deps.adminObjectId) throw errors.masterKeyRotationAdminOnly();
      return deps.ops.rotateMasterKey();
    });
    own.post('/coffer/admin/rotate-signing-key', async (req) => {
      if (requireCaller(req).objectId !== deps.adminObjectId) throw errors.signingKeyRotationAdminOnly();
      return deps.ops.rotateSigningKey();
    });
  });
}
