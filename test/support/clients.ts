import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import type { TestServer } from './server-fixture.js';

// The official SDK clients pointed at a test server, exactly as a user would
// configure them (authority host = coffer, instance discovery off).

export function credential(server: TestServer, clientId = server.bootstrap.clientId, secret = server.bootstrap.clientSecret) {
  return new ClientSecretCredential(server.bootstrap.tenantId, clientId, secret, {
    authorityHost: server.url,
    disableInstanceDiscovery: true,
  });
}

export function secretClient(server: TestServer, vault: string, cred: TokenCredential = credential(server)) {
  return new SecretClient(server.vaultUrl(vault), cred, { retryOptions: { maxRetries: 0 } });
}

export function armClient(server: TestServer, cred = credential(server)) {
  return new KeyVaultManagementClient(cred, server.bootstrap.subscriptionId, {
    endpoint: server.url,
    credentials: { scopes: [`${server.url}/.default`] },
  });
}

/** Creates a resource group and vault through the management API (the ARM SDK). */
export async function createVault(server: TestServer, name: string, properties: Record<string, unknown> = {}, cred = credential(server)) {
  const token = await cred.getToken(`${server.url}/.default`);
  const rg = await fetch(`${server.url}/subscriptions/${server.bootstrap.subscriptionId}/resourcegroups/rg-test?api-version=2021-04-01`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ location: 'local' }),
  });
  if (rg.status >= 300) throw new Error(`resource group: ${rg.status} ${await rg.text()}`);
  // As az keyvault create does, the creator (here the administrator) gets an access policy.
  const adminPolicy = { tenantId: server.bootstrap.tenantId, objectId: server.bootstrap.objectId, permissions: { secrets: ['all'], keys: ['all'], certificates: ['all'] } };
  return armClient(server, cred).vaults.beginCreateOrUpdateAndWait('rg-test', name, {
    location: 'local',
    // Explicitly access policies: from api-version 2026-02-01 (the SDK's) a vault without the flag is an RBAC vault.
    properties: { tenantId: server.bootstrap.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [adminPolicy], enableRbacAuthorization: false, ...properties },
  });
}
