import type { ReactNode } from 'react';
import { ApiError } from '../api/http';
import type { AsyncState } from './use-async';

// Loading, error and "not authorized" states, shown the same way everywhere.

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}…
    </div>
  );
}

export function Notice({ kind, title, children }: { kind: 'info' | 'warning' | 'error' | 'success'; title?: string; children?: ReactNode }) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {title && <strong>{title}</strong>}
      {children && <div>{children}</div>}
    </div>
  );
}

/** An error with the server's message; `onRetry` (a failed load) offers to load again. */
export function ErrorNotice({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const retry = onRetry && (
    <button type="button" onClick={onRetry}>
      Retry
    </button>
  );
  if (error instanceof ApiError && error.denied) {
    return (
      <Notice kind="warning" title="You are not authorized to perform this action">
        <p>{error.message}</p>
        <p className="muted">Error code: {error.code}. Ask an owner of this resource for access.</p>
        {retry}
      </Notice>
    );
  }
  const code = error instanceof ApiError ? error.code : null;
  return (
    <Notice kind="error" title={error instanceof ApiError && error.status === 0 ? 'Network error' : 'Something went wrong'}>
      <p>{error.message}</p>
      {code && <p className="muted">Error code: {code}</p>}
      {retry}
    </Notice>
  );
}

/** Renders children with the loaded value, or the loading / error state (with Retry when `onRetry` is given). */
export function Loaded<T>({ state, label, onRetry, children }: { state: AsyncState<T>; label?: string; onRetry?: () => void; children: (value: T) => ReactNode }) {
  if (state.status === 'loading') return <Loading label={label} />;
  if (state.status === 'error') return <ErrorNotice error={state.error} onRetry={onRetry} />;
  return <>{children(state.value)}</>;
}
