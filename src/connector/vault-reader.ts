import { Agent } from 'node:https';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { ClientAssertionCredential, ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/core-auth';
import { loopbackLookup } from '../net/loopback-lookup.js';
import { clientCertificateProblem, type ConnectorConfig } from './connector-config.js';
import { createVaultThrottle, retryAfterSeconds } from './vault-throttle.js';

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
    /** The database refused the password itself (not a grant, a host rule or a blocked account): what sign-in-backoff.ts waits on. */
    readonly passwordRefused = false,
    /** The vault answered 429 and asked for this many seconds of quiet (vault-throttle.ts). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ConnectorError';
  }
}

/**
 * One HTTPS agent for the SDK's every request, token requests included, and
 * a time limit on each: @azure/identity's client-secret flow (MSAL) takes no
 * abort signal, so a token endpoint that accepts and never answers would
 * otherwise hold a read for good.
 */
function agentPolicy(caFile: string | undefined, timeoutMs: number): PipelinePolicy {
  // Giving `ca` replaces Node's defaults, NODE_EXTRA_CA_CERTS included: that file is added back, as the databases get it.
  const extra = process.env.NODE_EXTRA_CA_CERTS ? readOptional(process.env.NODE_EXTRA_CA_CERTS) : undefined;
  const ca = [...rootCertificates, ...(extra ? [extra] : []), ...(caFile ? [readFileSync(caFile, 'utf8')] : [])];
  const agent = new Agent({ keepAlive: true, ca, lookup: loopbackLookup as never });
  return {
    name: 'cofferAgent',
    sendRequest: (req, next) => {
      req.agent = agent;
      if (!req.timeout || req.timeout > timeoutMs) req.timeout = timeoutMs;
      return next(req);
    },
  };
}

/** A file's text, or undefined when it cannot be read (Node itself only warns about a bad NODE_EXTRA_CA_CERTS). */
function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Rejects with `onTimeout()` unless `work` settles within `ms`. */
function within<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** The first line of a sign-in refusal (AADSTS code and description); never more than 300 characters. */
const firstLine = (message: string) => (message.split(/\r?\n/)[0] ?? '').replace(/ - Timestamp: [\d: -]+Z - /, ' - ').slice(0, 300);

/**
 * OAuth error codes with which a token endpoint refuses the client itself: a
 * wrong or expired secret (AADSTS7000215, AADSTS7000222) is invalid_client, an
 * unknown clientId (AADSTS700016) unauthorized_client.
 */
const CLIENT_REFUSED = new Set(['invalid_client', 'unauthorized_client']);

/**
 * The OAuth error code when err is the token endpoint refusing the connector's
 * credentials. @azure/identity 4 wraps MSAL's ServerError for a client secret
 * in an AuthenticationRequiredError whose message starts "invalid_client: ...";
 * its own token requests throw AuthenticationError with errorResponse.error.
 * Any other AuthenticationRequiredError (network_error, server_error, ...) is
 * not a refusal: the vault or its authority is then unreachable, not saying no.
 */
function refusedClient(e: { name?: string; message?: string; errorResponse?: { error?: string } }): string | undefined {
  const code = e.name === 'AuthenticationError' ? e.errorResponse?.error : e.name === 'AuthenticationRequiredError' ? /^(\w+):/.exec(e.message ?? '')?.[1] : undefined;
  return code !== undefined && CLIENT_REFUSED.has(code) ? code : undefined;
}

/** What went wrong reading a secret, said so that the operator knows what to change. */
export function describeVaultError(err: unknown, secret: { vault: string; name: string; version?: string | undefined }, config: Pick<ConnectorConfig, 'authority' | 'clientId' | 'clientSecretEnv' | 'tenantId'> & { clientCertificatePath?: string | undefined; federatedTokenFile?: string | undefined }): ConnectorError {
  const where = `secret '${secret.name}' in vault '${secret.vault}'`;
  // The SDK's error holds the body as details, with Key Vault's innererror renamed innerError.
  const e = err as { name?: string; statusCode?: number; code?: string; message?: string; request?: { url?: string }; response?: { headers?: { get?(name: string): string | undefined } }; errorResponse?: { error?: string; errorDescription?: string }; details?: { error?: { message?: string; innerError?: { code?: string } } } };
  const inner = e.details?.error?.innerError?.code;
  // The token endpoint turned the connector's own credentials away, before any vault request.
  const refused = refusedClient(e);
  if (refused !== undefined) {
    const said = e.name === 'AuthenticationError' ? `${refused}: ${e.errorResponse?.errorDescription ?? ''}` : (e.message ?? refused);
    return new ConnectorError('vault-auth', `the connector's credentials were refused by ${config.authority} (${firstLine(said)}): check clientId ${config.clientId} and ${config.clientCertificatePath !== undefined ? `the certificate in ${config.clientCertificatePath} (registered on the application?)` : config.federatedTokenFile !== undefined ? `the token in ${config.federatedTokenFile} (its issuer, subject and audience registered as a federated credential of the application?)` : `the client secret in ${config.clientSecretEnv}`}`);
  }
  // The vault refused the token it was given (after the SDK's one retry with a fresh token).
  if (e.statusCode === 401 && e.name === 'RestError') {
    return new ConnectorError('vault-auth', `the vault refused the connector's token reading ${where} (${(e.code ?? 'Unauthorized').slice(0, 100)}): check tenantId and authority in the connector config`);
  }
  const pinned = secret.version;
  if (e.statusCode === 403 && inner === 'SecretDisabled') {
    if (pinned !== undefined) {
      return new ConnectorError('disabled', `version ${pinned} of ${where} (pinned by secret.version) is disabled: enable it (coffer keyvault secret set-attributes --vault-name ${secret.vault} --name ${secret.name} --version ${pinned} --enabled true) or pin another version`);
    }
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
  // A soft-deleted secret answers 404 too, and its name cannot be set again until it is recovered or purged (409).
  if (e.statusCode === 404 && pinned !== undefined) {
    return new ConnectorError('not-found', `version ${pinned} of ${where} (pinned by secret.version) was not found: check the pin against coffer keyvault secret list-versions --vault-name ${secret.vault} --name ${secret.name}; if the secret was deleted, recover it (coffer keyvault secret recover --vault-name ${secret.vault} --name ${secret.name})`);
  }
  if (e.statusCode === 404) {
    return new ConnectorError('not-found', `${where} was not found: if it was deleted, recover it (coffer keyvault secret recover --vault-name ${secret.vault} --name ${secret.name}); else create it with coffer keyvault secret set`);
  }
  if (e.statusCode === 429) {
    const wait = retryAfterSeconds(e.response?.headers?.get?.('retry-after'));
    const when = wait === undefined ? 'it reads again at the next refresh' : `it asks again in ${wait} s (the vault's Retry-After)`;
    return new ConnectorError('vault-unreachable', `the vault is throttling the connector reading ${where} (429 ${(inner ?? e.code ?? 'Throttled').slice(0, 100)}): ${when}; a longer refreshSeconds asks less often`, false, wait);
  }
  // The challenge named a tenant the credential is not for (@azure/identity refuses it before asking for a token).
  const tenant = /not configured to acquire tokens for tenant ([\w-]+(?:\.[\w-]+)*)/.exec(e.message ?? '')?.[1];
  if (tenant !== undefined) {
    return new ConnectorError('vault-auth', `the vault belongs to tenant ${tenant.slice(0, 64)}, not the connector's tenantId ${config.tenantId}: check tenantId in the connector config`);
  }
  const origin = e.request?.url ? new URL(e.request.url).origin : 'the vault';
  if (e.code !== undefined && UNTRUSTED_CERTIFICATE.has(e.code)) {
    return new ConnectorError('vault-unreachable', `cannot read ${where}: ${origin}'s TLS certificate is not trusted (${e.code}): set caFile in the connector config to the CA that issued it (a coffer server's is its data dir's tls/ca.pem)`);
  }
  if (e.code !== undefined && /^E[A-Z]+$/.test(e.code)) return new ConnectorError('vault-unreachable', `cannot read ${where}: ${origin} is unreachable (${e.code})`);
  return new ConnectorError('vault-unreachable', `cannot read ${where}: ${(e.code ?? e.message ?? 'unknown error').slice(0, 200)}`);
}

/** Node's codes for a server certificate that does not verify: no amount of waiting fixes them. */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * @azure/identity reads the certificate's file at each token request (a
 * replaced certificate takes effect without a restart). A file gone or spoiled
 * since start is said to be the connector's certificate, not an unreachable vault.
 */
function certificateCredential(inner: TokenCredential, file: string): TokenCredential {
  return {
    getToken: (scopes, options) =>
      inner.getToken(scopes, options).catch((err: unknown) => {
        const problem = clientCertificateProblem(file);
        if (problem === undefined) throw err;
        throw new ConnectorError('vault-auth', `the connector's certificate ${file} cannot be used (${problem}): put back the PEM file with the private key and the certificate registered on the application (replace it with a rename, not in place)`);
      }),
  };
}

/** What is wrong with the federated token file, or undefined. */
function tokenFileProblem(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() === '' ? `${file} is empty` : undefined;
  } catch (err) {
    return `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

/**
 * The federated token file's token, read at each sign-in (Kubernetes replaces a projected token before it
 * expires). @azure/identity wraps what the read throws: a file gone or empty is said to be the connector's
 * token file, not an unreachable vault.
 */
function federatedCredential(config: ConnectorConfig & { federatedTokenFile: string }, options: ConstructorParameters<typeof ClientAssertionCredential>[3]): TokenCredential {
  const file = config.federatedTokenFile;
  const inner = new ClientAssertionCredential(config.tenantId, config.clientId, async () => (await readFile(file, 'utf8')).trim(), options);
  return {
    getToken: (scopes, opts) =>
      inner.getToken(scopes, opts).catch((err: unknown) => {
        const problem = tokenFileProblem(file);
        if (problem === undefined) throw err;
        throw new ConnectorError('vault-auth', `the connector's federated token file ${problem}: mount the token there (the workload identity webhook's projected service account token)`);
      }),
  };
}

/** `clientSecret`: null when the config names a certificate (ClientCertificateCredential reads its PEM file) or a federated token file. */
export function createVaultReader(config: ConnectorConfig, clientSecret: string | null) {
  const timeoutMs = config.vaultTimeoutSeconds * 1000;
  const policy = { policy: agentPolicy(config.caFile, timeoutMs), position: 'perCall' as const };
  const options = { authorityHost: config.authority, disableInstanceDiscovery: true, additionalPolicies: [policy] };
  const credential =
    config.clientCertificatePath !== undefined
      ? certificateCredential(new ClientCertificateCredential(config.tenantId, config.clientId, { certificatePath: config.clientCertificatePath }, options), config.clientCertificatePath)
      : config.federatedTokenFile !== undefined
        ? federatedCredential({ ...config, federatedTokenFile: config.federatedTokenFile }, options)
        : new ClientSecretCredential(config.tenantId, config.clientId, clientSecret ?? '', options);
  const clients = new Map<string, SecretClient>();
  const throttle = createVaultThrottle();
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
      const noAnswer = () => new ConnectorError('vault-unreachable', `cannot read ${where}: no answer within ${config.vaultTimeoutSeconds} s from ${config.authority} or the vault`);
      const quietUntil = throttle.waitUntil(secret.vault);
      if (quietUntil !== undefined) {
        throw new ConnectorError('vault-unreachable', `the vault is throttling the connector: ${where} is not asked for before ${new Date(quietUntil).toISOString()} (the vault's Retry-After)`);
      }
      let value: string | undefined;
      let version: string;
      try {
        // Bounded as a whole: a vault or token service that accepts and never answers must not hold the connector.
        const reading = clientFor(secret.vault).getSecret(secret.name, { version: secret.version, abortSignal: AbortSignal.timeout(timeoutMs) });
        const s = await within(reading, timeoutMs, noAnswer);
        value = s.value;
        version = s.properties.version ?? '';
      } catch (err) {
        // The SDK's abort fires with the timer above: it is the same timeout, said the same way.
        if ((err as { name?: string }).name === 'AbortError') throw noAnswer();
        const described = err instanceof ConnectorError ? err : describeVaultError(err, secret, config);
        if (described.retryAfterSeconds !== undefined) throttle.throttled(secret.vault, described.retryAfterSeconds);
        throw described;
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
      // A database driver takes an empty user name as none given and signs in as someone else (pg: PGUSER, then the OS user).
      if (p.username === '') throw new ConnectorError('bad-value', `${where} has an empty "username"`);
      return { username: p.username, password: p.password, version };
    },
  };
}

export type VaultReader = ReturnType<typeof createVaultReader>;
