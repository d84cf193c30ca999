import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DeviceCodes } from './device-code.js';
import type { DirectoryService } from './directory-service.js';
import { credentialFields, escapeHtml as escape, htmlPage as page, sendHtml } from './login-html.js';
import { LOCKED_MESSAGES } from './sign-in-lockout.js';

// /devicelogin: where a person enters the code a CLI printed, with their user
// name and password. A plain server-rendered form, so it works in any browser.

function form(error?: string, code = ''): string {
  return page(
    'Sign in to a device',
    `${error ? `<p class="error" role="alert">${escape(error)}</p>` : '<p>Enter the code shown by the application that asked you to sign in.</p>'}
<form method="post" action="/devicelogin">
<label for="code">Code</label><input id="code" name="code" value="${escape(code)}" autocomplete="off" required>
${credentialFields}
<button type="submit">Sign in</button></form>`,
  );
}

export function registerDeviceLoginPage(app: FastifyInstance, deps: { directory: DirectoryService; deviceCodes: DeviceCodes }): void {
  const html = sendHtml;

  app.get('/devicelogin', async (_req, reply) => html(reply, 200, form()));
  app.post('/devicelogin', async (req: FastifyRequest<{ Body: unknown }>, reply) => {
    const f = (req.body ?? {}) as Record<string, unknown>;
    const code = typeof f.code === 'string' ? f.code.slice(0, 20) : '';
    const username = typeof f.username === 'string' ? f.username.slice(0, 256) : '';
    const password = typeof f.password === 'string' ? f.password.slice(0, 1024) : '';
    const signIn = await deps.directory.authenticateUser(username, password, req.ip);
    if (!signIn.ok) return html(reply, 401, form(signIn.reason === 'invalid' ? 'The user name or password is incorrect.' : LOCKED_MESSAGES[signIn.reason], code));
    const user = signIn.user;
    if (!(await deps.deviceCodes.approve(code, user.objectId))) return html(reply, 400, form('That code is not valid or has expired. Check it and try again.'));
    return html(reply, 200, page('You are signed in', `<p>${escape(user.displayName)}, you have signed in to the application on your device. You may now close this window.</p>`));
  });
}
