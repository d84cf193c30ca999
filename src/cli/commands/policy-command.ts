import { Option, type Command } from 'commander';
import { CliError } from '../cli-error.js';
import { API, noWait, run, withNoWait, withOutput } from '../command-kit.js';
import { resolvePrincipal } from '../principal-lookup.js';
import type { Session } from '../session.js';
import { findVault } from './keyvault-command.js';
import { asVault } from '../output-models.js';

// coffer keyvault set-policy / delete-policy: access policies with az's flags.

interface PolicyOptions {
  name: string;
  resourceGroup?: string;
  objectId?: string;
  spn?: string;
  upn?: string;
  applicationId?: string;
  secretPermissions?: string[];
  keyPermissions?: string[];
  certificatePermissions?: string[];
  storagePermissions?: string[];
}

interface PolicyEntry {
  tenantId: string;
  objectId: string;
  applicationId?: string | null;
  permissions: Record<string, string[] | undefined>;
}

function withPrincipal(cmd: Command): Command {
  return withOutput(cmd)
    .requiredOption('-n, --name <vault>', 'vault name')
    .option('-g, --resource-group <group>', 'resource group (found by listing when omitted)')
    .option('--object-id <id>', 'object id of a user, group or service principal')
    .option('--spn <name>', 'service principal: appId or display name')
    .option('--upn <upn>', 'user principal name')
    .option('--application-id <appId>', 'application id, for a compound identity');
}

/** azure-mgmt-keyvault's permission enums (API 2022-07-01, az 2.45's), whose spellings az sends. */
const PERMISSION_CHOICES = {
  secretPermissions: ['all', 'get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge'],
  keyPermissions: ['all', 'encrypt', 'decrypt', 'wrapKey', 'unwrapKey', 'sign', 'verify', 'get', 'list', 'create', 'update', 'import', 'delete', 'backup', 'restore', 'recover', 'purge', 'release', 'rotate', 'getrotationpolicy', 'setrotationpolicy'],
  certificatePermissions: ['all', 'get', 'list', 'delete', 'create', 'import', 'update', 'managecontacts', 'getissuers', 'listissuers', 'setissuers', 'deleteissuers', 'manageissuers', 'recover', 'purge', 'backup', 'restore'],
  storagePermissions: ['all', 'get', 'list', 'delete', 'set', 'update', 'regeneratekey', 'recover', 'purge', 'backup', 'restore', 'setsas', 'listsas', 'getsas', 'deletesas'],
} as const;

/**
 * az's get_enum_type: each value matched in any case, in the enum's spelling, as the command line is read
 * (arg-types.ts); repeats are dropped here (az makes a set of them).
 */
function dropRepeats(o: PolicyOptions): void {
  for (const key of Object.keys(PERMISSION_CHOICES) as Array<keyof typeof PERMISSION_CHOICES>) if (o[key]) o[key] = [...new Set(o[key])];
}

/** az's validate_principal (an argparse error: exit 2). */
function checkPrincipal(o: PolicyOptions): void {
  if ([o.objectId, o.spn, o.upn].filter((x) => x).length !== 1) throw new CliError('specify exactly one: --object-id, --spn, --upn', undefined, 2);
}

/** az's validate_principal, then validate_policy_permissions (argparse errors: exit 2); repeats dropped as az's set does. */
function checkSetPolicy(o: PolicyOptions): void {
  checkPrincipal(o);
  dropRepeats(o);
  if (!o.secretPermissions && !o.keyPermissions && !o.certificatePermissions && !o.storagePermissions) {
    throw new CliError('specify at least one: --key-permissions, --secret-permissions, --certificate-permissions --storage-permissions', undefined, 2);
  }
}

async function objectIdOf(o: PolicyOptions, s: Session): Promise<string> {
  checkPrincipal(o);
  if (o.objectId) return o.objectId.toLowerCase();
  const [flag, text, kind] = o.spn ? (['spn', o.spn, 'ServicePrincipal'] as const) : (['upn', o.upn!, 'User'] as const);
  try {
    return (await resolvePrincipal(s, text, kind)).id;
  } catch (err) {
    if (!(err instanceof CliError) || err.exitCode !== 1) throw err;
    // az's _object_id_args_helper: a warning naming what was not found, then one error for either flag.
    s.warn(/more than one/i.test(err.message) ? `Multiple ${kind === 'User' ? 'users principals' : 'service principals'} found with ${flag} '${text}'. You can avoid this by specifying object id.` : `Unable to find user with ${flag} '${text}'`);
    throw new CliError('Unable to get object id from principal name.');
  }
}

