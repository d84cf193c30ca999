import { Option, type Command } from 'commander';
import { secretListTable } from '../table-views.js';
import { asSecret } from '../output-models.js';
import { CliError } from '../cli-error.js';
import { DATETIME_HELP, parseTags, TAGS_OPTION, withOutput } from '../command-kit.js';
import { secretRun } from '../secret-errors.js';
import type { Session } from '../session.js';
import { dataUrl, listAll, secretRef, vaultOf, type SecretBundle, type SecretRefOptions } from '../secret-ref.js';
import { ENCODINGS } from '../secret-encoding.js';
import { registerSecretFileCommands, readSecretFile } from './secret-file-command.js';

/** `keyvault secret delete`'s notice, as az 2.45 prints it (keyvault/commands.py). */
const SECRET_DELETE_WARNING =
  'Warning! If you have soft-delete protection enabled on this key vault, this secret will be moved to the soft deleted state. ' +
  'You will not be able to create a secret with the same name within this key vault until the secret has been purged from the soft-deleted state. ' +
  'Please see the following documentation for additional guidance.\nhttps://docs.microsoft.com/azure/key-vault/general/soft-delete-overview';

// coffer keyvault secret ...: the secrets data plane with az's flags and output.

interface SetOptions extends SecretRefOptions {
  value?: string;
  file?: string;
  encoding: string;
  contentType?: string;
  tags?: string[] | boolean;
  /** The dates as UTC seconds, read with the command line (arg-types.ts). */
  expires?: number;
  notBefore?: number;
  disabled?: boolean;
}

const withRef = (cmd: Command, versioned = false) => {
  cmd.option('--vault-name <vault>', 'vault name').option('-n, --name <name>', 'secret name').option('--id <url>', 'secret identifier URL, .../secrets/NAME[/VERSION] (show-deleted, recover, purge: the recovery id, .../deletedsecrets/NAME), instead of --vault-name and --name');
  if (versioned) cmd.option('-v, --version <version>', 'version (default: latest)');
  return withOutput(cmd);
};
interface VaultListOptions {
  vaultName?: string;
  id?: string;
  /** Read with the command line, as argparse's int (arg-types.ts). */
  maxresults?: number;
}

const MAXRESULTS_OPTION = '--maxresults <int>';
// A vault-level list: --vault-name, or --id with the vault's URL, as az.
const withVault = (cmd: Command) => withOutput(cmd).option('--vault-name <vault>', 'vault name').option('--id <url>', 'vault URL (instead of --vault-name)').option(MAXRESULTS_OPTION, 'at most this many');

/**
 * --maxresults as az 2.45 takes it: an integer (argparse's int, exit 2, checked
 * as the command line is read), which the track-1 SDK checks against the service's page limits before it
 * sends anything (msrest's ValidationError, exit 1), sends with the first
 * request, and az's keep_max_results then keeps the first n of all pages.
 */
function maxResultsOf(o: { maxresults?: number }): number | null {
  if (o.maxresults === undefined) return null;
  const n = o.maxresults;
  if (n < 1) throw new CliError("Parameter 'maxresults' must be equal to or greater than 1.");
  if (n > 25) throw new CliError("Parameter 'maxresults' must be equal to or less than 25.");
  return n;
}

/** A list with --maxresults: sent with the first request, and the first n kept. */
async function listSome(s: Session, o: { maxresults?: number }, vault: string, path: string, label: string): Promise<SecretBundle[]> {
  const n = maxResultsOf(o);
  const all = await listAll(s, dataUrl(s, vault, path) + (n === null ? '' : `&maxresults=${n}`), s.vaultResource, label);
  return n === null ? all : all.slice(0, n);
}

const secretPath = (name: string, version: string | null = null) => `/secrets/${encodeURIComponent(name)}${version ? `/${encodeURIComponent(version)}` : ''}`;

