// At most `running` holders at once and at most `waiting` in line behind them; past that, no place (the caller
// refuses the request). For work whose result is large until it has been sent: secret backups, whose blobs of
// up to tens of MiB would otherwise pile up on the heap while they are serialized and written out.

export interface Turnstile {
  /** A release function once a place is free; null at once when the line is full. */
  enter(): Promise<(() => void) | null>;
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
  };
}
