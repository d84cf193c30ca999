import type { EventEmitter } from 'node:events';

// At most `running` holders at once and at most `waiting` in line behind them; past that, no place (the caller
// refuses the request). For work that must not all run at once: password hashes (password-hash.ts), and secret
// backups, whose blobs of up to tens of MiB would otherwise pile up on the heap while written out.

export interface Turnstile {
  /** A release function once a place is free; null at once when the line is full. */
  enter(): Promise<(() => void) | null>;
  /** Holders and those in line now. */
  readonly counts: { running: number; waiting: number };
}

export function createTurnstile(running: number, waiting: number): Turnstile {
  let inside = 0;
  const line: Array<() => void> = [];
  const releaser = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The place passes to the next in line, or is given back.
      const next = line.shift();
      if (next) next();
      else inside--;
    };
  };
  return {
    async enter() {
      if (inside < running) {
        inside++;
        return releaser();
      }
      if (line.length >= waiting) return null;
      await new Promise<void>((resolve) => line.push(resolve));
      return releaser();
    },
    get counts() {
      return { running: inside, waiting: line.length };
    },
  };
}

/**
 * A place held for one answer: given back when `response` closes (written out, or its client gone). 'full' when
 * the line is full; 'gone' (the place given back already) when the client left while it waited in line.
 */
export async function placeFor(gate: Turnstile, response: EventEmitter): Promise<'held' | 'full' | 'gone'> {
  let gone = false;
  const leaving = () => (gone = true);
  response.once('close', leaving);
  const release = await gate.enter();
  response.off('close', leaving);
  if (!release) return 'full';
  if (gone) {
    release();
    return 'gone';
  }
  response.once('close', release);
  return 'held';
}
