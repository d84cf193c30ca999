import type { FastifyInstance } from 'fastify';
import type { BearerAuth } from './bearer-auth.js';
import { ServiceError } from './errors.js';
import { requireCaller } from './request-context.js';

// coffer's own administration API (no Azure equivalent), administrator only.

export interface AdminOperations {
  rotateMasterKey(): Promise<object>;
}

export function registerAdminRoutes(app: FastifyInstance, deps: { auth: BearerAuth; adminObjectId: string; ops: AdminOperations }): void {
  app.register(async (admin) => {
    admin.addHook('onRequest', async (req) => {
      req.caller = await deps.auth.management(req.headers.authorization);
      if (requireCaller(req).objectId !== deps.adminObjectId) {
        throw new ServiceError(403, 'AuthorizationFailed', 'Only the deployment administrator may use the coffer admin API.');
      }
    });
    admin.post('/coffer/admin/rotate-master-key', async () => deps.ops.rotateMasterKey());
  });
}
