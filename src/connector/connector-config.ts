import { readFileSync } from 'node:fs';
import { z } from 'zod';

// The connector's configuration: who it is (a service principal whose secret
// comes from the environment, never from this file) and which integrations
// it keeps connected. Validated once at start.

const integration = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1 to 64)'),
    type: z.enum(['mysql', 'postgresql']),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).optional(),
    database: z.string().min(1),
    secret: z.object({ vault: z.string().min(3).max(24), name: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/), version: z.string().regex(/^[0-9a-f]{32}$/i).optional() }).strict(),
  })
  .strict();

export const connectorConfigSchema = z
  .object({
    authority: z.string().url(),
    tenantId: z.string().uuid(),
    clientId: z.string().uuid(),
    /** Name of the environment variable that holds the client secret. */
    clientSecretEnv: z.string().default('COFFER_CONNECTOR_CLIENT_SECRET'),
    vaultDnsSuffix: z.string().default('vault.localhost'),
    vaultPort: z.number().int().min(1).max(65535).optional(),
    caFile: z.string().optional(),
    refreshSeconds: z.number().min(0.5).max(3600).default(60),
    statusPort: z.number().int().min(0).max(65535).default(7070),
    integrations: z.array(integration).min(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    for (const i of c.integrations) {
      if (names.has(i.name)) ctx.addIssue({ code: 'custom', path: ['integrations'], message: `integration name '${i.name}' is used twice` });
      names.add(i.name);
    }
  });

export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;
export type IntegrationConfig = ConnectorConfig['integrations'][number];

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
