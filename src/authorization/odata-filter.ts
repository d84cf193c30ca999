import { errors } from '../server/errors.js';

// The OData $filter subset Azure's authorization lists take: terms joined by
// `and`, each `name eq 'value'` or `fn()` / `fn('value')`. Parsed term by
// term, so that text inside a quoted value is never read as a term.

export interface FilterTerms {
  /** `name eq 'value'` terms, by lower-case name. */
  eq: Map<string, string>;
  /** `fn()` and `fn('value')` terms, by lower-case name (value '' for none). */
  calls: Map<string, string>;
}

const QUOTED = String.raw`'((?:[^']|'')*)'`;
// One \s* on each side of a call's argument, never two in a row: adjacent ones would backtrack quadratically
// over a run of spaces with no closing parenthesis.
const TERM = new RegExp(String.raw`\s*(?:([A-Za-z]+)\s+eq\s+${QUOTED}|([A-Za-z]+)\(\s*(?:${QUOTED}\s*)?\))\s*`, 'iy');
/** Far past any real filter (az's longest names a 36-character id); a longer one is refused unparsed. */
const MAX_FILTER_LENGTH = 1024;
const AND = /and(?=\s)/iy;
/** A quoted value's text ('' stands for '). */
const unquote = (v: string | undefined) => (v ?? '').replace(/''/g, "'");

/**
 * The terms of `filter`, each name at most once and among `allowed`
 * (lower-case: `name` for `name eq '…'`, `fn()` for a call without an
 * argument, `fn(v)` for one with); anything else is a 400.
 */
export function parseFilter(filter: string | undefined, allowed: readonly string[]): FilterTerms {
  const terms: FilterTerms = { eq: new Map(), calls: new Map() };
  const f = filter ?? '';
  const unsupported = () => errors.invalidArm(`The filter '${f.slice(0, 100)}' is not supported.`);
  if (f.trim() === '') return terms;
  if (f.length > MAX_FILTER_LENGTH) throw unsupported();
  let at = 0;
  for (;;) {
    TERM.lastIndex = at;
    const m = TERM.exec(f);
    if (!m) throw unsupported();
    at = TERM.lastIndex;
    const [name, into, value] = m[1] ? [m[1].toLowerCase(), terms.eq, unquote(m[2])] : [m[3]!.toLowerCase(), terms.calls, unquote(m[4])];
    const shape = into === terms.eq ? name : m[4] === undefined ? `${name}()` : `${name}(v)`;
    if (!allowed.includes(shape) || into.has(name)) throw unsupported();
    into.set(name, value);
    if (at === f.length) return terms;
    AND.lastIndex = at;
    if (!AND.test(f)) throw unsupported();
    at = AND.lastIndex;
  }
}
