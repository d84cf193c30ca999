import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DeviceCodes } from './device-code.js';
import type { DirectoryService } from './directory-service.js';
import { PUBLIC_CLIENTS } from './identity-types.js';
import { credentialFields, escapeHtml as escape, htmlPage as page, sendHtml } from './login-html.js';
import { LOCKED_MESSAGES } from './sign-in-lockout.js';

// /devicelogin: where a person enters the code a CLI printed, with their user
// name and password. A plain server-rendered form, so it works in any browser.
//
// Signing in does not approve: the next page names the application that
// started the sign-in (as Entra ID asks "Are you trying to sign in to ...?")
// and only its Continue approves. Someone who was sent a code by a phisher
// sees which application they would be letting in before they do.

const INVALID_CODE = 'That code is not valid or has expired. Check it and try again.';

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

/** The confirmation step: the application's name and id, Continue (approves) or Cancel (approves nothing). */
function confirmation(app: { name: string; appId: string }, code: string, ticket: string, userName: string): string {
  return page(
    `Are you trying to sign in to ${app.name}?`,
    `<p>${escape(userName)}, the code you entered was issued to <strong>${escape(app.name)}</strong> (application ID <code>${escape(app.appId)}</code>).</p>
<p>Only continue if you started this sign-in yourself, on a device or in an application you trust. If someone else gave you this code, cancel.</p>
<form method="post" action="/devicelogin">
<input type="hidden" name="code" value="${escape(code)}"><input type="hidden" name="confirmation" value="${escape(ticket)}">
<button type="submit">Continue</button> <a href="/devicelogin">Cancel</a></form>`,
  );
}

export function registerDeviceLoginPage(app: FastifyInstance, deps: { directory: DirectoryService; deviceCodes: DeviceCodes }): void {
  const html = sendHtml;
  /** Whom to name: a first-party client by its name, a registered application by its display name (attacker-chosen: escaped where shown). */
  const application = async (clientId: string) => ({
    appId: clientId,
    name: PUBLIC_CLIENTS[clientId.toLowerCase()] ?? (await deps.directory.getByAppId(clientId.toLowerCase()))?.displayName ?? clientId,
  });

  app.get('/devicelogin', async (_req, reply) => html(reply, 200, form()));
  app.post('/devicelogin', async (req: FastifyRequest<{ Body: unknown }>, reply) => {
    const f = (req.body ?? {}) as Record<string, unknown>;
    const code = typeof f.code === 'string' ? f.code.slice(0, 20) : '';

    // The second step: the confirmation the first step's page carried.
    if (typeof f.confirmation === 'string') {
      const approved = await deps.deviceCodes.approveConfirmed(code, f.confirmation.slice(0, 512));
      if (!approved) return html(reply, 400, form(INVALID_CODE));
      const [user, client] = await Promise.all([deps.directory.get(approved.objectId), application(approved.clientId)]);
      return html(
        reply,
        200,
        page('You are signed in', `<p>${escape(user?.displayName ?? '')}, you have signed in to ${escape(client.name)} on your device. You may now close this window.</p>`),
      );
    }

    const username = typeof f.username === 'string' ? f.username.slice(0, 256) : '';
    const password = typeof f.password === 'string' ? f.password.slice(0, 1024) : '';
    const signIn = await deps.directory.authenticateUser(username, password, req.ip);
    if (!signIn.ok) return html(reply, signIn.reason === 'busy' ? 503 : 401, form(signIn.reason === 'invalid' ? 'The user name or password is incorrect.' : LOCKED_MESSAGES[signIn.reason], code));
    const user = signIn.user;
    const pending = await deps.deviceCodes.pending(code);
    if (!pending) return html(reply, 400, form(INVALID_CODE));
    const ticket = deps.deviceCodes.confirmation(code, pending.clientId, user);
    return html(reply, 200, confirmation(await application(pending.clientId), code, ticket, user.displayName));
  });
}
