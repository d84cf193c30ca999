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
