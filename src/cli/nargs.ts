import type { Command, Option } from 'commander';
import { looksLikeOption } from './abbreviations.js';

// az's options of several values are argparse's nargs='*' (--tags, --network-acls-ips, --ip-address, the
// set-policy permissions, get-access-token's --scope: none at all is an empty list) or nargs='+' (--ids,
// --scopes: at least one). argparse's default action stores them: each occurrence replaces what an earlier
// one gave (`--ip-address a --ip-address b` is [b]), where commander would collect both. az's generic
// update arguments (--set, --add, --remove) are the exception: their action appends (generic-update.ts).

const APPENDING = new Set(['--set', '--add', '--remove']);

/** The values of the last occurrence of `option` in `args`, as argparse takes them greedily; undefined when absent. */
export function lastValues(option: Option, args: readonly string[]): string[] | undefined {
  let values: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (flag !== option.long && flag !== option.short) continue;
    if (eq > 0) {
      values = [arg.slice(eq + 1)];
      continue;
    }
    values = [];
    while (i + 1 < args.length && args[i + 1] !== '--' && !looksLikeOption(args[i + 1]!)) values.push(args[++i]!);
  }
  return values;
}

/** Makes each variadic option of `cmd` (but --set, --add and --remove) hold its last occurrence's values, each through `parse`. */
export function storeLastOccurrence(cmd: Command, parserOf: (option: Option) => ((v: string) => unknown) | undefined): void {
  const variadic = cmd.options.filter((o) => o.variadic && !APPENDING.has(o.long ?? ''));
  if (variadic.length === 0) return;
  const parseOptions = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args) => {
    const parsed = parseOptions(args);
    for (const option of variadic) {
      const values = lastValues(option, args);
      const parse = parserOf(option) ?? ((v: string) => v);
      if (values !== undefined) cmd.setOptionValueWithSource(option.attributeName(), values.map(parse), 'cli');
    }
    return parsed;
  };
}
