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
    readonly kind: 'denied' | 'not-found' | 'bad-value' | 'vault-unreachable' | 'db-auth' | 'db-unreachable' | 'db-tls' | 'db-error',
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
        const e = err as { statusCode?: number; code?: string; message?: string };
        if (e.statusCode === 403) {
          throw new ConnectorError(
            'denied',
            `principal ${config.clientId} lacks get on ${where}: grant "Key Vault Secrets User" at that scope (or the vault) or an access policy with Get`,
          );
        }
        if (e.statusCode === 404) throw new ConnectorError('not-found', `${where} was not found (or is deleted): create it with coffer keyvault secret set`);
        if (e.statusCode === 401) throw new ConnectorError('denied', `the connector's credentials were refused by ${config.authority}: check clientId and its client secret`);
        throw new ConnectorError('vault-unreachable', `cannot read ${where}: ${(e.code ?? e.message ?? 'unknown error').slice(0, 200)}`);
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
