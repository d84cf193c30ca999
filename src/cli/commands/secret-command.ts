import type { Command } from 'commander';
import { API, parseTags, run, withOutput } from '../command-kit.js';
import type { Session } from '../session.js';

// coffer keyvault secret ...: the data plane, shown the way az shows it.

interface SecretBundle {
  id: string;
  value?: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes: { enabled: boolean; nbf?: number; exp?: number; created: number; updated: number; recoverableDays: number; recoveryLevel: string };
}

const isoOrNull = (t: number | undefined) => (t === undefined ? null : new Date(t * 1000).toISOString().replace('.000Z', '+00:00'));

export function azSecret(b: SecretBundle) {
  const parts = new URL(b.id).pathname.split('/');
  return {
    attributes: {
      created: isoOrNull(b.attributes.created),
      enabled: b.attributes.enabled,
      expires: isoOrNull(b.attributes.exp),
      notBefore: isoOrNull(b.attributes.nbf),
      recoverableDays: b.attributes.recoverableDays,
      recoveryLevel: b.attributes.recoveryLevel,
      updated: isoOrNull(b.attributes.updated),
    },
    contentType: b.contentType ?? null,
    id: b.id,
    kid: null,
    managed: null,
    name: parts[2] ?? '',
    tags: b.tags ?? {},
    ...(b.value === undefined ? {} : { value: b.value }),
  };
}

const secretUrl = (s: Session, vault: string, path: string) => `${s.vaultUrl(vault)}${path}?api-version=${API.secrets}`;
const toUnix = (iso: string | undefined) => (iso === undefined ? undefined : Math.floor(Date.parse(iso) / 1000));

export function registerSecretCommands(keyvault: Command): void {
  const secret = keyvault.command('secret').description('Manage secrets in a key vault.');

  withOutput(secret.command('set').description('Create a secret, or a new version of it.'))
    .requiredOption('--vault-name <vault>', 'vault name')
    .requiredOption('-n, --name <name>', 'secret name')
    .option('--value <value>', 'plain text secret value')
    .option('--content-type <type>', 'content type, e.g. application/json')
    .option('--tags <tags...>', 'space-separated tags: key[=value]')
    .option('--expires <iso8601>', 'expiry (UTC)')
    .option('--not-before <iso8601>', 'activation time (UTC)')
    .option('--disabled [bool]', 'create the secret disabled')
    .addHelpText('after', `\nExamples:\n  coffer keyvault secret set --vault-name V --name apono-mysql-user --value '{"username": "u", "password": "p"}'`)
    .action(
      run<{ vaultName: string; name: string; value?: string; contentType?: string; tags?: string[]; expires?: string; notBefore?: string; disabled?: string | boolean }>(async (o, s) => {
        const body = {
          value: o.value ?? '',
          contentType: o.contentType,
          tags: parseTags(o.tags),
          attributes: { enabled: !(o.disabled === true || o.disabled === 'true'), exp: toUnix(o.expires), nbf: toUnix(o.notBefore) },
        };
        return azSecret(await s.call<SecretBundle>('PUT', secretUrl(s, o.vaultName, `/secrets/${encodeURIComponent(o.name)}`), s.vaultResource, body));
      }),
    );

  withOutput(secret.command('show').description("Get a secret's value and attributes."))
    .option('--vault-name <vault>', 'vault name')
    .option('-n, --name <name>', 'secret name')
    .option('-v, --version <version>', 'version (default: latest)')
    .action(
      run<{ vaultName: string; name: string; version?: string }>(async (o, s) => {
        const path = `/secrets/${encodeURIComponent(o.name)}${o.version ? `/${encodeURIComponent(o.version)}` : ''}`;
        return azSecret(await s.call<SecretBundle>('GET', secretUrl(s, o.vaultName, path), s.vaultResource));
      }),
    );

  withOutput(secret.command('list').description('List secrets (without values).'))
    .requiredOption('--vault-name <vault>', 'vault name')
    .action(
      run<{ vaultName: string }>(async (o, s) => {
        const out: unknown[] = [];
        let url: string | null = secretUrl(s, o.vaultName, '/secrets');
        while (url) {
          const page: { value: SecretBundle[]; nextLink: string | null } = await s.call('GET', url, s.vaultResource);
          out.push(...page.value.map(azSecret));
          url = page.nextLink;
        }
        return out;
      }),
    );
}
