import { errors } from '../server/errors.js';
import type { PrincipalRow } from '../storage/store-types.js';

// Graph's list `$filter`, for what coffer's directory keeps: `eq` on a few
// properties, `startswith`, az's `servicePrincipalNames/any(...)` and
// `identifierUris/any(...)`, joined by
// `and` (az joins its list filters so).

/** A mail nickname made from a display name: its letters and digits (a group created without one, or stored before they were kept). */
export const derivedMailNickname = (displayName: string): string => displayName.replace(/[^A-Za-z0-9]/g, '');

/** A group's mail nickname (az filters groups by it). */
export const mailNicknameOf = (p: PrincipalRow): string | null => (p.kind === 'Group' ? (p.mailNickname ?? derivedMailNickname(p.displayName)) : null);

export type PrincipalTest = (p: PrincipalRow) => boolean;
/** How a list shows an object's `id`: its object id, but an application's own (application-routes.ts). */
export type IdOf = (p: PrincipalRow) => string;
const objectIdOf: IdOf = (p) => p.objectId;

/** The principals of one kind that a list request's `$filter` selects; `id eq` compares the id the list shows. */
export const ofKind = (kind: PrincipalRow['kind'], filter: string | undefined, idOf: IdOf = objectIdOf): PrincipalTest => {
  const test = principalFilter(filter, idOf);
  return (p) => p.kind === kind && test(p);
};
const unquote = (v: string) => v.replace(/''/g, "'").toLowerCase();

/** One clause: `displayName eq 'x'`, `appId eq '...'`, `servicePrincipalNames/any(c:c eq '...')`, `startswith(displayName,'x')`. */
function clauseTest(clause: string, filter: string, idOf: IdOf): PrincipalTest {
  const eq = /^\s*(displayName|appId|id|userPrincipalName|mailNickname)\s+eq\s+'((?:[^']|'')*)'\s*$/i.exec(clause);
  if (eq) {
    const name = eq[1]!.toLowerCase();
    const value = unquote(eq[2]!);
    return (p) => (({ displayname: p.displayName, appid: p.appId, id: idOf(p), userprincipalname: p.upn, mailnickname: mailNicknameOf(p) })[name] ?? '').toLowerCase() === value;
  }
  // az asks for a service principal by its names: servicePrincipalNames/any(c:c eq 'appId').
  const spn = /^\s*servicePrincipalNames\/any\(\s*(\w+)\s*:\s*\1\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$/i.exec(clause);
  if (spn) {
    const value = unquote(spn[2]!);
    return (p) => (p.appId ?? '').toLowerCase() === value;
  }
  // az asks for an application by an identifier URI: coffer's applications have none (graph-resources.ts), so none matches.
  if (/^\s*identifierUris\/any\(\s*(\w+)\s*:\s*\1\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$/i.test(clause)) return () => false;
  const sw = /^\s*startswith\(\s*(displayName|userPrincipalName)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$/i.exec(clause);
  if (sw) {
    const upn = sw[1]!.toLowerCase() !== 'displayname';
    const prefix = unquote(sw[2]!);
    return (p) => ((upn ? p.upn : p.displayName) ?? '').toLowerCase().startsWith(prefix);
  }
  throw errors.graphUnsupportedFilter(filter);
}

/** The clauses joined by `and` at the top level (not inside a quoted value or parentheses), as az joins its list filters. */
function andClauses(filter: string): string[] {
  const clauses: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i];
    if (c === "'") quoted = !quoted; // a doubled quote toggles twice: still inside
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && /\s/.test(c!)) {
      const and = /^\s+and\s+/i.exec(filter.slice(i));
      if (and) {
        clauses.push(filter.slice(start, i));
        i += and[0].length - 1;
        start = i + 1;
      }
    }
  }
  clauses.push(filter.slice(start));
  return clauses;
}

/** A Graph `$filter` as a test, checked whole before any principal is (an unsupported clause is a 400 even with none). */
export function principalFilter(filter: string | undefined, idOf: IdOf = objectIdOf): PrincipalTest {
  if (!filter) return () => true;
  const tests = andClauses(filter).map((c) => clauseTest(c, filter, idOf));
  return (p) => tests.every((t) => t(p));
}
