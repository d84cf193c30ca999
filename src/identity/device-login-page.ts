import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DeviceCodes } from './device-code.js';
import type { DirectoryService } from './directory-service.js';

// /devicelogin: where a person enters the code a CLI printed, with their user
// name and password. A plain server-rendered form, so it works in any browser.

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)} - coffer</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}label{display:block;margin-top:1rem;font-weight:600}input{width:100%;padding:.5rem;margin-top:.25rem;box-sizing:border-box}button{margin-top:1.5rem;padding:.6rem 1.2rem;background:#0f6cbd;color:#fff;border:0;border-radius:4px}.error{color:#a4262c}</style>
</head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

function form(error?: string, code = ''): string {
  return page(
    'Sign in to a device',
    `${error ? `<p class="error" role="alert">${escape(error)}</p>` : '<p>Enter the code shown by the application that asked you to sign in.</p>'}
<form method="post" action="/devicelogin">
<label for="code">Code</label><input id="code" name="code" value="${escape(code)}" autocomplete="off" required>
<label for="username">User name</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`,
  );
}

export function registerDeviceLoginPage(app: FastifyInstance, deps: { directory: DirectoryService; deviceCodes: DeviceCodes }): void {
  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.status(status).header('Cache-Control', 'no-store').header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'").type('text/html; charset=utf-8').send(body);

  app.get('/devicelogin', async (_req, reply) => html(reply, 200, form()));
  app.post('/devicelogin', async (req: FastifyRequest<{ Body: unknown }>, reply) => {
    const f = (req.body ?? {}) as Record<string, unknown>;
    const code = typeof f.code === 'string' ? f.code.slice(0, 20) : '';
    const username = typeof f.username === 'string' ? f.username.slice(0, 256) : '';
    const password = typeof f.password === 'string' ? f.password.slice(0, 1024) : '';
    const user = await deps.directory.authenticateUser(username, password);
    if (!user) return html(reply, 401, form('The user name or password is incorrect.', code));
    if (!deps.deviceCodes.approve(code, user.objectId)) return html(reply, 400, form('That code is not valid or has expired. Check it and try again.'));
    return html(reply, 200, page('You are signed in', `<p>${escape(user.displayName)}, you have signed in to the application on your device. You may now close this window.</p>`));
  });
}
