import type { Command } from 'commander';
import { andFilters, filterQuery, graphList, odataString as quote } from '../graph-query.js';
import { CliError } from '../cli-error.js';
import { run, withOutput } from '../command-kit.js';
import { asShown } from '../graph-errors.js';
import { GUID } from '../principal-lookup.js';
import type { Session } from '../session.js';
import { graphObjectListTable } from '../table-views.js';
import { registerCredentialCommands } from './ad-credential-command.js';
import { registerFederatedCredentialCommands } from './ad-federated-credential-command.js';

// coffer ad app list | show: Graph's /applications, which coffer serves as a
// view of its service principals (identity/application-routes.ts), read as
// az 2.45's list_applications and show_application read them.

const applications = (s: Session, query = '') => `${s.profile.server}/v1.0/applications${query}`;
const listWhere = async (s: Session, filter: string | null) =>
  graphList<{ id: string }>(s, applications(s, filterQuery(filter)));

/** az's _resolve_application: a GUID is an appId if an application has it, else an object id; anything else an identifier URI. */
async function applicationId(s: Session, identifier: string): Promise<string> {
  if (GUID.test(identifier)) return (await listWhere(s, `appId eq '${quote(identifier)}'`))[0]?.id ?? identifier;
  const hit = (await listWhere(s, `identifierUris/any(s:s eq '${quote(identifier)}')`))[0];
  if (!hit) throw new CliError(`Application with identifier URI '${identifier}' doesn't exist`, undefined, 3);
  return hit.id;
}

export function registerAdAppCommands(ad: Command): void {
  const app = ad.command('app').description('Applications (a view of the service principals: coffer keeps one object for both).');
  withOutput(app.command('list').description('List applications (the first 100 without a filter or --all, as az).'))
    .option('--display-name <name>', 'only those whose display name starts with this')
    .option('--app-id <id>', 'only the one with this appId')
    .option('--identifier-uri <uri>', 'only those with this identifier URI (coffer keeps none)')
    .option('--filter <odata>', "an OData filter, e.g. \"displayName eq 'x'\"")
    .option('--all', 'list them all')
    .action(
      run<{ displayName?: string; appId?: string; identifierUri?: string; filter?: string; all?: boolean }>(async (o, s) => {
        // az's list_applications: the filters joined by "and".
        const filter = andFilters([
          o.filter,
          o.appId && `appId eq '${quote(o.appId)}'`,
          o.displayName && `startswith(displayName,'${quote(o.displayName)}')`,
          o.identifierUri && `identifierUris/any(s:s eq '${quote(o.identifierUri)}')`,
        ]);
        const all = await listWhere(s, filter);
        if (filter !== null || o.all) return all;
        if (all.length > 100) s.warn("The result is not complete. You can still use '--all' to get all of them with long latency expected, or provide a filter through command arguments");
        return all.slice(0, 100);
      }, graphObjectListTable),
    );
  withOutput(app.command('show').description('Show an application.'))
    .requiredOption('--id <id>', 'appId, object id or identifier URI')
    .action(run<{ id: string }>(async (o, s) => asShown(s.call('GET', applications(s, `/${encodeURIComponent(await applicationId(s, o.id))}`), s.managementResource))));
  // az exits 3 for a missing object only in `show` commands: here, 1.
  const notShown = (err: unknown) => {
    throw err instanceof CliError && err.exitCode === 3 ? new CliError(err.message, err.code, 1, err.details, err.showCode) : err;
  };
  registerCredentialCommands(app, { collection: 'applications', objectId: (s, id) => applicationId(s, id).then(encodeURIComponent, notShown) }, 'An application');
  registerFederatedCredentialCommands(app, (s, id) => applicationId(s, id).then(encodeURIComponent, notShown));
}
