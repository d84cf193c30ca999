import type { PagedList } from './paged-list';
import { Loading } from './feedback';

// Pieces shared by the portal's tables.

/** Header cell of a selection column (checkboxes or radios). */
export function SelectHeader() {
  return (
    <th scope="col">
      <span className="visually-hidden">Select</span>
    </th>
  );
}

/** The loading state and "Load more" under a paged table. */
export function PageFooter<T>({ list, label }: { list: PagedList<T>; label: string }) {
  if (list.loading) return <Loading label={label} />;
  if (!list.hasMore) return null;
  return (
    <button type="button" onClick={list.loadMore}>
      Load more
    </button>
  );
}