export function registerPolicyCommands(kv: Command): void {
  withNoWait(withPrincipal(kv.command('set-policy').description("Set a principal's permissions in a vault's access policies (families given replace the old ones).")))
    .addOption(new Option('--secret-permissions [perms...]', 'secret permissions').choices(PERMISSION_CHOICES.secretPermissions))
    .addOption(new Option('--key-permissions [perms...]', 'key permissions').choices(PERMISSION_CHOICES.keyPermissions))
    .addOption(new Option('--certificate-permissions [perms...]', 'certificate permissions').choices(PERMISSION_CHOICES.certificatePermissions))
    .addOption(new Option('--storage-permissions [perms...]', 'storage permissions').choices(PERMISSION_CHOICES.storagePermissions))
    .addHelpText('after', '\nExamples:\n  coffer keyvault set-policy -n my-vault --spn apono-connector --secret-permissions get')
    .action(
      run<PolicyOptions>(async (o, s) => {
        // Without -g, az's first validator finds the vault's group (a login and a listing) before the others run.
        const found = o.resourceGroup ? undefined : await findVault(s, o.name);
        if (!o.resourceGroup) checkSetPolicy(o);
        const objectId = await objectIdOf(o, s);
        const vault = found ?? (await findVault(s, o.name, o.resourceGroup));
        // As az: a vault on the RBAC model has no access policies to change, and nothing is sent.
        if (vault.properties.enableRbacAuthorization) throw new CliError("Cannot set policies to a vault with '--enable-rbac-authorization' specified");
        const current = ((vault.properties.accessPolicies ?? []) as PolicyEntry[]).find(
          (p) => p.objectId.toLowerCase() === objectId && (p.applicationId ?? null) === (o.applicationId ?? null),
        );
        const permissions = { ...(current?.permissions ?? {}) };
        if (o.secretPermissions) permissions.secrets = o.secretPermissions;
        if (o.keyPermissions) permissions.keys = o.keyPermissions;
        if (o.certificatePermissions) permissions.certificates = o.certificatePermissions;
        if (o.storagePermissions) permissions.storage = o.storagePermissions;
        const entry: PolicyEntry = { tenantId: s.profile.tenantId, objectId, permissions };
        if (o.applicationId) entry.applicationId = o.applicationId;
        await s.call('PUT', `${s.profile.server}${vault.id}/accessPolicies/replace?api-version=${API.arm}`, s.managementResource, { properties: { accessPolicies: [entry] } });
        if (noWait(o)) return undefined;
        return asVault(await s.call('GET', `${s.profile.server}${vault.id}?api-version=${API.arm}`, s.managementResource));
      }, undefined, (o) => {
        // With -g, az's validators (argparse errors: exit 2) run before the login is loaded.
        if (o.resourceGroup) checkSetPolicy(o);
      }),
    );

  withNoWait(withPrincipal(kv.command('delete-policy').description("Remove a principal's access policy from a vault."))).action(
    run<PolicyOptions>(async (o, s) => {
      const objectId = await objectIdOf(o, s);
      const vault = await findVault(s, o.name, o.resourceGroup);
      // az's texts (its "to a vault" included) and checks, before anything is sent.
      if (vault.properties.enableRbacAuthorization) throw new CliError("Cannot delete policies to a vault with '--enable-rbac-authorization' specified");
      const tenantId = String(vault.properties.tenantId ?? s.profile.tenantId).toLowerCase();
      const matches = ((vault.properties.accessPolicies ?? []) as PolicyEntry[]).some(
        (p) => p.tenantId.toLowerCase() === tenantId && p.objectId.toLowerCase() === objectId && (p.applicationId ?? '').toLowerCase() === (o.applicationId ?? '').toLowerCase(),
      );
      if (!matches) throw new CliError('No matching policies found');
      const entry: PolicyEntry = { tenantId: s.profile.tenantId, objectId, permissions: {} };
      if (o.applicationId) entry.applicationId = o.applicationId;
      await s.call('PUT', `${s.profile.server}${vault.id}/accessPolicies/remove?api-version=${API.arm}`, s.managementResource, { properties: { accessPolicies: [entry] } });
      if (noWait(o)) return undefined;
      return asVault(await s.call('GET', `${s.profile.server}${vault.id}?api-version=${API.arm}`, s.managementResource));
    }),
  );
}
