import { useCallback, useEffect, useState } from 'react';
import type { Page } from '../api/types';

// A list read page by page (Key Vault's nextLink), with "Load more".

export interface PagedList<T> {
  items: T[];
  loading: boolean;
  error: Error | null;
  hasMore: boolean;
  loadMore: () => void;
  reload: () => void;
}

export function usePagedList<T>(fetchPage: (next?: string) => Promise<Page<T>>, deps: unknown[]): PagedList<T> {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | null>(null);
  const [generation, setGeneration] = useState(0);

  // The caller lists what its fetcher reads, as with useEffect.
  const load = useCallback(fetchPage, deps);
  const run = useCallback(
    (link: string | undefined, replace: boolean, gen: number, current: () => number) => {
      setLoading(true);
      // A retry starts clean: the last error must not stay on screen while (or after) it loads.
      setError(null);
      load(link).then(
        (page) => {
          if (gen !== current()) return;
          setItems((before) => (replace ? page.value : [...before, ...page.value]));
          setNext(page.nextLink ?? null);
          setError(null);
          setLoading(false);
        },
        (err: Error) => {
          if (gen !== current()) return;
          setError(err);
          setLoading(false);
        },
      );
    },
    [load],
  );

  useEffect(() => {
    let live = true;
    const gen = generation;
    run(undefined, true, gen, () => (live ? gen : -1));
    return () => {
      live = false;
    };
  }, [run, generation]);

  return {
    items,
    loading,
    error,
    hasMore: next !== null,
    loadMore: () => next && run(next, false, generation, () => generation),
    reload: () => setGeneration((g) => g + 1),
  };
}
