import type { Command, Option } from 'commander';
import { BOOL_CHOICES, checkChoice, commandPath } from './choices.js';
import { parseUtc } from './command-kit.js';
import { OUTPUT_FORMATS } from './output.js';
import { pyRepr } from './table-format.js';
import { CliError } from './cli-error.js';
import { fileOrDict } from './file-or-dict.js';
import { storeLastOccurrence } from './nargs.js';

// az's argument types, checked as argparse checks them: while the command
// line is read, left to right, so the first bad value is the one reported,
// before any required-argument check and before the login is loaded. Each
// option says its type in its declaration, and this pass gives it the parser:
// - `[bool]` (az's get_three_state_flag): true or false in any case, a
//   boolean; bare, true (commander's own preset).
// - `.choices([...])` (az's get_enum_type): the choice's spelling, or az's
//   error (choices.ts); a variadic option checks each value.
// - --output (knack's, type=str.lower): lower-cased, then one of its formats.
// - `<datetime>` (keyvault's datetime_type): the UTC seconds (command-kit.ts).
// - `<int>` (argparse's type=int: --maxresults, --years): Python's int().
// - `<json>` (az's validate_file_or_dict: keyvault create's --network-acls): a JSON file or JSON text (file-or-dict.ts).

// The spaces Python's int() strips: ASCII's six and Unicode's others (not JavaScript's \s, which has U+FEFF and lacks U+0085).
const PY_SPACE = '[\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
// int(text): spaces around, a sign, decimal digits of any script with single underscores between them.
const PY_INT = new RegExp(`^${PY_SPACE}*([+-]?)(\\p{Nd}(?:_?\\p{Nd})*)${PY_SPACE}*$`, 'u');
const DIGIT = /\p{Nd}/u;
// Python 3.11's int_max_str_digits: a longer number is a ValueError too.
const PY_INT_MAX_DIGITS = 4300;

/** A decimal digit's value: Unicode keeps each script's digits 0 to 9 in one contiguous run. */
function digitValue(ch: string): number {
  const cp = ch.codePointAt(0)!;
  let start = cp;
  while (start > 0 && DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/** Python's int(text) (base 10): the number, or undefined where it raises ValueError. */
export function pyInt(text: string): number | undefined {
  const m = PY_INT.exec(text);
  if (!m) return undefined;
  const digits = Array.from(m[2]!.replaceAll('_', ''));
  if (digits.length > PY_INT_MAX_DIGITS) return undefined;
  const n = Number(digits.map((d) => (/[0-9]/.test(d) ? d : String(digitValue(d)))).join(''));
  // -0 is 0, as in Python.
  return m[1] === '-' && n !== 0 ? -n : n;
}

/** argparse's type=int: the number, or its usage error (exit 2). */
function intArg(flag: string, v: string): number {
  const n = pyInt(v);
  if (n === undefined) throw new CliError(`argument ${flag}: invalid int value: ${pyRepr(v)}`, undefined, 2);
  return n;
}

function parserOf(cmd: Command, option: Option): ((value: string) => unknown) | undefined {
  const flag = option.long ?? option.short ?? option.name();
  const prog = () => commandPath(cmd);
  if (option.long === '--output') return (v) => checkChoice(prog(), flag, v.toLowerCase(), OUTPUT_FORMATS);
  if (option.flags.endsWith(' [bool]')) return (v) => checkChoice(prog(), flag, v, BOOL_CHOICES) === 'true';
  if (option.argChoices) {
    const choices = option.argChoices;
    return (v) => checkChoice(prog(), flag, v, choices);
  }
  if (option.flags.endsWith(' <datetime>')) return (v) => parseUtc(flag, v);
  if (option.flags.endsWith(' <int>')) return (v) => intArg(flag, v);
  if (option.flags.endsWith(' <json>')) return fileOrDict;
  return undefined;
}

/** Gives every option in the tree its az type (after every command is registered). */
export function useAzArgTypes(cmd: Command): void {
  storeLastOccurrence(cmd, (option) => parserOf(cmd, option));
  for (const option of cmd.options) {
    const parse = parserOf(cmd, option);
    if (!parse) continue;
    // commander's variadic options collect their values only when they have no parser of their own.
    option.argParser(option.variadic ? (v: string, previous: unknown) => [...(Array.isArray(previous) && previous !== option.defaultValue ? previous : []), parse(v)] : parse);
  }
  for (const sub of cmd.commands) useAzArgTypes(sub);
}
