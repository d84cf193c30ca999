import { Command, CommanderError } from 'commander';
import { argparseNames, commandNamed, expandAbbreviations } from './abbreviations.js';
import { closeMatches } from './close-matches.js';
import { CliError, QUERY_REFERENCE, formatCliError } from './cli-error.js';

// The root command and how a run ends (exit codes and error lines), shared by
// the full command tree (program.ts) and the lean one `coffer server` starts
// with (main.ts).

export function rootProgram(): Command {
  return (
    new Command('coffer')
      .description('coffer: a self-hosted secrets vault that speaks Azure Key Vault.')
      .version('0.1.0')
      // Root options only before the subcommand: `secret show --version` is the secret's.
      .enablePositionalOptions()
      .exitOverride()
      .showHelpAfterError(false)
      .configureOutput({ outputError: (text, write) => write(`ERROR: ${asAzError(text.replace(/^error: /, ''))}`) })
  );
}

/** The run being parsed, so that an error about its arguments can name them as az's parser does. */
let parsing: { program: Command; argv: string[] } | null = null;

/**
 * What argparse's parse_args would call unrecognized: every argument after the command's name
 * that is neither one of its options nor an option's value (an unknown option, its values, and
 * any operand: az's commands take no positional arguments).
 */
function unrecognizedArguments(): string[] {
  if (!parsing) return [];
  const tokens = parsing.argv.slice(2);
  const { cmd, next } = commandNamed(parsing.program, tokens);
  let i = next;
  const extras: string[] = [];
  for (; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '--') {
      extras.push(...tokens.slice(i));
      break;
    }
    if (!/^-./.test(token) || token === '-h' || token === '--help') {
      if (!/^-./.test(token)) extras.push(token);
      continue;
    }
    const name = token.startsWith('--') ? token.split('=')[0]! : token.slice(0, 2);
    const option = cmd.options.find((o) => o.long === name || o.short === name);
    if (!option) {
      extras.push(token);
      continue;
    }
    const inline = token.startsWith('--') ? token.includes('=') : token.length > 2;
    if (inline || (!option.required && !option.optional)) continue;
    if (option.variadic) while (i + 1 < tokens.length && !/^-./.test(tokens[i + 1]!)) i++;
    else if (option.required || !/^-./.test(tokens[i + 1] ?? '-')) i++;
  }
  return extras;
}

/**
 * az's answer to a command name its group does not have (AzCliCommandParser._check_value): the name,
 * then the closest of the group's commands by difflib's get_close_matches (cutoff 0.7), if any.
 */
function misspelledCommand(value: string): string {
  const group = parsing ? commandNamed(parsing.program, parsing.argv.slice(2)).cmd : null;
  const [closest] = closeMatches(value, group?.commands.map((c) => c.name()) ?? [], 1, 0.7);
  return `'${value}' is misspelled or not recognized by the system.${closest === undefined ? '' : `\nDid you mean '${closest}' ?`}`;
}

/**
 * Commander's parse errors in az's words: a missing required option as az's argument parser names it
 * (`-n, --name <name>` is `--name/-n`), and an unknown option or an extra argument as argparse's
 * "unrecognized arguments: ..." (listing every one, with an unknown option's values).
 */
function asAzError(text: string): string {
  const message = parseErrorText(text);
  // az's parser adds a pointer to --query's documentation below any of its errors that names it.
  return message.includes('--query') ? `${message}${QUERY_REFERENCE}\n` : message;
}

function parseErrorText(text: string): string {
  const unknownCommand = /^unknown command '([^']*)'/.exec(text);
  if (unknownCommand) return `${misspelledCommand(unknownCommand[1]!)}\n`;
  if (/^(unknown option '|too many arguments)/.test(text)) {
    const extras = unrecognizedArguments();
    if (extras.length > 0) return `unrecognized arguments: ${extras.join(' ')}\n`;
  }
  return text.replace(/^required option '([^']+)' not specified/, (_, flags: string) => {
    return `the following arguments are required: ${argparseNames(flags)}`;
  });
}

/** A failure to reach the server or trust it, with what usually fixes it. */
function transportMessage(e: NodeJS.ErrnoException): string {
  if (e.code === 'ECONNREFUSED') return `cannot reach the coffer server (${e.message}). Is it running? Name it with --server URL (or COFFER_SERVER) when logging in.`;
  if (e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || e.code === 'SELF_SIGNED_CERT_IN_CHAIN' || e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT') {
    return `${e.message}: the server's certificate is not trusted. Give its CA with --ca-file (or COFFER_CA_FILE) when logging in, such as the server's data/tls/ca.pem.`;
  }
  return e.message;
}

export async function runProgram(program: Command, argv: string[]): Promise<void> {
  try {
    const expanded = expandAbbreviations(program, argv);
    parsing = { program, argv: expanded };
    await program.parseAsync(expanded);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(formatCliError(err) + '\n');
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`ERROR: ${transportMessage(err as NodeJS.ErrnoException)}\n`);
    process.exitCode = 1;
  }
}
