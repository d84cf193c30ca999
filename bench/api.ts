import { randomUUID } from 'node:crypto';
import type { Coffer } from './coffer.js';
import { expectStatus, httpClient, type HttpClient } from './http.js';

// Setup through coffer's public APIs, as the deployment administrator: tokens,
// resource group, vaults, secrets, service principals, role assignments and
// access policies (the same calls test/support/access-kit.ts makes).

export const RG = 'rg-bench';
export const ROLE_SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';

export interface Principal {
  objectId: string;
  appId: string;
  secret: string;
}

export type Api = ReturnType<typeof createApi>;

export function tokenForm(c: Coffer, clientId: string, secret: string, scope: string): string {
  return new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope }).toString();
}

export function createApi(c: Coffer) {
  const http: HttpClient = httpClient(c.ca, { maxSockets: 64 });
  const b = c.bootstrap;
  const sub = `/subscriptions/${b.subscriptionId}`;
  const vaultScope = `https://${b.vaultDnsSuffix}:${c.port}/.default`;
  let mgmt: string | null = null;

  async function token(clientId: string, secret: string, scope: string): Promise<string> {
    const r = await http.send('POST', `${c.url}/${b.tenantId}/oauth2/v2.0/token`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: tokenForm(c, clientId, secret, scope),
    });
    return expectStatus(r, 'token').json<{ access_token: string }>().access_token;
  }
  const adminToken = async () => (mgmt ??= await token(b.clientId, b.clientSecret, `${c.url}/.default`));

  async function arm(method: string, path: string, body?: object) {
    const r = await http.send(method, `${c.url}${path}`, { headers: { authorization: `Bearer ${await adminToken()}` }, body });
    return expectStatus(r, `${method} ${path.split('?')[0]}`);
  }

  const vaultId = (name: string) => `${sub}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/${name}`;
  const policy = (objectId: string, secrets: string[]) => ({ tenantId: b.tenantId, objectId, permissions: { secrets } });

  return {
    http,
    vaultId,
    policy,
    adminToken,
    /** A data-plane token (audience: the vault resource). */
    vaultToken: (clientId = b.clientId, secret = b.clientSecret) => token(clientId, secret, vaultScope),
    vaultScope,
    async createResourceGroup() {
      await arm('PUT', `${sub}/resourcegroups/${RG}?api-version=2021-04-01`, { location: 'local' });
    },
    /** A vault whose creator (the administrator) has an access policy for all secret operations. */
    async createVault(name: string, properties: Record<string, unknown> = {}) {
      await arm('PUT', `${vaultId(name)}?api-version=2023-07-01`, {
        location: 'local',
        properties: { tenantId: b.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [policy(b.objectId, ['all'])], ...properties },
      });
    },
    /** Sets the vault's whole access policy list (accessPolicies/replace only merges per identity). */
    async setAccessPolicies(vault: string, entries: object[]) {
      await arm('PUT', `${vaultId(vault)}?api-version=2023-07-01`, {
        location: 'local',
        properties: { tenantId: b.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: entries },
      });
      const r = await arm('GET', `${vaultId(vault)}?api-version=2023-07-01`);
      const count = r.json<{ properties: { accessPolicies: unknown[] } }>().properties.accessPolicies.length;
      if (count !== entries.length) throw new Error(`${vault}: ${count} access policies, expected ${entries.length}`);
    },
    async newServicePrincipal(displayName: string): Promise<Principal> {
      const r = await arm('POST', '/v1.0/servicePrincipals', { displayName });
      const sp = r.json<{ id: string; appId: string; passwordCredentials: Array<{ secretText: string }> }>();
      return { objectId: sp.id, appId: sp.appId, secret: sp.passwordCredentials[0]!.secretText };
    },
    async assignRole(scope: string, roleId: string, principalId: string) {
      await arm('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`, {
        properties: { roleDefinitionId: `${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`, principalId },
      });
    },
    /** Every role assignment in the deployment (the subscription scope and everything under it). */
    async countAssignments(): Promise<number> {
      const r = await arm('GET', `${sub}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`);
      return r.json<{ value: unknown[] }>().value.length;
    },
    async putSecret(vault: string, name: string, value: string, token: string) {
      const r = await http.send('PUT', `${c.vaultUrl(vault)}/secrets/${name}?api-version=7.6`, { headers: { authorization: `Bearer ${token}` }, body: { value } });
      return expectStatus(r, `PUT secret ${name}`);
    },
    async getSecret(vault: string, name: string, token: string) {
      return http.send('GET', `${c.vaultUrl(vault)}/secrets/${name}?api-version=7.6`, { headers: { authorization: `Bearer ${token}` } });
    },
    close: () => http.close(),
  };
}
