import type { Command } from 'commander';
import { CliError } from './cli-error.js';

// az parses with argparse, which takes any unambiguous prefix of a long
// option (`--vault-n V --na x`). Commander does not, so the command line is
// rewritten first: each `--prefix[=value]` after the command path that is not
// itself an option of the command becomes the one option it abbreviates, and
// an ambiguous prefix is refused as argparse refuses it (exit 2).

export function expandAbbreviations(root: Command, argv: readonly string[]): string[] {
  const out = argv.slice(0, 2);
  let cmd = root;
  let i = 2;
  for (; i < argv.length; i++) {
    const sub = cmd.commands.find((c) => c.name() === argv[i] || c.aliases().includes(argv[i]!));
    if (!sub) break;
    cmd = sub;
    out.push(argv[i]!);
  }
  const longs = [...cmd.options.flatMap((o) => [o.long, o.short?.startsWith('--') ? o.short : undefined]), '--help'].filter((f): f is string => !!f);
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    out.push(arg.startsWith('--') && arg.length > 2 ? expand(arg, longs) : arg);
  }
  return out;
}

function expand(arg: string, longs: string[]): string {
  const eq = arg.indexOf('=');
  const flag = eq < 0 ? arg : arg.slice(0, eq);
  if (longs.includes(flag)) return arg;
  const matches = longs.filter((l) => l.startsWith(flag));
  if (matches.length > 1) throw new CliError(`ambiguous option: ${flag} could match ${matches.join(', ')}`, undefined, 2);
  return matches.length === 1 ? matches[0]! + (eq < 0 ? '' : arg.slice(eq)) : arg;
}
