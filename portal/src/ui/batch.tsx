import { ApiError } from '../api/http';
import { Notice } from './feedback';

// One request per item for an action on several (assign members, remove
// assignments): each succeeds or fails on its own, and the page says which.

export interface BatchResult<T> {
  done: T[];
  failed: { item: T; error: Error }[];
}

export async function settleEach<T>(items: T[], action: (item: T) => Promise<unknown>): Promise<BatchResult<T>> {
  const results = await Promise.allSettled(items.map(action));
  const out: BatchResult<T> = { done: [], failed: [] };
  results.forEach((r, i) => (r.status === 'fulfilled' ? out.done.push(items[i]!) : out.failed.push({ item: items[i]!, error: r.reason as Error })));
  return out;
}

function Failures<T>({ failed, name }: { failed: BatchResult<T>['failed']; name: (item: T) => string }) {
  return (
    <ul>
      {failed.map(({ item, error }) => (
        <li key={name(item)}>
          {name(item)}: {error.message}
          {error instanceof ApiError && <span className="muted"> (Error code: {error.code})</span>}
        </li>
      ))}
    </ul>
  );
}

/**
 * What a partly failed batch did: the items done, then each failure with its
 * reason. Denials keep the wording every page uses for them (ErrorNotice).
 */
export function BatchOutcome<T>({ result, name, doneTitle, failedTitle }: { result: BatchResult<T>; name: (item: T) => string; doneTitle: string; failedTitle: string }) {
  const denied = result.failed.filter((f) => f.error instanceof ApiError && f.error.denied);
  const other = result.failed.filter((f) => !denied.includes(f));
  return (
    <>
      {result.done.length > 0 && (
        <Notice kind="success" title={doneTitle}>
          <ul>
            {result.done.map((item) => (
              <li key={name(item)}>{name(item)}</li>
            ))}
          </ul>
        </Notice>
      )}
      {denied.length > 0 && (
        <Notice kind="warning" title="You are not authorized to perform this action">
          <Failures failed={denied} name={name} />
          <p className="muted">Ask an owner of this resource for access.</p>
        </Notice>
      )}
      {other.length > 0 && (
        <Notice kind="error" title={failedTitle}>
          <Failures failed={other} name={name} />
        </Notice>
      )}
    </>
  );
}
