import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

// A small history-API router: the portal's pages are plain paths under /portal/.

const listeners = new Set<() => void>();
// Counts navigations, the same path again included: the app keys its page by
// it, so following a link starts the page afresh (new load, no stale error),
// as a click on a menu item does in Azure's portal.
let visit = 0;
// Set by a navigation, taken by the next page shown (Shell), which moves focus to its heading:
// the element that had focus is gone with the old page, and focus would fall to <body>.
let focusRequested = false;
const notify = () => {
  visit++;
  focusRequested = true;
  listeners.forEach((l) => l());
};
window.addEventListener('popstate', notify);

/** Whether a navigation asked for focus since the last call (the first page load does not). */
export function takeFocusRequest(): boolean {
  const asked = focusRequested;
  focusRequested = false;
  return asked;
}

export function navigate(to: string, options: { replace?: boolean } = {}) {
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.scrollTo(0, 0);
  notify();
}

const subscribe = (l: () => void) => {
  listeners.add(l);
  return () => listeners.delete(l);
};

export const usePath = (): string => useSyncExternalStore(subscribe, () => window.location.pathname);

/** A number that changes on every navigation. */
export const useVisit = (): number => useSyncExternalStore(subscribe, () => visit);

/** Matches "/portal/vaults/:rg/:name/secrets" style patterns; values come back decoded. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(h);
    else if (w.toLowerCase() !== h.toLowerCase()) return null;
  }
  return params;
}

export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const go = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={go} {...rest} />;
}
