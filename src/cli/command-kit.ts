import type { Command } from 'commander';
import { addResourceGroup, checkOutputOptions, print, type OutputOptions, type TableView } from './output.js';
import { CliError } from './cli-error.js';
import { pyRepr } from './table-format.js';
import { Session } from './session.js';
import { checkSubscription, subscriptionNotFound } from './accounts.js';
import { statusNotices } from './status-notices.js';

// Shared bits of every CLI command: az's global output options and a runner
// that loads the session and prints the result.

export const API = {
  arm: '2023-07-01',
  resources: '2021-04-01',
  // az 2.45's secret commands use the track-1 SDK's API version: the server answers as it would them.
  secrets: '7.0',
} as const;

/** `subscription: false`: a command whose az form ignores the global --subscription (as `account list-locations`). */
export function withOutput(cmd: Command, { subscription = true }: { subscription?: boolean } = {}): Command {
  // az's global --subscription (the account commands have their own -s form).
  const hasSubscription = !subscription || cmd.options.some((o) => o.long === '--subscription');
  cmd
    .option('-o, --output <format>', 'output format: json, jsonc, table, tsv, yaml, none')
    .option('--query <jmespath>', 'JMESPath query string applied to the output')
    .option('--only-show-errors', 'only show errors, suppressing warnings')
    .option('--verbose', 'increase logging verbosity')
    .option('--debug', 'show all debug logs (never secret values or tokens)');
  return hasSubscription ? cmd : cmd.option('--subscription <id>', "name or id of the subscription (a coffer deployment has one: the login's)");
}

/**
 * az's --no-wait (commands with supports_no_wait): the request is sent and,
 * as az does then, nothing is printed. coffer's management operations are
 * done when they answer, so there is nothing left to wait for.
 */
export const withNoWait = (cmd: Command): Command => cmd.option('--no-wait', 'do not wait for the operation to finish: print nothing');
/** Whether --no-wait was given (commander sets `wait` false). */
export const noWait = (o: object): boolean => (o as { wait?: unknown }).wait === false;

/** Whether a management GET of `url` finds something: its not-found (exit 3) is false, any other error stays one. */
export const exists = (s: Session, url: string): Promise<boolean> =>
  s.call('GET', url, s.managementResource).then(
    () => true,
    (err: unknown) => {
      if (err instanceof CliError && err.exitCode === 3) return false;
      throw err;
    },
  );

export type Action<O> = (opts: O, session: Session) => Promise<unknown>;

export interface LogOptions {
  verbose?: boolean;
  debug?: boolean;
  onlyShowErrors?: boolean;
  subscription?: string;
}

/** Runs an action with the logged-in session and prints its answer (`table`: az's table view of it, if it has one). */
export function run<O>(action: Action<O & OutputOptions & LogOptions>, table?: TableView, beforeLogin?: (opts: O) => void) {
  return async (opts: O & OutputOptions & LogOptions, cmd?: Command) => {
    checkOutputOptions(opts);
    // As az: the deprecated and preview arguments' notices, before the login is loaded (status-notices.ts).
    if (cmd && !opts.onlyShowErrors) for (const line of statusNotices(cmd)) process.stderr.write(`WARNING: ${line}\n`);
    // az's argument validators that need no login run before it is loaded (a signed-out user sees their errors).
    beforeLogin?.(opts);
    const session = Session.load();
    // Requests are logged as method, URL and status only: never headers or bodies.
    if (opts.debug || opts.verbose) session.log = (line) => process.stderr.write(`${opts.debug ? 'DEBUG' : 'INFO'}: ${line}\n`);
    if (opts.onlyShowErrors) session.warn = () => {};
    // az's --subscription: the login's, by id or name; another draws az's warning as it reads the argument, then is not found (exit 1).
    if (opts.subscription !== undefined) {
      await checkSubscription(session, opts.subscription, (wanted) => {
        session.warn(`Subscription '${wanted}' not recognized.`);
        return subscriptionNotFound(wanted);
      });
    }
    const result = await action(opts, session);
    // As az does for every command's result, before --query.
    addResourceGroup(result);
    if (result !== undefined) print(result, opts, table);
  };
}

