import type { FastifyReply } from 'fastify';

// The server-rendered sign-in pages (/devicelogin, /authorize): plain forms
// that work in any browser, with a strict content security policy.

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function htmlPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} - coffer</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}label{display:block;margin-top:1rem;font-weight:600}input{width:100%;padding:.5rem;margin-top:.25rem;box-sizing:border-box}button{margin-top:1.5rem;padding:.6rem 1.2rem;background:#0f6cbd;color:#fff;border:0;border-radius:4px}.error{color:#a4262c}</style>
</head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

export const credentialFields = `<label for="username">User name</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>`;

// CSP's source syntax cannot name an IPv6 literal, so http://[::1]:PORT/ cannot be allowed here.
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);

/**
 * The one origin besides 'self' the sign-in form may reach: Chromium applies
 * form-action to the redirects after a post too, and the authorization
 * endpoint answers a command-line client's sign-in (az) with a redirect to its
 * loopback listener, http://localhost:PORT/. Only the authorization page's
 * own redirect_uri, only a loopback http origin (the only kind it redirects
 * other clients to; the portal's callback is 'self'), and never a wildcard.
 */
function loopbackFormTarget(reply: FastifyReply): string | null {
  const req = reply.request;
  if (!req.routeOptions.url?.endsWith('/oauth2/v2.0/authorize')) return null;
  const from = (raw: unknown) => (typeof raw === 'object' && raw !== null ? stringFields(raw).redirect_uri : undefined);
  const uri = from(req.body) ?? from(req.query);
  if (!uri) return null;
  try {
    const u = new URL(uri);
    // The URL parser's origin has only scheme, host and a numeric port: nothing that could end the directive.
    return u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname) ? u.origin : null;
  } catch {
    return null;
  }
}

export function sendHtml(reply: FastifyReply, status: number, body: string) {
  const loopback = loopbackFormTarget(reply);
  return reply
    .status(status)
    .header('Cache-Control', 'no-store')
    .header('X-Frame-Options', 'DENY')
    .header('X-Content-Type-Options', 'nosniff')
    // The sign-in pages' addresses carry the request's parameters: no page they lead to is told them.
    .header('Referrer-Policy', 'no-referrer')
    .header('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${loopback ? ` ${loopback}` : ''}; frame-ancestors 'none'`)
    .type('text/html; charset=utf-8')
    .send(body);
}

/** The fields of a parsed body or query that hold strings (a JSON body or a repeated parameter can hold anything else). */
export const stringFields = (raw: object): Record<string, string> =>
  Object.fromEntries(Object.entries(raw).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
