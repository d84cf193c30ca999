import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

// The connector's configuration: who it is (a service principal whose secret
// comes from the environment, never from this file, or whose certificate's PEM
// file it names) and which integrations
// it keeps connected. Validated once at start.

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The CA certificates in a PEM file, read once here so a bad path fails at start, not at the first connection. */
function readCaFile(file: string, ctx: z.RefinementCtx): string | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['caFile'], message: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
    return undefined;
  }
  try {
    new X509Certificate(pem);
  } catch {
    ctx.addIssue({ code: 'custom', path: ['caFile'], message: `${file} does not hold a PEM certificate` });
    return undefined;
  }
  return pem;
}

// TLS to the database: on unless turned off by name, and verified. The
// certificate must chain to caFile's CAs when it is given (and only then to
// them: as libpq's sslrootcert), else to Node's; verify-full also checks that
// it was issued for host (or serverName). verify-ca needs caFile: checking no
// name, it would otherwise take any certificate a public CA issued to anyone.
const tls = z
  .object({
    mode: z.enum(['verify-full', 'verify-ca', 'disable']).default('verify-full'),
    /** PEM file of the CA(s) that issued the database's certificate, trusted instead of Node's own. */
    caFile: z.string().min(1).optional(),
    /** The name the certificate carries and the one sent as SNI, when it is not host (an IP address, a tunnel). */
    serverName: z
      .string()
      .regex(DNS_NAME, 'a DNS name')
      .refine((n) => isIP(n) === 0, 'a DNS name, not an IP address')
      .optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.mode === 'disable' && (t.caFile !== undefined || t.serverName !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: 'caFile and serverName need TLS: remove them, or set mode to "verify-full" or "verify-ca"' });
    }
    if (t.mode === 'verify-ca' && t.caFile === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['caFile'],
        message: 'verify-ca needs caFile, the CA that issued the database\'s certificate: it checks no name, so trusting the public CAs would let any holder of a public certificate pose as the database; give caFile, or use verify-full',
      });
    }
  })
  .transform((t, ctx) => {
    const caPem = t.caFile === undefined ? undefined : readCaFile(t.caFile, ctx);
    return t.caFile !== undefined && caPem === undefined ? z.NEVER : { ...t, caPem };
  })
  .prefault({});

