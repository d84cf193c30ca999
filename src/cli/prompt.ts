import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { CliError } from './cli-error.js';

// Questions on the terminal: a password without echoing it (as Python's
// getpass does for az), and az's yes/no confirmation.

export async function promptHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = rl.question(question);
    // The prompt is written by now; from here on, nothing typed is shown.
    muted = true;
    return await answer;
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

const NO_TTY = 'Unable to prompt for confirmation as no tty available. Use --yes.';

/**
 * az's confirmation before a destructive command (knack's prompt_y_n): --yes skips it, and without a terminal
 * to ask on it refuses. `registered`: a command az registers with `confirmation=True` (`group delete`), whose
 * refusal knack words as a warning and "Operation cancelled."
 */
export async function confirmed(yes: boolean | undefined, question = 'Are you sure you want to perform this operation?', registered = false): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    if (!registered) throw new CliError(NO_TTY);
    process.stderr.write(`WARNING: ${NO_TTY}\n`);
    throw new CliError('Operation cancelled.');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  let yesAnswer: boolean;
  try {
    yesAnswer = /^y(es)?$/i.test((await rl.question(`${question} (y/n): `)).trim());
  } finally {
    rl.close();
  }
  if (!yesAnswer && registered) throw new CliError('Operation cancelled.');
  return yesAnswer;
}
