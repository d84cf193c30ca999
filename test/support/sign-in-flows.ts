import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { TestServer } from './server-fixture.js';

// A user's sign-in through the authorization code flow with PKCE, as a native app with a loopback
// redirect makes it: the /authorize form posted with the user's password, then the code redeemed.

export const LOOPBACK_REDIRECT = 'http://127.0.0.1:9999/callback';

/** A code flow for `clientId`: `code()` signs the user in and returns the code, `fields(code)` are its redemption's token request. */
export function codeFlow(server: TestServer, clientId: string) {
  const verifier = randomBytes(32).toString('base64url');
  return {
    async code(user: { upn: string; password: string }): Promise<string> {
      const body = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        redirect_uri: LOOPBACK_REDIRECT,
        scope: `${server.url}/.default offline_access`,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        username: user.upn,
        password: user.password,
      });
      const r = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/authorize`, { method: 'POST', redirect: 'manual', body });
      assert.equal(r.status, 302, await r.text());
      return new URL(r.headers.get('location')!).searchParams.get('code')!;
    },
    fields: (code: string, redeemingClientId = clientId) => ({ grant_type: 'authorization_code', client_id: redeemingClientId, code, redirect_uri: LOOPBACK_REDIRECT, code_verifier: verifier }),
  };
}