/** What is wrong with a certificate credential's PEM file (its private key and certificate), or undefined: checked at start, and again when a token request fails. */
export function clientCertificateProblem(file: string): string | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    return `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  try {
    new X509Certificate(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pem)?.[0] ?? '');
  } catch {
    return `${file} holds no PEM certificate: it needs the private key and the certificate, in one PEM file`;
  }
  try {
    createPrivateKey(pem);
  } catch {
    return `${file} holds no (unencrypted) private key: it needs the private key and the certificate, in one PEM file`;
  }
  return undefined;
}

/** A certificate credential's PEM file, checked at start (a wrong file would only show at the first sign-in). */
function checkClientCertificate(file: string, ctx: z.RefinementCtx): void {
  const problem = clientCertificateProblem(file);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['clientCertificatePath'], message: problem });
}

export const DEFAULT_SECRET_ENV = 'COFFER_CONNECTOR_CLIENT_SECRET';
const VAULT_NAME = /^(?=.{3,24}$)[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]$/;
const VAULT_NAME_RULE = 'a vault name: 3 to 24 letters, digits and dashes, starting with a letter, ending with a letter or digit, no "--"';

export const integrationSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1 to 64)'),
    type: z.enum(['mysql', 'postgresql']),
    // A host name or address alone: the port is its own field.
    host: z.string().regex(/^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_.])?|\[?(?=[^:]*:[^:]*:)[0-9A-Fa-f:.]+(?:%[\w.-]+)?\]?)$/, 'a host name or IP address, without a port'),
    port: z.number().int().min(1).max(65535).optional(),
    database: z.string().min(1),
    // Key Vault's vault name rule: the name becomes the vault's host name, so nothing else may pass.
    secret: z.object({ vault: z.string().regex(VAULT_NAME, VAULT_NAME_RULE), name: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/), version: z.string().regex(/^[0-9a-f]{32}$/i).optional() }).strict(),
    tls,
  })
  .strict();

export const connectorConfigSchema = z
  .object({
    authority: z.string().url().refine((u) => u.startsWith('https://'), 'an https:// URL'),
    tenantId: z.string().uuid(),
    clientId: z.string().uuid(),
    /** Name of the environment variable that holds the client secret. */
    clientSecretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
    /** Instead of a client secret: a PEM file with the private key and the certificate registered on the application. */
    clientCertificatePath: z.string().min(1).optional(),
    /**
     * Instead of a client secret: a file holding an external identity provider's token (a projected Kubernetes
     * service account token), read at each sign-in, that a federated identity credential of the application trusts.
     */
    federatedTokenFile: z.string().min(1).optional(),
    vaultDnsSuffix: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/, 'a DNS suffix such as vault.azure.net').default('vault.localhost'),
    vaultPort: z.number().int().min(1).max(65535).optional(),
    caFile: z.string().optional(),
    refreshSeconds: z.number().min(0.5).max(3600).default(60),
    /** How long one read of a secret, its token included, may take. */
    vaultTimeoutSeconds: z.number().min(0.5).max(300).default(15),
    statusPort: z.number().int().min(0).max(65535).default(7070),
    integrations: z.array(integrationSchema).min(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    // The vault's CA, checked at start like a database's (a wrong file would only show as an untrusted vault).
    if (c.caFile !== undefined) readCaFile(c.caFile, ctx);
    if (c.clientCertificatePath !== undefined) {
      if (c.clientSecretEnv !== undefined) ctx.addIssue({ code: 'custom', path: ['clientSecretEnv'], message: 'give clientSecretEnv or clientCertificatePath, not both' });
      checkClientCertificate(c.clientCertificatePath, ctx);
    }
    if (c.federatedTokenFile !== undefined && (c.clientSecretEnv !== undefined || c.clientCertificatePath !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['federatedTokenFile'], message: 'give one of clientSecretEnv, clientCertificatePath and federatedTokenFile' });
    }
    const names = new Set<string>();
    for (const i of c.integrations) {
      if (names.has(i.name)) ctx.addIssue({ code: 'custom', path: ['integrations'], message: `integration name '${i.name}' is used twice` });
      names.add(i.name);
    }
  })
  // namedSecretEnv: the config named the variable, so an unset one is an error, not a cue for the webhook's token file.
  .transform((c) => ({ ...c, clientSecretEnv: c.clientSecretEnv ?? DEFAULT_SECRET_ENV, namedSecretEnv: c.clientSecretEnv !== undefined }));

export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;
export type IntegrationConfig = ConnectorConfig['integrations'][number];
/** An integration's TLS settings, with caFile's certificates as caPem. */
export type DbTlsConfig = IntegrationConfig['tls'];

export function loadConnectorConfig(file: string): ConnectorConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`connector config ${file}: ${(err as Error).message}`);
  }
  const parsed = connectorConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`connector config ${file} is invalid:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`);
  }
  return parsed.data;
}

/**
 * How the connector signs in, from its config and environment: a certificate or a federated token file the
 * config names; else the client secret in the variable it names; else, when the config names no credential
 * and the workload identity webhook set AZURE_FEDERATED_TOKEN_FILE, that token file (as Azure's SDKs do in
 * such a pod).
 */
export function connectorSignIn(config: ConnectorConfig, env: NodeJS.ProcessEnv): { config: ConnectorConfig; secret: string | null } | { missing: string } {
  if (config.clientCertificatePath !== undefined || config.federatedTokenFile !== undefined) return { config, secret: null };
  const secret = env[config.clientSecretEnv] ?? '';
  if (secret !== '') return { config, secret };
  const webhookFile = env.AZURE_FEDERATED_TOKEN_FILE ?? '';
  if (webhookFile !== '' && !config.namedSecretEnv) return { config: { ...config, federatedTokenFile: webhookFile }, secret: null };
  return { missing: config.clientSecretEnv };
}
