import type { Command } from 'commander';
import { andFilters, filterQuery, graphList, odataString } from '../graph-query.js';
import { CliError } from '../cli-error.js';
import { run, withOutput } from '../command-kit.js';
import { asShown } from '../graph-errors.js';
import { GUID } from '../principal-lookup.js';
import type { Session } from '../session.js';

// coffer ad group ...: groups through the Graph-shaped API, as az 2.45's
// (role/custom.py and role/_validators.py validate_group).

const groups = (s: Session, path = '') => `${s.profile.server}/v1.0/groups${path}`;

/** az's validate_group: an object id as given; a name by exact display name, else by prefix, and only when one matches. */
async function groupId(s: Session, value: string): Promise<string> {
  if (GUID.test(value)) return value;
  const quoted = odataString(value);
  for (const filter of [`displayName eq '${quoted}'`, `startswith(displayName,'${quoted}')`]) {
    const hits = await graphList<{ id: string }>(s, groups(s, filterQuery(filter)));
    if (hits.length === 1) return hits[0]!.id;
    if (hits.length > 1) throw new CliError(`More than one group match the name of '${value}'`);
  }
  throw new CliError(`No group matches the name of '${value}'`);
}

const GROUP_OPTION = ['-g, --group <group>', "the group's object id or display name"] as const;

export function registerAdGroupCommands(ad: Command): void {
  const group = ad.command('group').description('Groups (their role assignments and access policies apply to their members).');
  withOutput(group.command('create').description('Create a group; one with the same display name and mail nickname is returned instead, as az does.'))
    .requiredOption('--display-name <name>', 'display name')
    .requiredOption('--mail-nickname <nick>', 'mail nickname')
    .option('--description <text>', 'group description')
    .option('--force [bool]', 'create a new group even if one with the same display name and mail nickname exists (bare or true)')
    .action(
      run<{ displayName: string; mailNickname: string; description?: string; force?: boolean }>(async (o, s) => {
        // az's create_group: its names go into the filter as given.
        if (!o.force) {
          const filter = `displayName eq '${o.displayName}' and mailNickname eq '${o.mailNickname}'`;
          const matches = await graphList<{ id: string }>(s, groups(s, filterQuery(filter)));
          if (matches.length > 1) {
            throw new CliError(`There is more than one group with the same display and nick names: "${matches.map((m) => m.id).join(', ')}". Please delete them first.`);
          }
          if (matches.length === 1) {
            s.warn('A group with the same display name and mail nickname already exists, returning.');
            return matches[0];
          }
        }
        const body = { displayName: o.displayName, mailNickname: o.mailNickname, mailEnabled: false, securityEnabled: true, ...(o.description === undefined ? {} : { description: o.description }) };
        return s.call('POST', groups(s), s.managementResource, body);
      }),
    );
  withOutput(group.command('list').description('List groups.'))
    .option('--display-name <name>', 'only those whose display name starts with this')
    .option('--filter <odata>', "an OData filter, e.g. \"displayName eq 'x'\"")
    .action(
      run<{ displayName?: string; filter?: string }>(async (o, s) => {
        // az's list_groups: the filters joined by "and".
        const filter = andFilters([o.filter, o.displayName && `startswith(displayName,'${odataString(o.displayName)}')`]);
        return graphList(s, groups(s, filterQuery(filter)));
      }),
    );
  withOutput(group.command('show').description('Show a group.'))
    .requiredOption(...GROUP_OPTION)
    .action(run<{ group: string }>(async (o, s) => asShown(s.call('GET', groups(s, `/${await groupId(s, o.group)}`), s.managementResource))));
  withOutput(group.command('delete').description('Delete a group (its role assignments go with it).'))
    .requiredOption(...GROUP_OPTION)
    .action(
      run<{ group: string }>(async (o, s) => {
        await s.call('DELETE', groups(s, `/${await groupId(s, o.group)}`), s.managementResource);
        return undefined;
      }),
    );

  const member = group.command('member').description('Group members.');
  withOutput(member.command('add').description('Add a member to a group.'))
    .requiredOption(...GROUP_OPTION)
    .requiredOption('--member-id <id>', 'object id of the user, group or service principal to add')
    .action(
      run<{ group: string; memberId: string }>(async (o, s) => {
        await s.call('POST', groups(s, `/${await groupId(s, o.group)}/members/$ref`), s.managementResource, { '@odata.id': `${s.profile.server}/v1.0/directoryObjects/${o.memberId}` });
        return undefined;
      }),
    );
  withOutput(member.command('remove').description('Remove a member from a group.'))
    .requiredOption(...GROUP_OPTION)
    .requiredOption('--member-id <id>', 'object id of the member to remove')
    .action(
      run<{ group: string; memberId: string }>(async (o, s) => {
        await s.call('DELETE', groups(s, `/${await groupId(s, o.group)}/members/${encodeURIComponent(o.memberId)}/$ref`), s.managementResource);
        return undefined;
      }),
    );
  withOutput(member.command('check').description('Check whether an object is a member of a group (directly or through other groups).'))
    .requiredOption(...GROUP_OPTION)
    .requiredOption('--member-id <id>', 'object id of the user, group or service principal')
    .action(
      run<{ group: string; memberId: string }>(async (o, s) => {
        // As az's check_group_membership: Graph's checkMemberGroups, asked of the member.
        const group = await groupId(s, o.group);
        const answer = await s.call<{ value: string[] }>('POST', `${s.profile.server}/v1.0/directoryObjects/${encodeURIComponent(o.memberId)}/checkMemberGroups`, s.managementResource, { groupIds: [group] });
        return { value: answer.value.includes(group) };
      }),
    );
  withOutput(member.command('list').description("List a group's members."))
    .requiredOption(...GROUP_OPTION)
    .action(run<{ group: string }>(async (o, s) => graphList(s, groups(s, `/${await groupId(s, o.group)}/members`))));
}
