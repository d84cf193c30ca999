import { addExamples } from './examples.js';
import { registerServerCommand } from './commands/server-command.js';
import { rootProgram, runProgram } from './root-program.js';

// The coffer executable. `coffer server` parses its command line with a tree
// holding only that command: the process's main thread then stays a small
// shell around the server thread (server-thread.ts), without the client
// commands' modules (10 MB of its heap, about 6 MB of RSS). Every other
// command line goes to the full tree, its `@file` arguments read first, as
// az reads them (file-args.ts).

/**
 * Output piped into a reader that stopped reading (`coffer … | head`): the
 * rest is not wanted, so the command ends quietly, as Unix tools do, instead
 * of with an unhandled EPIPE and Node's stack trace.
 */
function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  if (argv[2] !== 'server') endQuietlyOnClosedPipe();
  if (argv[2] === 'server') {
    const program = rootProgram();
    registerServerCommand(program);
    addExamples(program);
    return runProgram(program, argv);
  }
  // knack's CLILogging refuses these together before it reads the command: its line, twice (az prints it so), exit 1.
  const args = argv.slice(2);
  if (args.includes('--only-show-errors') && (args.includes('--verbose') || args.includes('--debug'))) {
    process.stderr.write("--only-show-errors can't be used together with --debug or --verbose\n".repeat(2));
    process.exitCode = 1;
    return;
  }
  const { buildProgram } = await import('./program.js');
  const { expandFileArguments } = await import('./file-args.js');
  return runProgram(buildProgram(), [...argv.slice(0, 2), ...expandFileArguments(argv.slice(2))]);
}
