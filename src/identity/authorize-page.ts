import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthCodes } from './auth-codes.js';
import { PORTAL_CLIENT_ID } from './identity-types.js';
import type { DirectoryService } from './directory-service.js';
import { credentialFields, escapeHtml, htmlPage, sendHtml, stringFields } from './login-html.js';
import type { createGrantHandler } from './oauth-grants.js';
import { canonicalClientId } from './oauth-client-credentials.js';
import { LOCKED_MESSAGES, sourceKey } from './sign-in-lockout.js';
import { isS256Challenge, oversizedParam, SIGN_IN_PARAM_LIMITS } from './sign-in-limits.js';
import { echo } from '../server/echo.js';

// The authorization endpoint (code flow with PKCE) for people: a sign-in form,
// then a redirect with a code. Redirect URIs are bound to the client: the
// portal's callback page, or loopback (RFC 8252) for the command-line
// clients; an invalid one is never redirected to.

/** The portal's sign-in callback page (portal/src/auth/session.ts). */
export const PORTAL_CALLBACK_PATH = '/portal/auth-callback';

type Params = Record<string, string | undefined>;

/** The request's parameters that are strings: a JSON body or a repeated query parameter can hold anything, which counts as absent. */
const stringParams = (raw: unknown): Params => (typeof raw === 'object' && raw !== null ? stringFields(raw) : {});
const PASSED = ['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'nonce', 'response_mode'];

export function registerAuthorizePage(app: FastifyInstance, deps: { authority: string; tenantId: string; directory: DirectoryService; authCodes: AuthCodes; grants: ReturnType<typeof createGrantHandler> }): void {
  const parse = (uri: string): URL | null => {
    try {
      return new URL(uri);
    } catch {
      return null;
    }
  };
  const isLoopback = (u: URL) => u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]');
  const ownOrigin = new URL(deps.authority).origin;
  /**
   * Where a client's codes may go, as registered redirect URIs would say: the
   * portal's to its callback page only, the command-line clients' to a
   * loopback listener (as az does). Never another path of this server: a
   * code sent to any of its routes would be kept in that request's audit
   * record (its URI), readable by anyone who may read the logs.
   */
  const allowedRedirect = (clientId: string, uri: string): boolean => {
    const u = parse(uri);
    // A redirect URI must not have a fragment (RFC 6749 section 3.1.2): the code would follow it, never reaching the client.
    if (!u || uri.includes('#')) return false;
    if (clientId.toLowerCase() === PORTAL_CLIENT_ID) return u.origin === ownOrigin && u.pathname === PORTAL_CALLBACK_PATH && u.search === '' && u.hash === '';
    return isLoopback(u);
  };
  /**
   * After sign-out, only where the named client may be sent (OpenID Connect
   * RP-Initiated Logout: no post-logout redirection for a client the request
   * does not name): the portal to its pages, a command-line client to a
   * loopback listener.
   */
  const allowedLogoutRedirect = (clientId: string | undefined, uri: string): URL | null => {
    const u = parse(uri);
    if (!u || !clientId || !deps.grants.isPublicClient(clientId)) return null;
    if (clientId.toLowerCase() === PORTAL_CLIENT_ID) return u.origin === ownOrigin && u.pathname.startsWith('/portal/') ? u : null;
    return isLoopback(u) ? u : null;
  };

  /** Problems that must not be sent to the redirect URI (it may not be the client's). */
  async function checkRequest(p: Params): Promise<string | null> {
    if (!p.client_id || !deps.grants.isPublicClient(p.client_id)) return `AADSTS700016: Application with identifier '${escapeHtml(echo(String(p.client_id ?? '')))}' was not found in the directory.`;
    if (!p.redirect_uri || p.redirect_uri.length > SIGN_IN_PARAM_LIMITS.redirect_uri || !allowedRedirect(p.client_id, p.redirect_uri)) return 'AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.';
    return null;
  }

  function redirectError(reply: FastifyReply, p: Params, error: string, description: string) {
    const u = new URL(p.redirect_uri!);
    u.searchParams.set('error', error);
    u.searchParams.set('error_description', description);
    if (p.state) u.searchParams.set('state', p.state);
    return reply.redirect(u.toString(), 302);
  }

  const form = (p: Params, error?: string) =>
    htmlPage(
      'Sign in',
      `${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '<p>Sign in with your coffer account.</p>'}
<form method="post">${PASSED.filter((k) => p[k] !== undefined).map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(p[k]!)}">`).join('')}
${credentialFields}
<button type="submit">Sign in</button></form>`,
    );

  async function validate(reply: FastifyReply, tenant: string, p: Params): Promise<boolean> {
    const knownTenant = [deps.tenantId, 'organizations', 'common'].includes(tenant.toLowerCase());
    const fatal = knownTenant ? await checkRequest(p) : `AADSTS90002: Tenant '${escapeHtml(tenant.slice(0, 64))}' not found.`;
    if (fatal) {
      sendHtml(reply, 400, htmlPage('Sign-in error', `<p class="error" role="alert">${fatal}</p>`));
      return false;
    }
    if (p.response_type !== 'code') {
      redirectError(reply, p, 'unsupported_response_type', 'AADSTS700054: response_type must be code.');
      return false;
    }
    if (!p.code_challenge || p.code_challenge_method !== 'S256' || !isS256Challenge(p.code_challenge)) {
      redirectError(reply, p, 'invalid_request', 'AADSTS9002325: Proof Key for Code Exchange (S256) is required.');
      return false;
    }
    const oversized = oversizedParam(p);
    if (oversized) {
      redirectError(reply, { ...p, state: undefined }, 'invalid_request', oversized);
      return false;
    }
    try {
      deps.grants.resolveScope(p.scope ?? '');
    } catch (err) {
      redirectError(reply, p, 'invalid_scope', (err as Error).message);
      return false;
    }
    return true;
  }

  // The end_session_endpoint of the discovery document. coffer keeps no sign-in session (every sign-in
  // asks for the password), so signing out only goes back to an allowed post_logout_redirect_uri.
  app.get('/:tenant/oauth2/v2.0/logout', async (req: FastifyRequest<{ Querystring: unknown }>, reply) => {
    const { post_logout_redirect_uri: back, client_id: clientId } = stringParams(req.query);
    const to = back && back.length <= SIGN_IN_PARAM_LIMITS.redirect_uri ? allowedLogoutRedirect(clientId, back) : null;
    // As the URL parser wrote it (percent-encoded): a raw non-ASCII or CR/LF character cannot go in a header.
    if (to) return reply.redirect(to.href, 302);
    return sendHtml(reply, 200, htmlPage('Signed out', '<p>You have signed out. You can close this window.</p>'));
  });

  const path = '/:tenant/oauth2/v2.0/authorize';
  app.get(path, async (req: FastifyRequest<{ Querystring: unknown; Params: { tenant: string } }>, reply) => {
    const query = stringParams(req.query);
    if (!(await validate(reply, req.params.tenant, query))) return reply;
    return sendHtml(reply, 200, form(query));
  });
  app.post(path, async (req: FastifyRequest<{ Body: unknown; Params: { tenant: string } }>, reply) => {
    const body = stringParams(req.body);
    if (!(await validate(reply, req.params.tenant, body))) return reply;
    const signIn = await deps.directory.authenticateUser(String(body.username ?? '').slice(0, 256), String(body.password ?? '').slice(0, 1024), req.ip);
    if (!signIn.ok) return sendHtml(reply, signIn.reason === 'busy' ? 503 : 401, form(body, signIn.reason === 'invalid' ? 'The user name or password is incorrect.' : LOCKED_MESSAGES[signIn.reason]));
    const user = signIn.user;
    const code = await deps.authCodes.issue({
      objectId: user.objectId,
      clientId: canonicalClientId(body.client_id!),
      redirectUri: body.redirect_uri!,
      scope: body.scope!,
      challenge: body.code_challenge!,
      nonce: body.nonce ?? null,
      source: sourceKey(req.ip),
      passwordGeneration: user.passwordGeneration ?? 0,
    });
    const target = new URL(body.redirect_uri!);
    target.searchParams.set('code', code);
    if (body.state) target.searchParams.set('state', body.state);
    return reply.redirect(target.toString(), 302);
  });
}
