import { Agent } from 'node:https';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { loopbackLookup } from '../net/loopback-lookup.js';
import type { ConnectorConfig } from './connector-config.js';

// Reads integration credentials through the Key Vault API with the official
// SDK, as any Azure connector would. The only coffer-specific parts: trust in
// coffer's CA and `.localhost` names resolved to loopback, both through one
// HTTPS agent handed to the SDK's pipeline.

export interface Credentials {
  username: string;
  password: string;
  version: string;
}

export class ConnectorError extends Error {
  constructor(
    readonly kind: 'denied' | 'not-found' | 'disabled' | 'bad-value' | 'vault-auth' | 'vault-network' | 'vault-unreachable' | 'db-auth' | 'db-unreachable' | 'db-tls' | 'db-error',
    message: string,
  ) {
    super(message);
    this.name = 'ConnectorError';
  }
}

function agentPolicy(caFile: string | undefined): PipelinePolicy {
  const ca = [...rootCertificates, ...(caFile ? [readFileSync(caFile, 'utf8')] : [])];
  const agent = new Agent({ keepAlive: true, ca, lookup: loopbackLookup as never });
  return { name: 'cofferAgent', sendRequest: (req, next) => ((req.agent = agent), next(req)) };
}

/** How long one read of a secret (token included) may take. */
const VAULT_READ_TIMEOUT_MS = 15_000;

/** The first line of a sign-in refusal (AADSTS code and description); never more than 300 characters. */
const firstLine = (message: string) => (message.split(/\r?\n/)[0] ?? '').replace(/ - Timestamp: [\d: -]+Z - /, ' - ').slice(0, 300);

/** What went wrong reading a secret, said so that the operator knows what to change. */
export function describeVaultError(err: unknown, secret: { vault: string; name: string }, config: Pick<ConnectorConfig, 'authority' | 'clientId' | 'clientSecretEnv'>): ConnectorError {
  const where = `secret '${secret.name}' in vault '${secret.vault}'`;
  // The SDK's error holds the body as details, with Key Vault's innererror renamed innerError.
  const e = err as { name?: string; statusCode?: number; code?: string; message?: string; details?: { error?: { message?: string; innerError?: { code?: string } } } };
  const inner = e.details?.error?.innerError?.code;
  // @azure/identity refuses before any vault request: the token endpoint turned the connector's own credentials away.
  if (e.name === 'AuthenticationRequiredError' || e.name === 'AuthenticationError' || e.statusCode === 401) {
    return new ConnectorError(
      'vault-auth',
      `the connector's credentials were refused by ${config.authority} (${firstLine(e.message ?? 'unauthorized')}): check clientId ${config.clientId} and the client secret in ${config.clientSecretEnv}`,
    );
  }
  if (e.statusCode === 403 && inner === 'SecretDisabled') {
    return new ConnectorError('disabled', `${where} is disabled: enable it (coffer keyvault secret set-attributes --vault-name ${secret.vault} --name ${secret.name} --enabled true) or set a new version`);
  }
  if (e.statusCode === 403 && inner === 'ForbiddenByConnection') {
    return new ConnectorError('vault-network', `the vault's network rules refuse the connector (ForbiddenByConnection: public network access is disabled) reading ${where}: enable it (az keyvault update --public-network-access Enabled)`);
  }
  if (e.statusCode === 403 && inner === 'ForbiddenByFirewall') {
    // Key Vault names the address it saw, which may be a NAT's rather than the connector's own.
    const address = /Client address: (\S+)/.exec(e.details?.error?.message ?? e.message ?? '')?.[1] ?? 'ADDRESS';
    return new ConnectorError('vault-network', `the vault's network rules refuse the connector (ForbiddenByFirewall: client address ${address}) reading ${where}: allow it (az keyvault network-rule add --ip-address ${address})`);
  }
  if (e.statusCode === 403) {
    return new ConnectorError('denied', `principal ${config.clientId} lacks get on ${where}: grant "Key Vault Secrets User" at that scope (or the vault) or an access policy with Get`);
  }
  if (e.statusCode === 404) return new ConnectorError('not-found', `${where} was not found (or is deleted): create it with coffer keyvault secret set`);
  return new ConnectorError('vault-unreachable', `cannot read ${where}: ${(e.code ?? e.message ?? 'unknown error').slice(0, 200)}`);
}

export function createVaultReader(config: ConnectorConfig, clientSecret: string) {
  const policy = { policy: agentPolicy(config.caFile), position: 'perCall' as const };
  const credential = new ClientSecretCredential(config.tenantId, config.clientId, clientSecret, {
    authorityHost: config.authority,
    disableInstanceDiscovery: true,
    additionalPolicies: [policy],
  });
  const clients = new Map<string, SecretClient>();
  const port = config.vaultPort ? `:${config.vaultPort}` : new URL(config.authority).port ? `:${new URL(config.authority).port}` : '';
  const clientFor = (vault: string) => {
    let c = clients.get(vault);
    if (!c) {
      c = new SecretClient(`https://${vault.toLowerCase()}.${config.vaultDnsSuffix}${port}`, credential, { additionalPolicies: [policy], retryOptions: { maxRetries: 1 } });
      clients.set(vault, c);
    }
    return c;
  };

  return {
    /** The integration's credentials; errors say what to do, never what the secret holds. */
    async read(secret: { vault: string; name: string; version?: string }): Promise<Credentials> {
      const where = `secret '${secret.name}' in vault '${secret.vault}'`;
      let value: string | undefined;
      let version: string;
      try {
        // Bounded: a vault that accepts and never answers must not hold the connector.
        const s = await clientFor(secret.vault).getSecret(secret.name, { version: secret.version, abortSignal: AbortSignal.timeout(VAULT_READ_TIMEOUT_MS) });
        value = s.value;
        version = s.properties.version ?? '';
      } catch (err) {
        throw describeVaultError(err, secret, config);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(value ?? '');
      } catch {
        parsed = null;
      }
      const p = parsed as { username?: unknown; password?: unknown } | null;
      if (!p || typeof p.username !== 'string' || typeof p.password !== 'string') {
        throw new ConnectorError('bad-value', `${where} is not JSON of the form {"username": "...", "password": "..."}`);
      }
      return { username: p.username, password: p.password, version };
    },
  };
}

export type VaultReader = ReturnType<typeof createVaultReader>;
