import { Option, type Command } from 'commander';
import { CliError } from '../cli-error.js';
import { API, exists, noWait, parseTags, run, TAGS_OPTION, withNoWait, withOutput } from '../command-kit.js';
import { asDeletedVault, asResource, asVault } from '../output-models.js';
import type { Session } from '../session.js';
import { pyInt } from '../arg-types.js';
import { pyRepr } from '../table-format.js';
import { VAULT_MODELS, VAULT_PROPERTY_TYPES } from '../arm-models.js';
import { applyGenericUpdate, hasGenericUpdate, isObject, tagsAsText, toWire, withGenericUpdate, type GenericUpdateOptions } from '../generic-update.js';
import { castAs } from '../generic-update-values.js';
import { armList } from '../arm-list.js';
import { hasNetworkRules, networkRules } from './vault-network-acls.js';
import type { PyValue } from '../py-value.js';

// coffer keyvault create | show | list | update | delete, as az has them, and
// printed as az prints its SDK models (asVault: every attribute, null when unset).

interface VaultResource {
  id: string;
  name: string;
  tags?: Record<string, string> | null;
  properties: Record<string, unknown>;
}

const vaultsBase = (s: Session) => `${s.profile.server}/subscriptions/${s.profile.subscriptionId}`;
const vaultUrl = (s: Session, rg: string, name: string) =>
  `${vaultsBase(s)}/resourceGroups/${encodeURIComponent(rg)}/providers/Microsoft.KeyVault/vaults/${encodeURIComponent(name)}?api-version=${API.arm}`;

/** Finds a vault's resource group the way az does when -g is omitted. */
export async function findVault(s: Session, name: string, rg?: string): Promise<VaultResource> {
  if (rg) return s.call<VaultResource>('GET', vaultUrl(s, rg, name), s.managementResource);
  const list = await armList<{ id: string; name: string }>(
    s,
    `${vaultsBase(s)}/resources?$filter=${encodeURIComponent("resourceType eq 'Microsoft.KeyVault/vaults'")}&api-version=${API.resources}`,
  );
  const hit = list.find((v) => v.name.toLowerCase() === name.toLowerCase());
  // az's validator: a CLIError without a code, exit 1.
  if (!hit) throw new CliError(`The Vault '${name}' not found within subscription.`);
  return s.call<VaultResource>('GET', `${s.profile.server}${hit.id}?api-version=${API.arm}`, s.managementResource);
}

/**
 * az's checks of a command that takes a vault or a managed HSM, before the login is loaded: not both (`vault` is
 * how that command's message names the vault's argument), and, for create, one of them.
 */
function vaultOrHsm(name: string | undefined, hsmName: string | undefined, vault: '--vault-name' | '--name/-n'): void {
  if (name && hsmName) throw new CliError(`${vault} and --hsm-name are mutually exclusive.`);
  if (vault === '--vault-name' && !name && !hsmName) throw new CliError('Please specify --vault-name or --hsm-name.');
}

/** keyvault delete's notice (keyvault/_validators.py _show_vault_only_deprecate_message), as az prints it. */
const SOFT_DELETE_WARNING =
  'WARNING: Warning! If you have soft-delete protection enabled on this key vault, you will not be able to reuse this key vault name until the key vault has been purged from the soft deleted state. Please see the following documentation for additional guidance.\nhttps://docs.microsoft.com/azure/key-vault/general/soft-delete-overview';

interface CreateOptions extends VaultSettings {
  hsmName?: string;
  administrators?: string[];
  networkAcls?: PyValue;
  networkAclsIps?: string[];
  networkAclsVnets?: string[];
  name: string;
  resourceGroup: string;
  location?: string;
  sku: string;
  retentionDays: string;
  enablePurgeProtection?: boolean;
  enableRbacAuthorization: boolean;
  noSelfPerms?: boolean;
  tags?: string[] | boolean;
}

