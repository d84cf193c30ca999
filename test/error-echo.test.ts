import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RestError } from '@azure/core-rest-pipeline';
import { echo } from '../src/server/echo.js';
import { api } from './support/access-kit.js';
import { armClient, createVault } from './support/clients.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// Error messages quote what the client sent (its client_id, scope, resource,
// a property's name) as Azure's do, but not a value padded to hundreds of
// kilobytes: its first characters and '…'.

const HUGE = 200_000;
const padded = (start: string) => start + 'x'.repeat(HUGE);

describe('error messages bound what they echo', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.stop());

  const token = async (fields: Record<string, string>, path = `/${server.bootstrap.tenantId}/oauth2/v2.0/token`) => {
    const r = await fetch(`${server.url}${path}`, { method: 'POST', body: new URLSearchParams(fields) });
    return { status: r.status, body: (await r.json()) as { error: string; error_description: string } };
  };
  /** The message before the trace lines Entra ID adds. */
  const description = (r: { body: { error_description: string } }) => r.body.error_description.split('\r\n')[0]!;

  it('cuts a long value to its first characters and an ellipsis, and never splits a character', () => {
    assert.equal(echo('short'), 'short');
    assert.equal(echo('a'.repeat(100)), 'a'.repeat(100));
    assert.equal(echo('a'.repeat(101)), `${'a'.repeat(100)}…`);
    assert.equal(echo(`${'a'.repeat(99)}😀tail`), `${'a'.repeat(99)}…`, 'not half of a surrogate pair');
  });

  it('the token endpoint quotes a normal client_id whole, an oversized one cut', async () => {
    const scope = `${server.url}/.default`;
    const unknown = 'c0ffee00-0000-4000-8000-00000000dead';
    const normal = await token({ grant_type: 'client_credentials', client_id: unknown, client_secret: 's', scope });
    assert.match(description(normal), new RegExp(`^AADSTS700016: Application with identifier '${unknown}' was not found in the directory`));
    const huge = await token({ grant_type: 'client_credentials', client_id: padded('big-client-'), client_secret: 's', scope });
    assert.equal(huge.status, 400);
    assert.match(description(huge), /^AADSTS700016: Application with identifier 'big-client-x{89}…' was not found in the directory/);
    assert.ok(huge.body.error_description.length < 2000, `${huge.body.error_description.length} characters`);
  });

  it('and so an oversized scope, resource, grant type and tenant', async () => {
    const { clientId, clientSecret, tenantId } = server.bootstrap;
    const cases: Array<[string, Promise<{ status: number; body: { error_description: string } }>, RegExp]> = [
      ['scope', token({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: padded('https://big/') }), /^AADSTS1002012: The provided value for scope https:\/\/big\/x{244}… is not valid\./],
      [
        'resource',
        token({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, resource: padded('https://big-resource/') }, `/${tenantId}/oauth2/token`),
        /^AADSTS500011: The resource principal named https:\/\/big-resource\/x{235}… was not found/,
      ],
      ['grant_type', token({ grant_type: padded('big-grant-') }), /^AADSTS70003: The app requested an unsupported grant type 'big-grant-x{90}…'\.$/],
      ['tenant', token({ grant_type: 'client_credentials' }, `/${'t'.repeat(500)}/oauth2/v2.0/token`), /^AADSTS90002: Tenant 't{100}…' not found\./],
    ];
    for (const [what, answer, message] of cases) {
      const r = await answer;
      assert.equal(r.status, 400, what);
      assert.match(description(r as { body: { error_description: string } }), message, what);
    }
  });

  it("Graph's refusal of a property it does not keep names an oversized property cut", async () => {
    await api(server, 'POST', '/v1.0/users', { userPrincipalName: 'echo@coffer.local', passwordProfile: { password: 'Echo password 1' } });
    const r = await api(server, 'PATCH', '/v1.0/users/echo@coffer.local', { [padded('bigProperty')]: 1 });
    assert.equal(r.status, 400);
    assert.equal(r.body!.error.message, `coffer changes only passwordProfile of a user, not bigProperty${'x'.repeat(89)}….`);
  });

  it('Resource Manager, through @azure/arm-keyvault, names an oversized access policy permission cut', async () => {
    await createVault(server, 'echo-vault');
    const policy = { tenantId: server.bootstrap.tenantId, objectId: server.bootstrap.objectId, permissions: { secrets: [padded('bigPermission') as 'get'] } };
    const err = await armClient(server)
      .vaults.updateAccessPolicy('rg-test', 'echo-vault', 'add', { properties: { accessPolicies: [policy] } })
      .then(() => null, (e: unknown) => e);
    assert.ok(err instanceof RestError, String(err));
    assert.equal(err.statusCode, 400);
    assert.match(err.message, new RegExp(`permissions\\.secrets: 'bigPermissionx{87}…'\\. Allowed values: `));
    assert.ok(err.message.length < 2000);
  });
});
