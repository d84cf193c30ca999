import type { Session } from './session.js';

/**
 * Every item of a Resource Manager list, its pages followed through
 * `nextLink` as az's SDK pagers (ItemPaged) read them: coffer's vault and
 * resource group lists hold at most 1,000 items a page.
 */
export async function armList<T>(s: Session, url: string): Promise<T[]> {
  const out: T[] = [];
  let next: string | null | undefined = url;
  while (next) {
    const page: { value: T[]; nextLink?: string | null } = await s.call('GET', next, s.managementResource);
    out.push(...page.value);
    next = page.nextLink;
  }
  return out;
}