interface UpdateOptions extends VaultSettings, GenericUpdateOptions {
  name: string;
  resourceGroup?: string;
  enableRbacAuthorization?: boolean;
  enablePurgeProtection?: boolean;
  retentionDays?: string;
}

/**
 * --retention-days as az 2.45 reads it: a string that create_vault and update_vault pass to int() just
 * before the PUT or PATCH (after the vault lookups; there is no argparse type), where a ValueError is az's
 * "unexpected error" (exit 1): its first two lines, without the traceback.
 */
function retentionDays(v: string): number {
  const n = pyInt(v);
  if (n === undefined) throw new CliError(`The command failed with an unexpected error. Here is the traceback:\nERROR: invalid literal for int() with base 10: ${pyRepr(v).slice(0, 200)}`);
  return n;
}

/** The settings `create` and `update` both take, as az's. */
interface VaultSettings {
  enabledForDeployment?: boolean;
  enabledForDiskEncryption?: boolean;
  enabledForTemplateDeployment?: boolean;
  defaultAction?: string;
  bypass?: string;
  publicNetworkAccess?: string;
}

const withVaultSettings = (cmd: Command) =>
  cmd
    .option('--enabled-for-deployment [bool]', 'let virtual machines read certificates (kept; coffer has none)')
    .option('--enabled-for-disk-encryption [bool]', 'let disk encryption read secrets (kept)')
    .option('--enabled-for-template-deployment [bool]', 'let template deployments read secrets (kept)')
    // azure-mgmt-keyvault's enums (NetworkRuleAction, NetworkRuleBypassOptions, PublicNetworkAccess).
    .addOption(new Option('--default-action <action>', 'network rules: Allow or Deny what no rule matches').choices(['Allow', 'Deny']))
    .addOption(new Option('--bypass <bypass>', 'network rules: AzureServices or None').choices(['AzureServices', 'None']))
    .addOption(new Option('--public-network-access <access>', 'Enabled or Disabled').choices(['Enabled', 'Disabled']));

/** The enabled-for flags and public network access given (az sets only what is given). */
function settingProperties(o: VaultSettings): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const key of ['enabledForDeployment', 'enabledForDiskEncryption', 'enabledForTemplateDeployment'] as const) if (o[key] !== undefined) properties[key] = o[key];
  if (o.publicNetworkAccess !== undefined) properties.publicNetworkAccess = o.publicNetworkAccess;
  return properties;
}

/** az's _create_network_rule_set over the vault's own rules (none: its defaults), with --bypass and --default-action applied. */
function networkAcls(o: VaultSettings, existing: Record<string, unknown> | null): Record<string, unknown> {
  const acls: Record<string, unknown> = { bypass: 'AzureServices', defaultAction: 'Allow', ...(existing ?? {}) };
  if (o.bypass !== undefined) acls.bypass = o.bypass;
  if (o.defaultAction !== undefined) acls.defaultAction = o.defaultAction;
  return acls;
}

/** az's create: the rule set with the rules given (vault-network-acls.ts), or its defaults' without any. */
function createNetworkAcls(o: CreateOptions, subscriptionId: string): Record<string, unknown> {
  const acls = networkAcls(o, null);
  const input = { json: o.networkAcls, ips: o.networkAclsIps, vnets: o.networkAclsVnets, resourceGroup: o.resourceGroup, subscriptionId };
  return hasNetworkRules(input) ? { ...acls, ...networkRules(input) } : acls;
}

/** What `keyvault update` changes (az's update_vault): the flags given, network rules merged into the vault's own. */
function updatedProperties(o: UpdateOptions, vault: VaultResource): Record<string, unknown> {
  const properties = settingProperties(o);
  if (o.enableRbacAuthorization !== undefined) properties.enableRbacAuthorization = o.enableRbacAuthorization;
  if (o.enablePurgeProtection !== undefined) properties.enablePurgeProtection = o.enablePurgeProtection;
  if (o.retentionDays !== undefined) properties.softDeleteRetentionInDays = retentionDays(o.retentionDays);
  if (o.defaultAction !== undefined || o.bypass !== undefined) properties.networkAcls = networkAcls(o, (vault.properties.networkAcls as Record<string, unknown> | null) ?? null);
  return properties;
}

