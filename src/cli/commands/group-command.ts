import { confirmed } from '../prompt.js';
import { Option, type Command } from 'commander';
import { withAzNames } from '../abbreviations.js';
import { groupListTable } from '../table-views.js';
import { CliError } from '../cli-error.js';
import { API, exists, parseTags, run, TAGS_OPTION, withOutput } from '../command-kit.js';
import { asResourceGroup } from '../output-models.js';
import { applyGenericUpdate, refuseDeprecatedAddRemove, tagsAsText, withGenericUpdate, type GenericUpdateOptions } from '../generic-update.js';
import { GROUP_MODELS } from '../arm-models.js';
import type { Session } from '../session.js';
import { armList } from '../arm-list.js';

export const groupUrl = (s: Session, name: string) =>
  `${s.profile.server}/subscriptions/${s.profile.subscriptionId}/resourcegroups/${encodeURIComponent(name)}?api-version=${API.resources}`;

/**
 * az takes a group's name as -n/--name or -g/--resource-group, one argument: the last one given wins. argparse
 * names it by its strings in az's order, which `group create` registers differently.
 */
function withGroupName(cmd: Command, azNames = '--name/-n/--resource-group/-g'): Command {
  cmd
    .addOption(withAzNames(new Option('-n, --name <name>', 'resource group name'), azNames))
    .addOption(withAzNames(new Option('-g, --resource-group <name>', 'resource group name (same as --name)'), azNames));
  for (const flag of ['name', 'resource-group']) cmd.on(`option:${flag}`, (value: string) => cmd.setOptionValue('groupName', value));
  return cmd;
}
function groupName(o: { groupName?: string }): string {
  const name = o.groupName;
  if (!name) throw new CliError('the following arguments are required: --name/--resource-group/-n/-g', undefined, 2);
  return name;
}

/** Printed as az prints its ResourceGroup model (asResourceGroup: managedBy null when unset). */
export function registerGroupCommands(program: Command): void {
  const group = program.command('group').description('Manage resource groups.');
  withGroupName(withOutput(group.command('create').description('Create a resource group (or update its tags).')), '--name/--resource-group/-n/-g')
    .requiredOption('-l, --location <location>', 'location, e.g. local')
    .option(TAGS_OPTION, 'space-separated tags: key[=value]; "" clears them')
    .action(
      run<{ groupName?: string; location: string; tags?: string[] | boolean }>(async (o, s) =>
        asResourceGroup(await s.call('PUT', groupUrl(s, groupName(o)), s.managementResource, { location: o.location, tags: parseTags(o.tags) ?? {} })),
      ),
    );
  withGroupName(withOutput(group.command('show').description('Show a resource group.'))).action(
    run<{ groupName?: string }>(async (o, s) => asResourceGroup(await s.call('GET', groupUrl(s, groupName(o)), s.managementResource))),
  );
  // az's generic update: the group read, its tags changed (given: replaced; "" clears them), and put back whole.
  // Its --add and --remove are hidden, as az hides them (deprecated, and refused: refuseDeprecatedAddRemove).
  const update = withGenericUpdate(withGroupName(withOutput(group.command('update').description("Update a resource group's tags."))));
  for (const option of update.options) if (option.long === '--add' || option.long === '--remove') option.hideHelp();
  update
    .option(TAGS_OPTION, 'space-separated tags: key[=value]; "" clears them')
    .action(
      run<{ groupName?: string; tags?: string[] | boolean } & GenericUpdateOptions>(async (o, s) => {
        refuseDeprecatedAddRemove(o, s.warn);
        const url = groupUrl(s, groupName(o));
        const current = await s.call<{ location: string; tags?: Record<string, string> | null; managedBy?: string } & Record<string, unknown>>('GET', url, s.managementResource);
        // --set/--add/--remove on the group as read with --tags (a group keeps only its location and tags).
        const changed = applyGenericUpdate({ ...current, tags: parseTags(o.tags) ?? current.tags ?? {} }, o, { root: 'ResourceGroup', models: GROUP_MODELS, warn: s.warn });
        return asResourceGroup(await s.call('PUT', url, s.managementResource, { location: current.location, tags: tagsAsText(changed.tags) }));
      }),
    );
  // az's check_existence: true or false, a group that is not there being no error.
  withGroupName(withOutput(group.command('exists').description('Check whether a resource group exists.'))).action(
    run<{ groupName?: string }>(async (o, s) => exists(s, groupUrl(s, groupName(o)))),
  );
  withGroupName(withOutput(group.command('delete').description('Delete a resource group and the vaults in it (soft-deleted where soft delete is on).')))
    .option('-y, --yes', 'do not prompt for confirmation')
    .action(
      run<{ groupName?: string; yes?: boolean }>(async (o, s) => {
        const name = groupName(o);
        if (await confirmed(o.yes, undefined, true)) await s.call('DELETE', groupUrl(s, name), s.managementResource);
        return undefined;
      }),
    );
  withOutput(group.command('list').description('List resource groups.'))
    .option('--tag [tag]', "a single tag in 'key[=value]' format: only the groups that carry it")
    .action(
      run<{ tag?: string | true }>(async (o, s) => {
        const filter = groupTagFilter(o.tag);
        const query = filter === null ? '' : `&$filter=${encodeURIComponent(filter)}`;
        return (await armList(s, `${s.profile.server}/subscriptions/${s.profile.subscriptionId}/resourcegroups?api-version=${API.resources}${query}`)).map(asResourceGroup);
      }, groupListTable),
    );
}

/**
 * az group list's $filter for `--tag key[=value]` (validate_tag, then list_resource_groups): the name, and the value
 * when one is given; none for `--tag` alone or an empty one. Quotes are not escaped, as az does not escape them.
 */
export function groupTagFilter(tag: string | true | undefined): string | null {
  if (tag === undefined || tag === true || tag === '') return null;
  const eq = tag.indexOf('=');
  const [key, value] = eq < 0 ? [tag, ''] : [tag.slice(0, eq), tag.slice(eq + 1)];
  return value === '' ? `tagname eq '${key}'` : `tagname eq '${key}' and tagvalue eq '${value}'`;
}
