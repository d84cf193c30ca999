import { useCallback, useEffect, useRef, useState } from 'react';
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
  // Bumped by every first-page load and when its list goes away: a page asked for before then (a "Load more"
  // still in flight at a refresh) is dropped, not added to the new list.
  const epoch = useRef(0);

  // The caller lists what its fetcher reads, as with useEffect.
  const load = useCallback(fetchPage, deps);
  const run = useCallback(
    (link: string | undefined, replace: boolean, isCurrent: () => boolean) => {
      setLoading(true);
      // A retry starts clean: the last error must not stay on screen while (or after) it loads.
      setError(null);
      load(link).then(
        (page) => {
          if (!isCurrent()) return;
          setItems((before) => (replace ? page.value : [...before, ...page.value]));
          setNext(page.nextLink ?? null);
          setError(null);
          setLoading(false);
        },
        (err: Error) => {
          if (!isCurrent()) return;
          setError(err);
          setLoading(false);
        },
      );
    },
    [load],
  );

  useEffect(() => {
    const mine = ++epoch.current;
    // The old list's next page is not this one's.
    setNext(null);
    run(undefined, true, () => epoch.current === mine);
    return () => {
      if (epoch.current === mine) epoch.current++;
    };
  }, [run, generation]);

  return {
    items,
    loading,
    error,
    hasMore: next !== null,
    loadMore: () => {
      if (next === null || loading) return;
      const mine = epoch.current;
      run(next, false, () => epoch.current === mine);
    },
    reload: () => setGeneration((g) => g + 1),
  };
}