/**
 * The PATCH of `keyvault update`: the flags' properties, then --set/--add/--remove on the vault as read with
 * them, sending the properties that differ from the vault's (a PATCH changes only what it names) and the tags
 * when they changed (a PATCH's tags replace the vault's).
 */
function vaultPatch(o: UpdateOptions, vault: VaultResource, warn: (line: string) => void): { properties: Record<string, unknown>; tags?: Record<string, string | null> } {
  const properties = updatedProperties(o, vault);
  if (!hasGenericUpdate(o)) return { properties };
  const tags = vault.tags ?? {};
  // The whole vault as read, so that paths and az's messages see all of its model (only tags and properties are sent).
  const changed = applyGenericUpdate({ ...vault, tags, properties: { ...vault.properties, ...properties } }, o, { root: 'Vault', models: VAULT_MODELS, warn });
  // `--remove tags` (or tags set to null) leaves the model without tags, which az's PUT then sends without any: none.
  if (changed.tags === null || changed.tags === undefined) changed.tags = {};
  if (!isObject(changed.properties) || !isObject(changed.tags)) throw new CliError('usage error: properties and tags must stay objects');
  // The SDK serializes the vault's model: a scalar property goes as its type (`properties.tenantId=1.0` as '1.0').
  for (const [k, type] of Object.entries(VAULT_PROPERTY_TYPES)) if (Object.hasOwn(changed.properties, k)) changed.properties[k] = castAs(type, changed.properties[k]);
  // Values the command line gave go as JSON: an int as a number, a tuple or a set as msrest's str() of it (toWire).
  const same = (a: unknown, b: unknown) => JSON.stringify(toWire(a)) === JSON.stringify(b);
  const patch: { properties: Record<string, unknown>; tags?: Record<string, string | null> } = {
    properties: Object.fromEntries(
      Object.entries(changed.properties)
        .filter(([k, v]) => Object.hasOwn(properties, k) || !same(v, vault.properties[k]))
        .map(([k, v]) => [k, toWire(v)]),
    ),
  };
  if (!same(changed.tags, tags)) patch.tags = tagsAsText(changed.tags);
  return patch;
}

/** az's --resource-type of keyvault list and list-deleted (list_vault_or_hsm): vault, hsm, or none for both; compared exactly. */
function resourceTypeOf(type: string | undefined): 'vault' | 'hsm' | undefined {
  if (type === undefined || type === 'vault' || type === 'hsm') return type;
  throw new CliError(`Unsupported resource type: ${type}`);
}

