import type { Command } from 'commander';
import { CliError } from './cli-error.js';
import { closeMatches } from './close-matches.js';

// az 2.45's check of an argument's allowed values (core/parser.py
// AzCliCommandParser._check_value, in place of argparse's "invalid choice"):
//   ERROR: az keyvault secret set-attributes: 'ture' is not a valid value for '--enabled'. Allowed values: true, false.
//   Did you mean 'true' ?
// on stderr, exit 2. The option is named by its first option string (az's
// long form), the value as given; the suggestion is difflib's
// get_close_matches(value, choices, cutoff=0.7)[0], which is case-sensitive
// though the check itself is not (knack's CaseInsensitiveList).

/** az's three-state flags (get_three_state_flag): `true` or `false` in any case; bare is true. */
export const BOOL_CHOICES = ['true', 'false'] as const;

/** The command as argparse's prog names it: `coffer keyvault secret set-attributes`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The choice a value names, in the choice's spelling (any case matches); else az's error for it (exit 2). */
export function checkChoice(prog: string, flag: string, value: string, choices: readonly string[]): string {
  const match = choices.find((c) => c.toLowerCase() === value.toLowerCase());
  if (match !== undefined) return match;
  const suggestion = closeMatches(value, choices, 3, 0.7)[0];
  const message = `${prog}: '${value}' is not a valid value for '${flag}'. Allowed values: ${choices.join(', ')}.`;
  throw new CliError(message, undefined, 2, suggestion === undefined ? undefined : `Did you mean '${suggestion}' ?`);
}
