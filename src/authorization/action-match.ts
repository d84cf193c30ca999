// Azure action strings with `*` wildcards ("Microsoft.KeyVault/vaults/*",
// "*/read"), matched case-insensitively (ASCII: action strings are ASCII).
// Matched by a scan that remembers only the last `*` it passed, so a match
// takes at most pattern length x action length steps. A regex (each `*` as
// `.*`) backtracks exponentially on patterns such as "********x", and custom
// role definitions are written by callers.

const fold = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);
const STAR = 42;

export function actionMatches(pattern: string, action: string): boolean {
  let p = 0;
  let a = 0;
  let star = -1;
  let resume = 0;
  while (a < action.length) {
    const c = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (c === STAR) {
      star = p++;
      resume = a;
    } else if (c !== -1 && fold(c) === fold(action.charCodeAt(a))) {
      p++;
      a++;
    } else if (star >= 0) {
      // Let the last star take one more character and try the rest again.
      p = star + 1;
      a = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

export const anyMatches = (patterns: readonly string[], action: string): boolean => patterns.some((p) => actionMatches(p, action));
