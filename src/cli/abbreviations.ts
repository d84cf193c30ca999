import type { Command, Option } from 'commander';
import { CliError, QUERY_REFERENCE } from './cli-error.js';

// az parses with argparse, which takes any unambiguous prefix of a long
// option (`--vault-n V --na x`). Commander does not, so the command line is
// rewritten first: each `--prefix[=value]` after the command path that is not
// itself an option of the command becomes the one option it abbreviates, and
// an ambiguous prefix is refused as argparse refuses it (exit 2).
//
// The token after an option that takes a value is that value, never an option
// to expand. argparse refuses a value that looks like an option
// (`--value --desc`: "expected one argument"); commander would store it, so a
// typo would silently become a secret's value. We refuse it as argparse does.

export function expandAbbreviations(root: Command, argv: readonly string[]): string[] {
  const named = commandNamed(root, argv.slice(2));
  const cmd = named.cmd;
  let i = 2 + named.next;
  const out = argv.slice(0, i);
  const own = cmd.options.flatMap((o) => [o.long, o.short?.startsWith('--') ? o.short : undefined]).filter((f): f is string => !!f);
  // In argparse's order, which its ambiguity message follows: -h first, then az's global arguments, then the command's.
  const longs = [...AZ_GLOBALS.filter((g) => g === '--help' || own.includes(g)), ...own.filter((f) => !AZ_GLOBALS.includes(f))];
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    // argparse splits `-n=value` at the '=' when `-n` takes a value; commander would keep '=value' as the value.
    const short = /^(-[^-])=(.*)$/s.exec(arg);
    if (short && valueOption(cmd, short[1]!)) {
      out.push(short[1]!, short[2]!);
      continue;
    }
    const token = arg.startsWith('--') && arg.length > 2 ? expand(arg, longs) : arg;
    out.push(token);
    const needs = valueOption(cmd, token);
    if (!needs) continue;
    const value = argv[i + 1];
    if (value === undefined || looksLikeOption(value)) {
      // An option of several values is argparse's nargs='+' (az's --set, --add, --remove, --ids).
      const flags = flagsOf(needs);
      throw new CliError(`argument ${flags}: expected ${needs.variadic ? 'at least one argument' : 'one argument'}`, undefined, 2, flags.includes('--query') ? QUERY_REFERENCE : undefined);
    }
    out.push(value);
    i++;
  }
  return out;
}

/** The (sub)command the leading tokens name, and the index of the first token past its name. */
export function commandNamed(program: Command, tokens: readonly string[]): { cmd: Command; next: number } {
  let cmd = program;
  let next = 0;
  for (; next < tokens.length; next++) {
    const sub = cmd.commands.find((c) => c.name() === tokens[next] || c.aliases().includes(tokens[next]!));
    if (!sub) break;
    cmd = sub;
  }
  return { cmd, next };
}

/** argparse's help, then the global arguments knack adds before a command's (logging, output, query). */
const AZ_GLOBALS = ['--help', '--verbose', '--debug', '--only-show-errors', '--output', '--query'];

function expand(arg: string, longs: string[]): string {
  const eq = arg.indexOf('=');
  const flag = eq < 0 ? arg : arg.slice(0, eq);
  if (longs.includes(flag)) return arg;
  const matches = longs.filter((l) => l.startsWith(flag));
  if (matches.length > 1) throw new CliError(`ambiguous option: ${flag} could match ${matches.join(', ')}`, undefined, 2);
  return matches.length === 1 ? matches[0]! + (eq < 0 ? '' : arg.slice(eq)) : arg;
}

/** The option `token` names when it takes its value from the next token. */
function valueOption(cmd: Command, token: string): Option | undefined {
  if (!token.startsWith('-') || token.includes('=')) return undefined;
  const opt = cmd.options.find((o) => o.long === token || o.short === token);
  return opt?.required ? opt : undefined;
}

/** argparse's test for a token that is an option, not a value: `-x`, `--x`, but not `-`, `-5` or text with spaces. */
export function looksLikeOption(token: string): boolean {
  return token.length > 1 && token.startsWith('-') && !/^-\d+$|^-\d*\.\d+$/.test(token) && !token.includes(' ');
}

// az's arguments with several long names are one argparse action, named by all of its strings in az's
// order; commander holds one long name per option, so such options carry that name here.
const AZ_NAMES = new WeakMap<Option, string>();

/** Names `opt` in argparse's errors as az's argument of these strings, in az's order (`--display-name/--name/-n`). */
export function withAzNames<T extends Option>(opt: T, names: string): T {
  AZ_NAMES.set(opt, names);
  return opt;
}

/** An option's strings (commander's `-n, --name <name>`) as argparse names them in its errors: az registers the long forms first (`--name/-n`). */
export function argparseNames(flags: string): string {
  const names = flags.split(/[\s,|]+/).filter((f) => f.startsWith('-'));
  return [...names.filter((f) => f.startsWith('--')), ...names.filter((f) => !f.startsWith('--'))].join('/');
}

const flagsOf = (opt: Option): string => AZ_NAMES.get(opt) ?? argparseNames(opt.flags);
