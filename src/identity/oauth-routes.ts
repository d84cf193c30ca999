import type { FastifyInstance } from 'fastify';
import { oauthErrors } from '../server/errors.js';
import type { Urls } from '../server/urls.js';
import type { TokenService } from './token-service.js';
import type { createGrantHandler, TokenEndpoint } from './oauth-grants.js';
import { stringFields } from './login-html.js';

// The Entra-ID-like endpoints on the bare host: discovery, JWKS and token,
// under /{tenant}/... and under /adfs/... (the authority shape MSAL Python
// accepts for a host that is not Microsoft's).

interface Deps {
  tenantId: string;
  urls: Urls;
  tokens: TokenService;
  grants: ReturnType<typeof createGrantHandler>;
}

export function registerOAuthRoutes(app: FastifyInstance, deps: Deps): void {
  const { tenantId, urls } = deps;

  /** `endpoint`: a token, device-code or revocation request, refused as `invalid_request` (discovery's is `invalid_tenant`). */
  function checkTenant(tenant: string, endpoint = false): void {
    const named = tenant.toLowerCase();
    if (named !== tenantId && named !== 'organizations' && named !== 'common') {
      throw oauthErrors.tenantNotFound(tenant, endpoint ? 'invalid_request' : 'invalid_tenant');
    }
  }

  function discovery(base: string, issuer: string, jwksPath: string) {
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${urls.authority}${jwksPath}`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      grant_types_supported: ['client_credentials', 'password', 'refresh_token', 'authorization_code'],
      code_challenge_methods_supported: ['S256'],
      issuer,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      revocation_endpoint: `${base}/oauth2/v2.0/revoke`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'name', 'oid', 'tid', 'upn', 'preferred_username', 'nonce'],
      tenant_region_scope: null,
      cloud_instance_name: new URL(urls.authority).hostname,
      cloud_graph_host_name: new URL(urls.authority).hostname,
      msgraph_host: new URL(urls.authority).host,
    };
  }

  // A body that is not a form holds no fields: the grant's own checks then name the first one missing.
  const parseForm = (body: unknown): Record<string, string> => (body && typeof body === 'object' && !Array.isArray(body) ? stringFields(body) : {});

  const tenantOpenId = async (req: { params: { tenant: string } }) => {
    checkTenant(req.params.tenant);
    return discovery(urls.tenantAuthority(tenantId), urls.issuer(tenantId), `/${tenantId}/discovery/v2.0/keys`);
  };
  app.get<{ Params: { tenant: string } }>('/:tenant/v2.0/.well-known/openid-configuration', tenantOpenId);
  app.get<{ Params: { tenant: string } }>('/:tenant/.well-known/openid-configuration', tenantOpenId);
  app.get('/adfs/.well-known/openid-configuration', async () => {
    const doc = discovery(`${urls.authority}/adfs`, urls.adfsIssuer, '/adfs/discovery/keys');
    return { ...doc, token_endpoint: `${urls.authority}/adfs/oauth2/token`, authorization_endpoint: `${urls.authority}/adfs/oauth2/authorize`, device_authorization_endpoint: `${urls.authority}/adfs/oauth2/devicecode` };
  });

  const jwks = async () => deps.tokens.jwks();
  app.get<{ Params: { tenant: string } }>('/:tenant/discovery/v2.0/keys', async (req) => {
    checkTenant(req.params.tenant);
    return jwks();
  });
  app.get<{ Params: { tenant: string } }>('/:tenant/discovery/keys', async (req) => {
    checkTenant(req.params.tenant);
    return jwks();
  });
  app.get('/adfs/discovery/keys', jwks);

  const token = (endpoint: TokenEndpoint) => async (req: { params: { tenant?: string }; body: unknown; headers: { authorization?: string }; ip: string }, reply: { header(k: string, v: string): unknown }) => {
    if (req.params.tenant !== undefined) checkTenant(req.params.tenant, true);
    reply.header('Cache-Control', 'no-store');
    reply.header('Pragma', 'no-cache');
    return deps.grants.handleGrant(parseForm(req.body), req.headers.authorization, req.ip, endpoint, req.params.tenant);
  };
  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/token', token('v2'));
  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/token', token('v1'));
  app.post<{ Params: { tenant?: string } }>('/adfs/oauth2/token', token('adfs'));

  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/revoke', async (req, reply) => {
    checkTenant(req.params.tenant, true);
    await deps.grants.revoke(parseForm(req.body), req.headers.authorization);
    return reply.header('Cache-Control', 'no-store').send({});
  });

  // Entra ID names the method it refused in the OAuth shape, rather than a bare 404.
  const postOnly = (url: string) =>
    app.route({
      method: ['GET', 'PUT', 'DELETE', 'PATCH'],
      url,
      handler: async (req) => {
        throw oauthErrors.invalidRequest(900561, `AADSTS900561: The endpoint only accepts POST, OPTIONS requests. Received a ${req.method} request.`);
      },
    });
  for (const url of ['/:tenant/oauth2/v2.0/token', '/:tenant/oauth2/token', '/adfs/oauth2/token', '/:tenant/oauth2/v2.0/devicecode', '/adfs/oauth2/devicecode', '/:tenant/oauth2/v2.0/revoke']) {
    postOnly(url);
  }

  // The answer holds the device code, which redeems the sign-in: not to be kept by any cache, as a token answer.
  const deviceCode = async (req: { params: { tenant?: string }; body: unknown; ip: string }, reply: { header(k: string, v: string): unknown }) => {
    if (req.params.tenant !== undefined) checkTenant(req.params.tenant, true);
    reply.header('Cache-Control', 'no-store');
    reply.header('Pragma', 'no-cache');
    return deps.grants.startDeviceCode(parseForm(req.body), req.ip);
  };
  app.post<{ Params: { tenant: string } }>('/:tenant/oauth2/v2.0/devicecode', deviceCode);
  app.post<{ Params: { tenant?: string } }>('/adfs/oauth2/devicecode', deviceCode);
}
