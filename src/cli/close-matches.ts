// difflib's get_close_matches, as az uses it for its "Did you mean" lines
// (an invalid choice, a misspelled command). Kept apart from the choice
// checks: the server's main thread loads it for misspelled commands.

/** The code points of a string, as Python indexes it. */
const chars = (s: string) => Array.from(s);

/** difflib.SequenceMatcher(None, a, b): the total size of its matching blocks (with its autojunk heuristic). */
function matchingSize(a: string[], b: string[]): number {
  const b2j = new Map<string, number[]>();
  b.forEach((c, j) => b2j.set(c, [...(b2j.get(c) ?? []), j]));
  if (b.length >= 200) {
    const ntest = Math.floor(b.length / 100) + 1;
    for (const [c, js] of [...b2j]) if (js.length > ntest) b2j.delete(c);
  }
  const longest = (alo: number, ahi: number, blo: number, bhi: number): [number, number, number] => {
    let [besti, bestj, bestsize] = [alo, blo, 0];
    let j2len = new Map<number, number>();
    for (let i = alo; i < ahi; i++) {
      const next = new Map<number, number>();
      for (const j of b2j.get(a[i]!) ?? []) {
        if (j < blo) continue;
        if (j >= bhi) break;
        const k = (j2len.get(j - 1) ?? 0) + 1;
        next.set(j, k);
        if (k > bestsize) [besti, bestj, bestsize] = [i - k + 1, j - k + 1, k];
      }
      j2len = next;
    }
    // Elements autojunk left out of b2j still extend a match at its ends.
    while (besti > alo && bestj > blo && a[besti - 1] === b[bestj - 1]) [besti, bestj, bestsize] = [besti - 1, bestj - 1, bestsize + 1];
    while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] === b[bestj + bestsize]) bestsize++;
    return [besti, bestj, bestsize];
  };
  const blocks = (alo: number, ahi: number, blo: number, bhi: number): number => {
    const [i, j, k] = longest(alo, ahi, blo, bhi);
    if (k === 0) return 0;
    return k + (alo < i && blo < j ? blocks(alo, i, blo, j) : 0) + (i + k < ahi && j + k < bhi ? blocks(i + k, ahi, j + k, bhi) : 0);
  };
  return blocks(0, a.length, 0, b.length);
}

/** difflib.SequenceMatcher(None, a, b).ratio(). */
export function similarity(a: string, b: string): number {
  const [ca, cb] = [chars(a), chars(b)];
  const total = ca.length + cb.length;
  return total ? (2.0 * matchingSize(ca, cb)) / total : 1.0;
}

/** difflib.get_close_matches: the best n at or above the cutoff, best first (ties: the greater string first, as heapq.nlargest). */
export function closeMatches(word: string, possibilities: readonly string[], n = 3, cutoff = 0.6): string[] {
  return possibilities
    .map((x) => ({ x, score: similarity(x, word) }))
    .filter((m) => m.score >= cutoff)
    .sort((p, q) => q.score - p.score || (p.x < q.x ? 1 : p.x > q.x ? -1 : 0))
    .slice(0, n)
    .map((m) => m.x);
}
