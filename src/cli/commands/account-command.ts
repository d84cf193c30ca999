import { Option, type Command } from 'commander';
import { accountView, checkSubscription, listedAccount, profileSubscription } from '../accounts.js';
import { CliError } from '../cli-error.js';
import { withAzNames } from '../abbreviations.js';
import { run, withOutput } from '../command-kit.js';
import { asLocation } from '../output-models.js';
import { checkOutputOptions, print, type OutputOptions } from '../output.js';
import { deleteProfile, readProfile } from '../profile.js';
import { Session } from '../session.js';
import { accountListTable } from '../table-views.js';

// coffer account show | list | set | list-locations | get-access-token, as
// az 2.45's (command_modules/profile/custom.py, core/_profile.py).

/** az 2.45's SubscriptionClient API version (core/profiles/_shared.py, MGMT_RESOURCE_SUBSCRIPTIONS). */
const SUBSCRIPTIONS_API = '2019-11-01';

/** az's --resource-type choices and the cloud endpoint each names; coffer's server is every endpoint it has. */
const RESOURCE_TYPES: Record<string, string | null> = {
  'oss-rdbms': 'ossrdbms_resource_id',
  arm: null,
  'aad-graph': null,
  'ms-graph': null,
  batch: 'batch_resource_id',
  media: 'media_resource_id',
  'data-lake': 'active_directory_data_lake_resource_id',
};

interface SubscriptionOption {
  subscription?: string;
  name?: string;
}

/** Python's datetime.fromtimestamp(t).strftime('%Y-%m-%d %H:%M:%S.%f'): local time, as az prints `expiresOn`. */
function localTimestamp(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`;
}

// One argument in az, which argparse names by all of its strings.
const SUBSCRIPTION_FLAGS = '--subscription/-s/--name/-n';
const withSubscription = (cmd: Command) =>
  cmd
    .addOption(withAzNames(new Option('-s, --subscription <id>', 'name or id of the subscription'), SUBSCRIPTION_FLAGS))
    .addOption(withAzNames(new Option('-n, --name <id>', 'same as --subscription'), SUBSCRIPTION_FLAGS));

export function registerAccountCommands(program: Command): void {
  const account = program.command('account').description('The logged-in account.');

  // az's `account clear`: logout for every account (coffer keeps one), and nothing to clear is no error.
  account
    .command('clear')
    .description('Clear all logged-in accounts and their cached tokens.')
    .action(() => {
      deleteProfile();
    });

  withOutput(withSubscription(account.command('show').description('Show the current account.'))).action(async (opts: OutputOptions & SubscriptionOption) => {
    checkOutputOptions(opts);
    const profile = readProfile();
    if (!profile) throw new CliError("Please run 'coffer login' to setup account.");
    const session = new Session(profile);
    const wanted = opts.subscription ?? opts.name;
    if (wanted !== undefined) await checkSubscription(session, wanted);
    print(accountView(profile, await profileSubscription(session)), opts);
  });

  // Like every `account` command without its own --subscription, az 2.45's `account list` does not take the global one.
  withOutput(account.command('list').description('List the accounts (subscriptions) of the login.'), { subscription: false })
    .option('--all', "also those not in the 'Enabled' state")
    .option('--refresh', 'read the subscriptions from the server again (coffer always does)')
    .action(async (opts: OutputOptions & { onlyShowErrors?: boolean }) => {
      checkOutputOptions(opts);
      const profile = readProfile();
      if (!profile) {
        // az warns and prints an empty list: not an error.
        if (!opts.onlyShowErrors) process.stderr.write('WARNING: Please run "coffer login" to access your accounts.\n');
        print([], opts, accountListTable);
        return;
      }
      print([listedAccount(profile, await profileSubscription(new Session(profile)), true)], opts, accountListTable);
    });

  withSubscription(account.command('set').description('Set the current subscription.')).action(async (opts: SubscriptionOption) => {
    const wanted = opts.subscription ?? opts.name;
    if (wanted === undefined) throw new CliError('the following arguments are required: --subscription/-s/--name/-n', undefined, 2);
    const profile = readProfile();
    // As az's set_active_subscription: the name lower-cased in the message, and "doesn't exist" with no login too.
    const missing = (w: string) => `The subscription of '${w.toLowerCase()}' doesn't exist in cloud 'coffer'.`;
    if (!profile) throw new CliError(missing(wanted));
    // One subscription per server: the one there is stays the default.
    await checkSubscription(new Session(profile), wanted, missing);
  });

  // az 2.45's list_locations takes no argument of its own, and not the global --subscription (`account` ignores it):
  // the login's subscription. One page, as the SDK's pager reads it (it follows no nextLink for locations).
  withOutput(account.command('list-locations').description('List supported regions for the current subscription.'), { subscription: false }).action(
    run(async (_o, s) => {
      const page = await s.call<{ value: unknown[] }>('GET', `${s.profile.server}/subscriptions/${s.profile.subscriptionId}/locations?api-version=${SUBSCRIPTIONS_API}`, s.managementResource);
      return page.value.map(asLocation);
    }),
  );

  withOutput(withSubscription(account.command('get-access-token').description('Get an access token for a resource (default: the management endpoint).')))
    .option('--resource <url>', 'the resource (AAD v1.0 style) to get a token for')
    .option('--scope [scopes...]', 'scopes (AAD v2.0 style); default: the management endpoint')
    .addOption(new Option('--resource-type <type>', 'a well-known resource').choices(Object.keys(RESOURCE_TYPES)))
    .option('-t, --tenant <tenant>', 'tenant to get the token from (no subscription in the answer)')
    .action(async (opts: OutputOptions & SubscriptionOption & { resource?: string; scope?: string[]; resourceType?: string; tenant?: string }) => {
      checkOutputOptions(opts);
      const session = Session.load();
      // az's order: --resource, else the resource type's endpoint; --scope wins over both.
      let resource = opts.resource;
      if (resource === undefined && opts.resourceType !== undefined) {
        const endpoint = RESOURCE_TYPES[opts.resourceType];
        if (endpoint) throw new CliError(`The endpoint '${endpoint}' for this cloud is not set but is used.`);
        resource = `${session.profile.server}/`;
      }
      const scopes = opts.scope?.length ? opts.scope : [`${resource ?? `${session.profile.server}/`}/.default`];
      const wanted = opts.subscription ?? opts.name;
      if (wanted !== undefined && opts.tenant !== undefined) throw new CliError('Please specify only one of subscription and tenant, not both');
      if (wanted !== undefined) await checkSubscription(session, wanted);
      const token = await session.tokenFor(scopes.join(' '), opts.tenant);
      const answer: Record<string, string> = { tokenType: 'Bearer', accessToken: token.token, expiresOn: localTimestamp(token.expiresOn), tenant: opts.tenant ?? session.profile.tenantId };
      if (opts.tenant === undefined) answer.subscription = session.profile.subscriptionId;
      print(answer, opts);
    });
}
