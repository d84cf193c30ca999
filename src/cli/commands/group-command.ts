import type { Command } from 'commander';
import { API, parseTags, run, TAGS_OPTION, withOutput } from '../command-kit.js';
import type { Session } from '../session.js';

export const groupUrl = (s: Session, name: string) =>
  `${s.profile.server}/subscriptions/${s.profile.subscriptionId}/resourcegroups/${encodeURIComponent(name)}?api-version=${API.resources}`;

export function registerGroupCommands(program: Command): void {
  const group = program.command('group').description('Manage resource groups.');
  withOutput(group.command('create').description('Create a resource group (or update its tags).'))
    .requiredOption('-n, --name <name>', 'resource group name')
    .requiredOption('-l, --location <location>', 'location, e.g. local')
    .option(TAGS_OPTION, 'space-separated tags: key[=value]; "" clears them')
    .action(run<{ name: string; location: string; tags?: string[] | boolean }>(async (o, s) => s.call('PUT', groupUrl(s, o.name), s.managementResource, { location: o.location, tags: parseTags(o.tags) ?? {} })));
  withOutput(group.command('show').description('Show a resource group.'))
    .requiredOption('-n, --name <name>', 'resource group name')
    .action(run<{ name: string }>(async (o, s) => s.call('GET', groupUrl(s, o.name), s.managementResource)));
  withOutput(group.command('list').description('List resource groups.')).action(
    run(async (_o, s) => (await s.call<{ value: unknown[] }>('GET', `${s.profile.server}/subscriptions/${s.profile.subscriptionId}/resourcegroups?api-version=${API.resources}`, s.managementResource)).value),
  );
}
