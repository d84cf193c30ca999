// Runs tasks one at a time per key: read-modify-write changes of one vault
// (so that the second does not undo the first); password checks from one
// address, so that a burst of parallel guesses cannot all pass the
// lockout's check before the first of them is counted as a failure; and
// backups and restores, so that their large blobs are never on the heap
// together.

export function createKeyedQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return function run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    // The map holds only keys with work queued: the last task's tail removes its key.
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return result;
  };
}

/**
 * Writes that run together, and an exclusive task (a key renewal or a
 * rotation) that waits for the writes under way and holds new ones until it
 * ends: nothing written under the key it replaces is stored after it.
 */
export interface WriteGate {
  writing<T>(task: () => Promise<T>): Promise<T>;
  exclusive<T>(task: () => Promise<T>): Promise<T>;
}

export function createWriteGate(): WriteGate {
  let writes = 0;
  let drained: (() => void) | null = null;
  let holding: Promise<unknown> | null = null;
  return {
    async writing(task) {
      while (holding) await holding.catch(() => undefined);
      writes++;
      try {
        return await task();
      } finally {
        if (--writes === 0) drained?.();
      }
    },
    async exclusive(task) {
      while (holding) await holding.catch(() => undefined);
      const run = (async () => {
        if (writes > 0) await new Promise<void>((resolve) => (drained = resolve));
        drained = null;
        return task();
      })();
      holding = run;
      try {
        return await run;
      } finally {
        holding = null;
      }
    },
  };
}