export function registerSecretCommands(keyvault: Command): void {
  const secret = keyvault.command('secret').description('Manage secrets in a key vault.');

  withOutput(secret.command('set').description('Create a secret, or a new version of it.'))
    .requiredOption('--vault-name <vault>', 'vault name')
    .requiredOption('-n, --name <name>', 'secret name')
    .option('--value <value>', 'plain text secret value')
    .option('-f, --file <path>', 'read the value from a file')
    .addOption(new Option('-e, --encoding <encoding>', 'file encoding; saved as the file-encoding tag that download uses').choices(ENCODINGS).default('utf-8'))
    .option('--description, --content-type <type>', 'content type, e.g. application/json')
    .option(TAGS_OPTION, 'space-separated tags: key[=value]')
    .option('--expires <datetime>', DATETIME_HELP('expiry'))
    .option('--not-before <datetime>', DATETIME_HELP('activation time'))
    .option('--disabled [bool]', 'create the secret disabled')
    .addHelpText('after', `\nExamples:\n  coffer keyvault secret set --vault-name V --name apono-mysql-user --value '{"username": "u", "password": "p"}'\n  coffer keyvault secret set --vault-name V --name tls-key --file key.pem`)
    .action(
      secretRun<SetOptions>(async (o, s) => {
        // As az's validator (a CLIError: exit 1): exactly one of the two, and not empty (a forgotten --value stored an empty latest version).
        if (!o.value === !o.file) throw new CliError('incorrect usage: [Required] --value VALUE | --file PATH');
        const encoding = o.encoding;
        // As az: the value read from the file, and a file-encoding tag on every secret it sets (with --value too).
        const value = o.file !== undefined ? readSecretFile(o.file, encoding) : o.value!;
        // az 2.45 sets secrets through the track-1 SDK, which checks the name's pattern before it sends anything.
        if (!/^[0-9a-zA-Z-]+$/.test(o.name ?? '')) throw new CliError("Parameter 'secret_name' must conform to the following pattern: '^[0-9a-zA-Z-]+$'.");
        const ref = secretRef(s, o);
        const tags = { ...parseTags(o.tags), 'file-encoding': encoding };
        const body = {
          value,
          contentType: o.contentType,
          tags,
          attributes: { enabled: !o.disabled, exp: o.expires, nbf: o.notBefore },
        };
        return asSecret('bundle', await s.call<SecretBundle>('PUT', dataUrl(s, ref.vault, secretPath(ref.name)), s.vaultResource, body));
      }),
    );

  withRef(secret.command('show').description("Get a secret's value and attributes."), true).action(
    secretRun<SecretRefOptions>(
      async (o, s) => {
        const ref = secretRef(s, o);
        return asSecret('bundle', await s.call<SecretBundle>('GET', dataUrl(s, ref.vault, secretPath(ref.name, ref.version)), s.vaultResource));
      },
      undefined,
      true,
    ),
  );

  withVault(secret.command('list').description('List secrets (without values).'))
    .option('--include-managed [bool]', "include managed secrets (coffer has none: certificates' secrets are not kept)")
    .action(
      secretRun<VaultListOptions>(async (o, s) => (await listSome(s, o, vaultOf(s, o), '/secrets', 'secrets')).map((b) => asSecret('item', b)), secretListTable),
    );

  withRef(secret.command('list-versions').description("List a secret's versions."))
    .option(MAXRESULTS_OPTION, 'at most this many')
    .action(
      secretRun<SecretRefOptions & { maxresults?: number }>(async (o, s) => {
        const ref = secretRef(s, o);
        return (await listSome(s, o, ref.vault, `${secretPath(ref.name)}/versions`, 'versions')).map((b) => asSecret('item', b));
      }),
    );

  withVault(secret.command('list-deleted').description('List soft-deleted secrets.')).action(
    secretRun<VaultListOptions>(async (o, s) => (await listSome(s, o, vaultOf(s, o), '/deletedsecrets', 'deleted secrets')).map((b) => asSecret('deletedItem', b))),
  );

  withRef(secret.command('show-deleted').description('Show a soft-deleted secret.')).action(
    secretRun<SecretRefOptions>(async (o, s) => {
      const ref = secretRef(s, o, 'deletedsecrets');
      return asSecret('deletedBundle', await s.call<SecretBundle>('GET', dataUrl(s, ref.vault, `/deletedsecrets/${encodeURIComponent(ref.name)}`), s.vaultResource));
    }),
  );

  withRef(secret.command('set-attributes').description("Update a secret's attributes (not its value)."), true)
    // az's three-state flag: bare is true, or an explicit true/false (a bare flag never takes the next option as its value).
    .option('--enabled [bool]', 'enable (bare or true) or disable (false) the secret')
    .option('--expires <datetime>', DATETIME_HELP('expiry'))
    .option('--not-before <datetime>', DATETIME_HELP('activation time'))
    .option('--content-type <type>', 'content type')
    .option(TAGS_OPTION, 'space-separated tags: key[=value] (replaces all tags; "" clears them)')
    .action(
      secretRun<SecretRefOptions & { enabled?: boolean; expires?: number; notBefore?: number; contentType?: string; tags?: string[] | boolean }>(async (o, s) => {
        const attributes: Record<string, unknown> = {};
        if (o.expires !== undefined) attributes.exp = o.expires;
        if (o.notBefore !== undefined) attributes.nbf = o.notBefore;
        if (o.enabled !== undefined) attributes.enabled = o.enabled;
        const ref = secretRef(s, o);
        const body = { attributes, contentType: o.contentType, tags: parseTags(o.tags) };
        return asSecret('bundle', await s.call<SecretBundle>('PATCH', dataUrl(s, ref.vault, secretPath(ref.name, ref.version)), s.vaultResource, body));
      }),
    );

  withRef(secret.command('delete').description('Delete a secret (all versions; soft delete when the vault has it).')).action(
    secretRun<SecretRefOptions>(async (o, s) => {
      // az prints it (its deprecate_info, a logger warning: --only-show-errors hides it) before the command runs.
      s.warn(SECRET_DELETE_WARNING);
      const ref = secretRef(s, o);
      return asSecret('deletedBundle', await s.call<SecretBundle>('DELETE', dataUrl(s, ref.vault, secretPath(ref.name)), s.vaultResource));
    }),
  );

  withRef(secret.command('recover').description('Recover a soft-deleted secret.')).action(
    secretRun<SecretRefOptions>(async (o, s) => {
      const ref = secretRef(s, o, 'deletedsecrets');
      return asSecret('bundle', await s.call<SecretBundle>('POST', dataUrl(s, ref.vault, `/deletedsecrets/${encodeURIComponent(ref.name)}/recover`), s.vaultResource));
    }),
  );

  withRef(secret.command('purge').description('Permanently delete a soft-deleted secret.')).action(
    secretRun<SecretRefOptions>(async (o, s) => {
      const ref = secretRef(s, o, 'deletedsecrets');
      await s.call('DELETE', dataUrl(s, ref.vault, `/deletedsecrets/${encodeURIComponent(ref.name)}`), s.vaultResource);
      return undefined;
    }),
  );

  registerSecretFileCommands(secret, withRef);
}
