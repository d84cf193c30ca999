import type { Command, Option } from 'commander';
import { BOOL_CHOICES, checkChoice, commandPath } from './choices.js';
import { parseUtc } from './command-kit.js';
import { OUTPUT_FORMATS } from './output.js';

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
  return undefined;
}

/** Gives every option in the tree its az type (after every command is registered). */
export function useAzArgTypes(cmd: Command): void {
  for (const option of cmd.options) {
    const parse = parserOf(cmd, option);
    if (!parse) continue;
    // commander's variadic options collect their values only when they have no parser of their own.
    option.argParser(option.variadic ? (v: string, previous: unknown) => [...(Array.isArray(previous) && previous !== option.defaultValue ? previous : []), parse(v)] : parse);
  }
  for (const sub of cmd.commands) useAzArgTypes(sub);
}
