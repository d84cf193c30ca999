import type { Command } from 'commander';
import { print, type OutputOptions } from './output.js';
import { Session } from './session.js';

// Shared bits of every CLI command: az's global output options and a runner
// that loads the session and prints the result.

export const API = {
  arm: '2023-07-01',
  resources: '2021-04-01',
  secrets: '7.6',
} as const;

export function withOutput(cmd: Command): Command {
  return cmd
    .option('-o, --output <format>', 'output format: json, jsonc, table, tsv, yaml, none')
    .option('--query <jmespath>', 'JMESPath query string applied to the output')
    .option('--only-show-errors', 'only show errors, suppressing warnings')
    .option('--verbose', 'increase logging verbosity')
    .option('--debug', 'show all debug logs (never secret values or tokens)');
}

export type Action<O> = (opts: O, session: Session) => Promise<unknown>;

/** Runs an action with the logged-in session and prints its answer. */
export function run<O>(action: Action<O & OutputOptions>) {
  return async (opts: O & OutputOptions) => {
    const result = await action(opts, Session.load());
    if (result !== undefined) print(result, opts);
  };
}

export const parseTags = (tags: string[] | undefined): Record<string, string> | undefined =>
  tags === undefined
    ? undefined
    : Object.fromEntries(
        tags.map((t) => {
          const eq = t.indexOf('=');
          return eq < 0 ? [t, ''] : [t.slice(0, eq), t.slice(eq + 1)];
        }),
      );
