import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from './errors.js';

// Cross-origin access to the vault hosts for the portal only: the portal runs
// on the bare host and calls each vault's data plane directly, as Azure's
// portal calls *.vault.azure.net. Any other origin gets no CORS headers.

/** The sign-in service's POST endpoints (oauth-routes.ts). */
const OAUTH_ENDPOINT = /^\/[^/]+\/oauth2\/(v2\.0\/)?(token|devicecode|revoke)\/?$/i;

const EXPOSED = 'WWW-Authenticate, x-ms-request-id, x-ms-client-request-id, Retry-After';

export function installPortalCors(app: FastifyInstance, portalOrigin: string): void {
  const allowed = (req: FastifyRequest) => req.vaultName !== null && req.headers.origin === portalOrigin;

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!allowed(req)) return;
    reply.header('Access-Control-Allow-Origin', portalOrigin).header('Vary', 'Origin').header('Access-Control-Expose-Headers', EXPOSED);
  });

  // Preflights are answered before authentication and are not audited.
  app.options('/*', { config: { audit: false } }, async (req, reply) => {
    // The sign-in service's endpoints take OPTIONS, as Entra ID's do (their refusal of a GET says so), with no CORS
    // grant: the portal calls them from their own origin.
    if (req.vaultName === null && OAUTH_ENDPOINT.test(req.url.split('?')[0] ?? '')) return reply.status(204).header('Allow', 'POST, OPTIONS').send();
    if (!allowed(req) || typeof req.headers['access-control-request-method'] !== 'string') throw errors.notFound(req.url.split('?')[0] ?? '');
    return reply
      .status(204)
      .header('Access-Control-Allow-Methods', 'GET, PUT, PATCH, POST, DELETE')
      .header('Access-Control-Allow-Headers', 'Authorization, Content-Type, x-ms-client-request-id')
      .header('Access-Control-Max-Age', '600')
      .send();
  });
}
