import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { parseBool, parseTags, parseUtc, run, TAGS_OPTION, withOutput } from '../command-kit.js';
import { azSecret, dataUrl, listAll, secretRef, type SecretBundle, type SecretRefOptions } from '../secret-ref.js';
import { registerSecretFileCommands, readSecretFile } from './secret-file-command.js';

// coffer keyvault secret ...: the secrets data plane with az's flags and output.

interface SetOptions extends SecretRefOptions {
  value?: string;
  file?: string;
  encoding?: string;
  contentType?: string;
  tags?: string[] | boolean;
  expires?: string;
  notBefore?: string;
  disabled?: string | boolean;
}

const withRef = (cmd: Command, versioned = false) => {
  cmd.option('--vault-name <vault>', 'vault name').option('-n, --name <name>', 'secret name').option('--id <url>', 'secret identifier URL (instead of --vault-name and --name)');
  if (versioned) cmd.option('-v, --version <version>', 'version (default: latest)');
  return withOutput(cmd);
};
const secretPath = (name: string, version: string | null = null) => `/secrets/${encodeURIComponent(name)}${version ? `/${encodeURIComponent(version)}` : ''}`;

export function registerSecretCommands(keyvault: Command): void {
  const secret = keyvault.command('secret').description('Manage secrets in a key vault.');

  withOutput(secret.command('set').description('Create a secret, or a new version of it.'))
    .requiredOption('--vault-name <vault>', 'vault name')
    .requiredOption('-n, --name <name>', 'secret name')
    .option('--value <value>', 'plain text secret value')
    .option('-f, --file <path>', 'read the value from a file')
    .option('-e, --encoding <encoding>', 'file encoding: utf-8, base64, hex or ascii', 'utf-8')
    .option('--content-type <type>', 'content type, e.g. application/json')
    .option(TAGS_OPTION, 'space-separated tags: key[=value]')
    .option('--expires <iso8601>', 'expiry (UTC)')
    .option('--not-before <iso8601>', 'activation time (UTC)')
    .option('--disabled [bool]', 'create the secret disabled')
    .addHelpText('after', `\nExamples:\n  coffer keyvault secret set --vault-name V --name apono-mysql-user --value '{"username": "u", "password": "p"}'\n  coffer keyvault secret set --vault-name V --name tls-key --file key.pem`)
    .action(
      run<SetOptions>(async (o, s) => {
        // As az's validator (a CLIError: exit 1): exactly one of the two, and not empty (a forgotten --value stored an empty latest version).
        if (!o.value === !o.file) throw new CliError('incorrect usage: [Required] --value VALUE | --file PATH');
        const ref = secretRef(o);
        const fromFile = o.file !== undefined ? readSecretFile(o.file, o.encoding ?? 'utf-8') : null;
        const tags = { ...(fromFile ? { 'file-encoding': o.encoding ?? 'utf-8' } : {}), ...parseTags(o.tags) };
        const body = {
          value: fromFile ?? o.value!,
          contentType: o.contentType,
          tags: Object.keys(tags).length > 0 ? tags : undefined,
          attributes: { enabled: !parseBool('--disabled', o.disabled), exp: parseUtc('--expires', o.expires), nbf: parseUtc('--not-before', o.notBefore) },
        };
        return azSecret(await s.call<SecretBundle>('PUT', dataUrl(s, ref.vault, secretPath(ref.name)), s.vaultResource, body));
      }),
    );

  withRef(secret.command('show').description("Get a secret's value and attributes."), true).action(
    run<SecretRefOptions>(async (o, s) => {
      const ref = secretRef(o);
      return azSecret(await s.call<SecretBundle>('GET', dataUrl(s, ref.vault, secretPath(ref.name, ref.version)), s.vaultResource));
    }),
  );

  withOutput(secret.command('list').description('List secrets (without values).'))
    .requiredOption('--vault-name <vault>', 'vault name')
    .option('--maxresults <n>', 'at most this many')
    .action(
      run<{ vaultName: string; maxresults?: string }>(async (o, s) => {
        const all = (await listAll(s, dataUrl(s, o.vaultName, '/secrets'), s.vaultResource, 'secrets')).map(azSecret);
        return o.maxresults ? all.slice(0, Number(o.maxresults)) : all;
      }),
    );

  withRef(secret.command('list-versions').description("List a secret's versions.")).action(
    run<SecretRefOptions>(async (o, s) => {
      const ref = secretRef(o);
      return (await listAll(s, dataUrl(s, ref.vault, `${secretPath(ref.name)}/versions`), s.vaultResource, 'versions')).map(azSecret);
    }),
  );

  withOutput(secret.command('list-deleted').description('List soft-deleted secrets.'))
    .requiredOption('--vault-name <vault>', 'vault name')
    .action(run<{ vaultName: string }>(async (o, s) => (await listAll(s, dataUrl(s, o.vaultName, '/deletedsecrets'), s.vaultResource, 'deleted secrets')).map(azSecret)));

  withRef(secret.command('show-deleted').description('Show a soft-deleted secret.')).action(
    run<SecretRefOptions>(async (o, s) => {
      const ref = secretRef(o);
      return azSecret(await s.call<SecretBundle>('GET', dataUrl(s, ref.vault, `/deletedsecrets/${encodeURIComponent(ref.name)}`), s.vaultResource));
    }),
  );

  withRef(secret.command('set-attributes').description("Update a secret's attributes (not its value)."), true)
    // az's three-state flag: bare is true, or an explicit true/false (a bare flag never takes the next option as its value).
    .option('--enabled [bool]', 'enable (bare or true) or disable (false) the secret')
    .option('--expires <iso8601>', 'expiry (UTC)')
    .option('--not-before <iso8601>', 'activation time (UTC)')
    .option('--content-type <type>', 'content type')
    .option(TAGS_OPTION, 'space-separated tags: key[=value] (replaces all tags; "" clears them)')
    .action(
      run<SecretRefOptions & { enabled?: string | boolean; expires?: string; notBefore?: string; contentType?: string; tags?: string[] | boolean }>(async (o, s) => {
        const ref = secretRef(o);
        const attributes: Record<string, unknown> = {};
        if (o.enabled !== undefined) attributes.enabled = parseBool('--enabled', o.enabled);
        if (o.expires !== undefined) attributes.exp = parseUtc('--expires', o.expires);
        if (o.notBefore !== undefined) attributes.nbf = parseUtc('--not-before', o.notBefore);
        const body = { attributes, contentType: o.contentType, tags: parseTags(o.tags) };
        return azSecret(await s.call<SecretBundle>('PATCH', dataUrl(s, ref.vault, secretPath(ref.name, ref.version)), s.vaultResource, body));
      }),
    );

  withRef(secret.command('delete').description('Delete a secret (all versions; soft delete when the vault has it).')).action(
    run<SecretRefOptions>(async (o, s) => {
      const ref = secretRef(o);
      return azSecret(await s.call<SecretBundle>('DELETE', dataUrl(s, ref.vault, secretPath(ref.name)), s.vaultResource));
    }),
  );

  withRef(secret.command('recover').description('Recover a soft-deleted secret.')).action(
    run<SecretRefOptions>(async (o, s) => {
      const ref = secretRef(o);
      return azSecret(await s.call<SecretBundle>('POST', dataUrl(s, ref.vault, `/deletedsecrets/${encodeURIComponent(ref.name)}/recover`), s.vaultResource));
    }),
  );

  withRef(secret.command('purge').description('Permanently delete a soft-deleted secret.')).action(
    run<SecretRefOptions>(async (o, s) => {
      const ref = secretRef(o);
      await s.call('DELETE', dataUrl(s, ref.vault, `/deletedsecrets/${encodeURIComponent(ref.name)}`), s.vaultResource);
      return undefined;
    }),
  );

  registerSecretFileCommands(secret, withRef);
}
