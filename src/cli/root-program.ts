import { Command, CommanderError } from 'commander';
import { expandAbbreviations } from './abbreviations.js';
import { CliError, formatCliError } from './cli-error.js';

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

/** A missing required option as az's argument parser names it: `-n, --name <name>` is `--name/-n`. */
function asAzError(text: string): string {
  return text.replace(/^required option '([^']+)' not specified/, (_, flags: string) => {
    const names = flags.split(/[\s,]+/).filter((f) => f.startsWith('-'));
    return `the following arguments are required: ${[...names.filter((f) => f.startsWith('--')), ...names.filter((f) => !f.startsWith('--'))].join('/')}`;
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
    await program.parseAsync(expandAbbreviations(program, argv));
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