export function registerKeyvaultCommands(program: Command): Command {
  const kv = program.command('keyvault').description('Manage key vaults and their secrets.');

  withNoWait(withVaultSettings(withOutput(kv.command('create').description('Create a key vault.'))))
    .option('-n, --name <name>', 'vault name (3-24 characters: letters, digits, hyphens)')
    .option('--hsm-name <name>', "a managed HSM's name, as az takes it: coffer serves no managed HSMs")
    .option('--administrators <object-ids...>', "a managed HSM's administrators (with --hsm-name)")
    .requiredOption('-g, --resource-group <group>', 'resource group')
    .option('-l, --location <location>', 'location (default: the resource group\'s)')
    .option('--sku <sku>', 'standard or premium', 'standard')
    .option('--retention-days <days>', 'soft-delete retention, 7 to 90', '90')
    .option('--enable-purge-protection [bool]', 'enable purge protection (irreversible)')
    .option('--enable-rbac-authorization [bool]', 'use Azure RBAC for data-plane access', true)
    // az's three-state flag, not commander's negation of a --self-perms (which would read `--no-self-perms true` as false).
    .addOption(Object.assign(new Option('--no-self-perms [bool]', 'with access policies: no policy for the creator'), { negate: false, attributeName: () => 'noSelfPerms' }))
    .option(TAGS_OPTION, 'space-separated tags: key[=value]')
    .option('--network-acls <json>', 'network rules: a JSON string or a JSON file\'s path, {"ip": [IP or CIDR, ...], "vnet": [VNET/SUBNET or subnet id, ...]}')
    .option('--network-acls-ips [ips...]', 'network rules: IP addresses or CIDR ranges to allow')
    .option('--network-acls-vnets [vnets...]', 'network rules: subnets to allow, as VNET/SUBNET or a subnet id (kept; coffer sees no virtual networks)')
    .addHelpText('after', '\nExamples:\n  coffer keyvault create --name my-vault --resource-group my-rg')
    .action(
      run<CreateOptions>(async (o, s) => {
        if (o.hsmName !== undefined) throw new CliError(o.administrators ? "coffer serves no managed HSMs: create a vault with --name instead of --hsm-name" : 'Please specify --administrators');
        // Without -l, az's validator reads the group's location: its failure is a validator's, exit 2. With -l, az
        // does not look the group up, and a missing one is the vault PUT's 404 (exit 3).
        const location =
          o.location ??
          (
            await s.call<{ location: string }>('GET', `${vaultsBase(s)}/resourcegroups/${encodeURIComponent(o.resourceGroup)}?api-version=${API.resources}`, s.managementResource).catch((err: unknown) => {
              throw err instanceof CliError ? new CliError(err.message, err.code, 2, err.details, err.showCode) : err;
            })
          ).location;
        // As az does: a PUT would replace the vault, its access policies and its model with the defaults.
        if (await exists(s, vaultUrl(s, o.resourceGroup, o.name))) throw new CliError(`The specified vault: ${o.name} already exists`);
        // Before the creator's object id is looked up, as in az's create_vault.
        const networkAclsSet = createNetworkAcls(o, s.profile.subscriptionId);
        const rbac = o.enableRbacAuthorization;
        const noSelfPerms = o.noSelfPerms === true;
        // Like az: with the access-policy model the creator gets full rights to the vault's objects, unless --no-self-perms.
        const accessPolicies =
          rbac || noSelfPerms
            ? []
            : [{ tenantId: s.profile.tenantId, objectId: await s.objectId(), permissions: { keys: ['all'], secrets: ['all'], certificates: ['all'], storage: ['all'] } }];
        const properties: Record<string, unknown> = {
          tenantId: s.profile.tenantId,
          sku: { family: 'A', name: o.sku },
          // After the creator's object id is looked up, as in az's create_vault.
          softDeleteRetentionInDays: retentionDays(o.retentionDays),
          enableRbacAuthorization: rbac,
          // az's create always sends a network rule set (_create_network_rule_set: its defaults unless given), so the vault shows one.
          networkAcls: networkAclsSet,
          accessPolicies,
        };
        Object.assign(properties, settingProperties(o));
        // Sent as given, false too, which Azure (and coffer) refuse: BadRequest "cannot be set to false".
        if (o.enablePurgeProtection !== undefined) properties.enablePurgeProtection = o.enablePurgeProtection;
        const created = await s.call('PUT', vaultUrl(s, o.resourceGroup, o.name), s.managementResource, { location, tags: parseTags(o.tags) ?? {}, properties });
        return noWait(o) ? undefined : asVault(created);
      }, undefined, (o) => vaultOrHsm(o.name, o.hsmName, '--vault-name')),
    );

  withOutput(kv.command('show').description('Show a key vault.'))
    .option('-n, --name <name>', 'vault name')
    .option('--hsm-name <name>', "a managed HSM's name, as az takes it: coffer serves none, so it is not found")
    .option('-g, --resource-group <group>', 'resource group')
    .action(
      run<{ name?: string; hsmName?: string; resourceGroup?: string }>(
        async (o, s) => {
          // az looks a managed HSM up in the subscription's resources: there are none.
          if (o.hsmName !== undefined) throw new CliError(`The HSM '${o.hsmName}' not found within subscription.`);
          // az 2.45's show takes a vault or a managed HSM; its validator asks for one of them (exit 1).
          if (!o.name) throw new CliError('Please specify --vault-name or --hsm-name.');
          return asVault(await findVault(s, o.name, o.resourceGroup));
        },
        undefined,
        (o) => vaultOrHsm(o.name, o.hsmName, '--name/-n'),
      ),
    );

  withOutput(kv.command('list').description('List key vaults.'))
    .option('-g, --resource-group <group>', 'resource group')
    .option('--resource-type <type>', 'vault or hsm; without it, vaults and managed HSMs (coffer serves none)')
    .action(
      run<{ resourceGroup?: string; resourceType?: string }>(async (o, s) => {
        const type = resourceTypeOf(o.resourceType);
        if (type === 'hsm') return [];
        // As az's list_vault: with -g, the group's vaults (Vault models); without, VaultsOperations.list,
        // which reads the generic resource listing, so each vault is only its id, name, type, location and tags.
        const listed = o.resourceGroup
          ? armList(s, `${vaultsBase(s)}/resourceGroups/${encodeURIComponent(o.resourceGroup)}/providers/Microsoft.KeyVault/vaults?api-version=${API.arm}`).then((l) => l.map(asVault))
          : armList(s, `${vaultsBase(s)}/resources?$filter=${encodeURIComponent("resourceType eq 'Microsoft.KeyVault/vaults'")}&api-version=${API.resources}`).then((l) => l.map(asResource));
        // az's list_vault_or_hsm lists under a bare `except: pass`: a group that does not exist, or any refused
        // list, gives an empty list. Only without --resource-type (`--resource-type vault` reports it), and only
        // answers are swallowed here, not lost connections.
        return listed.catch((err: unknown) => {
          if (type === undefined && err instanceof CliError && err.code !== undefined) return [];
          throw err;
        });
      }),
    );

  withGenericUpdate(withNoWait(withVaultSettings(withOutput(kv.command('update').description('Update a key vault.')))))
    .requiredOption('-n, --name <name>', 'vault name')
    .option('-g, --resource-group <group>', 'resource group')
    // az's three-state flags: bare is true, or an explicit true/false.
    .option('--enable-rbac-authorization [bool]', 'use Azure RBAC (bare or true) or access policies (false)')
    .option('--enable-purge-protection [bool]', 'enable purge protection (bare or true; irreversible)')
    .option('--retention-days <days>', 'soft-delete retention, 7 to 90')
    .action(
      run<UpdateOptions>(async (o, s) => {
        const vault = await findVault(s, o.name, o.resourceGroup);
        const updated = await s.call('PATCH', `${s.profile.server}${vault.id}?api-version=${API.arm}`, s.managementResource, vaultPatch(o, vault, s.warn));
        return noWait(o) ? undefined : asVault(updated);
      }),
    );

  withNoWait(withOutput(kv.command('delete').description('Delete a key vault (soft delete when enabled).')))
    .requiredOption('-n, --name <name>', 'vault name')
    .option('-g, --resource-group <group>', 'resource group')
    .action(
      run<{ name: string; resourceGroup?: string }>(async (o, s) => {
        // az's validator prints this before looking the vault up, with print(): --only-show-errors keeps it.
        process.stderr.write(`${SOFT_DELETE_WARNING}\n`);
        // With -g, az sends the DELETE at once: a vault that is not there is a 204, and no error.
        const url = o.resourceGroup ? vaultUrl(s, o.resourceGroup, o.name) : `${s.profile.server}${(await findVault(s, o.name)).id}?api-version=${API.arm}`;
        await s.call('DELETE', url, s.managementResource);
        return undefined;
      }),
    );
  withOutput(kv.command('list-deleted').description('List soft-deleted vaults.'))
    .option('--resource-type <type>', 'vault or hsm; without it, vaults and managed HSMs (coffer serves none)')
    .action(
      run<{ resourceType?: string }>(async (o, s) =>
        resourceTypeOf(o.resourceType) === 'hsm'
          ? []
          : (await armList(s, `${vaultsBase(s)}/providers/Microsoft.KeyVault/deletedVaults?api-version=${API.arm}`)).map(asDeletedVault),
      ),
    );

  withOutput(kv.command('show-deleted').description('Show a soft-deleted vault.'))
    .requiredOption('-n, --name <name>', 'vault name')
    .option('-l, --location <location>', 'location of the deleted vault')
    .action(run<{ name: string; location?: string }>(async (o, s) => asDeletedVault(await deletedVault(s, o.name, o.location))));

  withNoWait(withOutput(kv.command('recover').description('Recover a soft-deleted vault.')))
    .requiredOption('-n, --name <name>', 'vault name')
    .option('-g, --resource-group <group>', "resource group of the deleted vault (it can only be the vault's own)")
    .option('-l, --location <location>', 'location of the deleted vault')
    .action(
      run<{ name: string; resourceGroup?: string; location?: string }>(async (o, s) => {
        const deleted = await deletedVault(s, o.name, o.location);
        const rg = /\/resourceGroups\/([^/]+)\//i.exec(deleted.properties.vaultId)?.[1] ?? '';
        // az's validate_deleted_vault_or_hsm_name: a vault is recovered into its own group, compared exactly.
        if (o.resourceGroup && o.resourceGroup !== rg) {
          throw new CliError(`The specified resource group does not match that of the deleted vault or hsm ${o.name}. The vault or hsm must be recovered to the original resource group ${rg}.`);
        }
        const recovered = await s.call('PUT', vaultUrl(s, rg, o.name), s.managementResource, {
          location: deleted.properties.location,
          properties: { tenantId: s.profile.tenantId, sku: { family: 'A', name: 'standard' }, createMode: 'recover' },
        });
        return noWait(o) ? undefined : asVault(recovered);
      }),
    );

  withNoWait(withOutput(kv.command('purge').description('Permanently delete a soft-deleted vault.')))
    .requiredOption('-n, --name <name>', 'vault name')
    .option('-l, --location <location>', 'location of the deleted vault')
    .action(
      run<{ name: string; location?: string }>(async (o, s) => {
        const deleted = await deletedVault(s, o.name, o.location);
        await s.call('POST', `${vaultsBase(s)}/providers/Microsoft.KeyVault/locations/${deleted.properties.location}/deletedVaults/${encodeURIComponent(o.name)}/purge?api-version=${API.arm}`, s.managementResource);
        return undefined;
      }),
    );
  return kv;
}

/**
 * The deleted vault, found as az's validate_deleted_vault_or_hsm_name finds
 * it (for show-deleted, recover and purge): by location, where an error from
 * the service exits 2 (az raises it in a validator); else by name in the
 * list, with az's message (exit 1) when none has it.
 */
async function deletedVault(s: Session, name: string, location?: string) {
  type Deleted = { name: string; properties: { vaultId: string; location: string } };
  if (location) {
    return s.call<Deleted>('GET', `${vaultsBase(s)}/providers/Microsoft.KeyVault/locations/${location}/deletedVaults/${encodeURIComponent(name)}?api-version=${API.arm}`, s.managementResource).catch((err: unknown) => {
      throw err instanceof CliError ? new CliError(err.message, err.code, 2, err.details, err.showCode) : err;
    });
  }
  const all = await armList<Deleted>(s, `${vaultsBase(s)}/providers/Microsoft.KeyVault/deletedVaults?api-version=${API.arm}`);
  const hit = all.find((v) => v.name.toLowerCase() === name.toLowerCase());
  if (!hit) throw new CliError(`No deleted Vault or HSM was found with name ${name}`);
  return hit;
}
