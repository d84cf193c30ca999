import type { TestServer } from './server-fixture.js';
import { createVault, credential, secretClient } from './clients.js';

// Management-plane helpers for authorization tests: principals, groups, role
// assignments and access policies through coffer's public APIs, as the admin.

export interface Principal {
  id: string;
  appId: string;
  secret: string;
}

export async function adminToken(server: TestServer): Promise<string> {
  return (await credential(server).getToken(`${server.url}/.default`)).token;
}

/** A user's token (a delegated caller) by the password grant, through the portal's public client id. */
export async function userToken(server: TestServer, username: string, password: string): Promise<string> {
  const res = await fetch(`${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: 'c0ffee00-0000-4000-8000-0000000000c2', username, password, scope: `${server.url}/.default` }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`user sign-in: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

export async function api(server: TestServer, method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token ?? (await adminToken(server))}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

export async function newServicePrincipal(server: TestServer, name: string): Promise<Principal> {
  const r = await api(server, 'POST', '/v1.0/servicePrincipals', { displayName: name });
  if (r.status !== 201) throw new Error(`create sp: ${r.status} ${JSON.stringify(r.body)}`);
  return { id: r.body!.id, appId: r.body!.appId, secret: r.body!.passwordCredentials[0].secretText };
}

export async function newGroup(server: TestServer, name: string, members: string[]): Promise<string> {
  const g = await api(server, 'POST', '/v1.0/groups', { displayName: name });
  for (const m of members) {
    const r = await api(server, 'POST', `/v1.0/groups/${g.body!.id}/members/$ref`, { '@odata.id': `${server.url}/v1.0/directoryObjects/${m}` });
    if (r.status !== 204) throw new Error(`add member: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return g.body!.id;
}

export async function assignRole(server: TestServer, scope: string, roleId: string, principalId: string, extra: Record<string, unknown> = {}, token?: string) {
  const name = crypto.randomUUID();
  return api(
    server,
    'PUT',
    `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`,
    { properties: { roleDefinitionId: `/subscriptions/${server.bootstrap.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`, principalId, ...extra } },
    token,
  );
}

export async function setPolicy(server: TestServer, vaultId: string, kind: 'add' | 'replace' | 'remove', objectId: string, secrets: string[]) {
  return api(server, 'PUT', `${vaultId}/accessPolicies/${kind}?api-version=2023-07-01`, {
    properties: { accessPolicies: [{ tenantId: server.bootstrap.tenantId, objectId, permissions: { secrets } }] },
  });
}

export const ROLE_IDS = {
  'Key Vault Administrator': '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
  'Key Vault Reader': '21090545-7ca7-4776-b22c-e363652d74d2',
  'Key Vault Certificates Officer': 'a4417e6f-fecd-4de8-b567-7b0420556985',
  'Key Vault Crypto Officer': '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
  'Key Vault Crypto User': '12338af0-0e69-4776-bea7-57ae8d297424',
  'Key Vault Contributor': 'f25e0fa2-a7c8-4377-a976-54943a77a395',
  'Key Vault Data Access Administrator': '8b54135c-b56d-4d72-a534-26097cfdc8d8',
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  'User Access Administrator': '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  'Key Vault Purge Operator': 'a68e7c17-0ab2-4c09-9a58-125dae29748c',
} as const;

/** The HTTP status an SDK call ends with (200 when it succeeds). */
export const statusOf = async (p: Promise<unknown>): Promise<number> =>
  p.then(
    () => 200,
    (e: { statusCode?: number }) => e.statusCode ?? -1,
  );

/** A vault holding the secret `db` (its value `value`) and a new service principal with an access policy that lets it get secrets. */
export async function vaultWithReader(server: TestServer, vaultName: string, readerName: string, value = 'v') {
  const { sp, vaults } = await vaultsWithReader(server, [vaultName], readerName, () => value);
  return { sp, vault: vaults[0]! };
}

/** As vaultWithReader, for several vaults and one reader; each vault's secret `db` holds `value(vault)`. */
export async function vaultsWithReader(server: TestServer, vaultNames: readonly string[], readerName: string, value: (vault: string) => string) {
  const sp = await newServicePrincipal(server, readerName);
  const vaults = [];
  for (const name of vaultNames) {
    const vault = await createVault(server, name);
    await secretClient(server, name).setSecret('db', value(name));
    const policy = await setPolicy(server, vault.id!, 'add', sp.id, ['get']);
    if (policy.status !== 200) throw new Error(`access policy: ${policy.status} ${JSON.stringify(policy.body)}`);
    vaults.push(vault);
  }
  return { sp, vaults };
}
