import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Urls } from './urls.js';

// GET /metadata/endpoints: the cloud description az and coffer's CLI read to
// learn the login endpoint, the management audience and the vault DNS suffix.
// api-version 2019-05-01 and later answer a list of clouds; older, one cloud.

export function registerMetadataRoutes(app: FastifyInstance, deps: { urls: Urls; port: number }): void {
  const { urls } = deps;
  const host = new URL(urls.authority).hostname;
  const cloud = {
    name: 'coffer',
    portal: `${urls.authority}/portal`,
    authentication: { loginEndpoint: `${urls.authority}/`, audiences: [urls.managementEndpoint, `${urls.managementEndpoint}/`], tenant: 'common', identityProvider: 'AAD' },
    media: urls.authority,
    graphAudience: urls.managementEndpoint,
    graph: `${urls.authority}/`,
    suffixes: { keyVaultDns: `.${urls.vaultDnsSuffix}${deps.port === 443 ? '' : `:${deps.port}`}`, storage: host, acrLoginServer: host },
    batch: urls.authority,
    resourceManager: `${urls.authority}/`,
    vmImageAliasDoc: urls.authority,
    activeDirectoryDataLake: urls.authority,
    sqlManagement: urls.authority,
    gallery: urls.authority,
    microsoftGraphResourceId: `${urls.managementEndpoint}/`,
  };
  const cloudBody = cloud;
  app.get('/metadata/endpoints', async (req: FastifyRequest<{ Querystring: Record<string, string> }>) => {
    const version = req.query['api-version'] ?? '';
    if (version >= '2019-05-01') return [cloudBody];
    return {
      galleryEndpoint: cloudBody.gallery,
      graphEndpoint: cloudBody.graph,
      portalEndpoint: cloudBody.portal,
      authentication: cloudBody.authentication,
    };
  });
}
