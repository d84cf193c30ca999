import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';

// Asks on the terminal without echoing the answer (a password), as Python's
// getpass does for az: the prompt shows, what is typed does not.

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