/** Shows progress on a terminal only (never in pipes or tests). */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${message}`);
}


// az's keyvault datetime_type (keyvault/_validators.py): Python's strptime with
// these formats, tried in turn; a naive datetime, which the SDK sends as UTC.
// strptime's fields (case-insensitive, one or two digits but the year, %d
// also ' 3') and its check that the whole text was read.
const Y = '(\\d{4})';
const m = '(1[0-2]|0[1-9]|[1-9])';
const d = '(3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])';
const H = '(2[0-3]|[0-1]\\d|\\d)';
const M = '([0-5]\\d|\\d)';
const S = '(6[0-1]|[0-5]\\d|\\d)';
const DATETIME_FORMATS = [`${Y}-${m}-${d}T${H}:${M}:${S}Z`, `${Y}-${m}-${d}T${H}:${M}Z`, `${Y}-${m}-${d}T${H}Z`, `${Y}-${m}-${d}`].map((f) => new RegExp(f, 'iy'));

/** The UTC seconds of one of az's datetime_type forms, or undefined (strptime's ValueError, and datetime's for a day, hour or second out of range). */
function azDatetime(v: string): number | undefined {
  for (const format of DATETIME_FORMATS) {
    format.lastIndex = 0;
    const match = format.exec(v);
    // strptime matches from the start, then refuses "unconverted data" left after it.
    if (!match || match[0].length !== v.length) continue;
    const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1).map(Number) as number[];
    const date = new Date(0);
    date.setUTCFullYear(year!, month! - 1, day);
    date.setUTCHours(hour, minute, second);
    // datetime() refuses year 0, 31 February and the seconds 60 and 61 that strptime's pattern lets through.
    if (year === 0 || date.getUTCDate() !== day || second > 59) continue;
    return Math.floor(date.getTime() / 1000);
  }
  return undefined;
}

/** --expires/--not-before's help: az's forms. */
export const DATETIME_HELP = (what: string) => `${what}, UTC: 2027-12-31T23:59:59Z, 2027-12-31T23:59Z, 2027-12-31T23Z or 2027-12-31`;

/**
 * --expires/--not-before as az 2.45 reads them (datetime_type): to the
 * second, minute or hour with a Z (2027-12-31T23:59:59Z, 2027-12-31T23:59Z,
 * 2027-12-31T23Z), or a date (2027-12-31), all UTC; in seconds. Anything
 * else (a zone offset, fractions, a time without Z) is argparse's usage
 * error, exit 2; sent on as null, it would have cleared the attribute.
 */
export function parseUtc(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = azDatetime(v);
  if (t === undefined) throw new CliError(`argument ${flag}: invalid datetime_type value: ${pyRepr(v)}`, undefined, 2);
  return t;
}

/** The option for az's --tags: zero or more values, so a bare --tags never takes the next option. */
export const TAGS_OPTION = '--tags [tags...]';

/**
 * az's validate_tags: `key[=value]` items, split at the first '=' (`k=a=b`
 * is {k: 'a=b'}, `solo` is {solo: ''}); an empty item adds nothing, so
 * `--tags ""` or a bare `--tags` is {} (clears the tags where it replaces them).
 */
export const parseTags = (tags: string[] | boolean | undefined): Record<string, string> | undefined =>
  tags === undefined || tags === false
    ? undefined
    : Object.fromEntries(
        (tags === true ? [] : tags)
          .filter((t) => t !== '')
          .map((t) => {
            const eq = t.indexOf('=');
            return eq < 0 ? [t, ''] : [t.slice(0, eq), t.slice(eq + 1)];
          }),
      );
