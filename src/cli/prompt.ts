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

/** az's confirmation before a destructive command (knack's prompt_y_n): --yes skips it, and without a terminal to ask on it refuses. */
export async function confirmed(yes: boolean | undefined, question = 'Are you sure you want to perform this operation?'): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) throw new CliError('Unable to prompt for confirmation as no tty available. Use --yes.');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} (y/n): `)).trim());
  } finally {
    rl.close();
  }
}
