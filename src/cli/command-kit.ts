import type { Command } from 'commander';
import { addResourceGroup, checkOutputOptions, print, type OutputOptions, type TableView } from './output.js';
import { CliError, usage } from './cli-error.js';
import { Session } from './session.js';
import { checkSubscription } from './accounts.js';

// Shared bits of every CLI command: az's global output options and a runner
// that loads the session and prints the result.

export const API = {
  arm: '2023-07-01',
  resources: '2021-04-01',
  // az 2.45's secret commands use the track-1 SDK's API version: the server answers as it would them.
  secrets: '7.0',
} as const;

export function withOutput(cmd: Command): Command {
  // az's global --subscription (the account commands have their own -s form).
  const hasSubscription = cmd.options.some((o) => o.long === '--subscription');
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
export function run<O>(action: Action<O & OutputOptions & LogOptions>, table?: TableView) {
  return async (opts: O & OutputOptions & LogOptions) => {
    checkOutputOptions(opts);
    const session = Session.load();
    // Requests are logged as method, URL and status only: never headers or bodies.
    if (opts.debug || opts.verbose) session.log = (line) => process.stderr.write(`${opts.debug ? 'DEBUG' : 'INFO'}: ${line}\n`);
    if (opts.onlyShowErrors) session.warn = () => {};
    // az's --subscription: the login's, by id or name; another is not found (exit 1).
    if (opts.subscription !== undefined) await checkSubscription(session, opts.subscription);
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


/**
 * A boolean flag as az reads it: a bare flag is true, `true`/`false` in any
 * case are themselves, and anything else is refused (before, `True` or
 * `yes` silently meant false, and could switch a vault's permission model).
 */
export function parseBool(flag: string, v: string | boolean | undefined): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  const lower = v.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw usage(`${flag} must be true or false, not '${v}'`);
}

/**
 * A date and time for --expires/--not-before, in seconds: ISO 8601, read as
 * UTC when no zone is given (as the help says). Refused when it does not
 * parse: sent on as null, it would have cleared the attribute.
 */
export function parseUtc(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  // az's datetime_type also takes the hour alone (2027-01-01T05Z), which JavaScript's Date does not parse.
  const hourOnly = /^(\d{4}-\d{2}-\d{2}T\d{2})Z$/i.exec(v);
  if (hourOnly) v = `${hourOnly[1]}:00Z`;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(v) || !/T|\d:\d/.test(v) ? v : `${v}Z`;
  const t = /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(zoned) : NaN;
  if (!Number.isFinite(t)) throw usage(`${flag} must be an ISO 8601 date and time such as 2027-12-31T00:00:00Z, not '${v}'`);
  return Math.floor(t / 1000);
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
