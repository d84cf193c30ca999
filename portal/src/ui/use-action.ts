import { useCallback, useState } from 'react';

// One user action at a time (a save, a delete): busy while it runs, and the
// error it ended with, for the page to show. run() never rejects.

export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}
