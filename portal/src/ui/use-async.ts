import { useCallback, useEffect, useRef, useState } from 'react';

// Loads data for a page and keeps its loading / error / value states, with a
// reload for after changes. A result that arrives after a newer load is dropped.

export type AsyncState<T> = { status: 'loading' } | { status: 'error'; error: Error } | { status: 'ready'; value: T };

export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): [AsyncState<T>, () => void] {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  const generation = useRef(0);
  // The caller lists what its loader reads, as with useEffect.
  const run = useCallback(load, deps);
  const reload = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => (s.status === 'ready' ? s : { status: 'loading' }));
    run().then(
      (value) => mine === generation.current && setState({ status: 'ready', value }),
      (error: Error) => mine === generation.current && setState({ status: 'error', error }),
    );
  }, [run]);
  useEffect(() => {
    setState({ status: 'loading' });
    reload();
  }, [reload]);
  return [state, reload];
}
