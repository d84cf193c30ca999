import jmespath from 'jmespath';

// jmespath.js's max_by and min_by start from -Infinity and Infinity, so string
// keys (names, dates: az's common `max_by(@, &attributes.created)`) compare
// false and the answer is null; Python's jmespath compares them. Both become
// sort_by, which is stable and takes numbers and strings alike: min_by(A, &K)
// is sort_by(A, &K)[0], and max_by(A, &K) is sort_by(reverse(A), &K)[-1], the
// first of equal maxima as Python's max returns it.

interface Token {
  type: string;
  value: unknown;
  start: number;
}

const tokenize = (jmespath as unknown as { tokenize(query: string): Token[] }).tokenize;
const OPENS = new Set(['Lparen', 'Lbracket', 'Lbrace', 'Filter']);
const CLOSES = new Set(['Rparen', 'Rbracket', 'Rbrace']);

/** The query with every max_by and min_by call written as the sort_by that gives Python's answer. */
export function withPythonMinMax(query: string): string {
  let q = query;
  for (;;) {
    const tokens = tokenize(q);
    // The last call first: nothing inside its arguments is left to rewrite.
    let at = tokens.length - 2;
    while (at >= 0 && !(tokens[at]!.type === 'UnquotedIdentifier' && (tokens[at]!.value === 'max_by' || tokens[at]!.value === 'min_by') && tokens[at + 1]!.type === 'Lparen')) at--;
    if (at < 0) return q;
    let depth = 0;
    let comma = -1;
    let close = -1;
    for (let i = at + 1; i < tokens.length && close < 0; i++) {
      const type = tokens[i]!.type;
      if (OPENS.has(type)) depth++;
      else if (CLOSES.has(type) && --depth === 0) close = i;
      else if (type === 'Comma' && depth === 1 && comma < 0) comma = i;
    }
    // Not a complete call: left for the parser to refuse.
    if (comma < 0 || close < 0) return q;
    const name = tokens[at]!;
    const open = tokens[at + 1]!.start + 1;
    const argSplit = tokens[comma]!.start;
    const end = tokens[close]!.start + 1;
    q =
      name.value === 'max_by'
        ? `${q.slice(0, name.start)}sort_by(reverse(${q.slice(open, argSplit)})${q.slice(argSplit, end)}[-1]${q.slice(end)}`
        : `${q.slice(0, name.start)}sort_by(${q.slice(open, end)}[0]${q.slice(end)}`;
  }
}
