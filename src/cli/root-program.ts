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
      .configureOutput({ outputError: (text, write) => write(`ERROR: ${text.replace(/^error: /, '')}`) })
  );
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
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`ERROR: ${e.code === 'ECONNREFUSED' ? `cannot reach the coffer server (${e.message})` : e.message}\n`);
    process.exitCode = 1;
  }
}
