import { PyBytes } from './py-value.js';

// Python's string and bytes literals, for py-literal.ts: prefixes r, u, b and rb in any case and order,
// either quote, triple quotes, the escapes of each kind (octal, \x, and for text \u, \U), adjacent literals
// joined (text with text, bytes with bytes). A mistake Python's compiler refuses throws LiteralRefused.

export class LiteralRefused extends Error {}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
const PREFIX = /^(?:[rR][bB]?|[bB][rR]?|[uU])?(?=['"])/;

/** Whether a string or bytes literal starts at `i`. */
export const startsString = (s: string, i: number): boolean => PREFIX.exec(s.slice(i, i + 3)) !== null;

/** One literal at `i`: its text (or bytes, as their characters) and where it ends. */
function one(s: string, start: number): { text: string; bytes: boolean; end: number } {
  const prefix = PREFIX.exec(s.slice(start, start + 3))![0].toLowerCase();
  const raw = prefix.includes('r');
  const bytes = prefix.includes('b');
  let i = start + prefix.length;
  const q = s[i]!;
  const close = s.startsWith(q.repeat(3), i) ? q.repeat(3) : q;
  i += close.length;
  let out = '';
  for (;;) {
    if (i >= s.length) throw new LiteralRefused();
    if (s.startsWith(close, i)) return { text: out, bytes, end: i + close.length };
    const ch = s[i]!;
    if (ch === '\n' && close.length === 1) throw new LiteralRefused();
    // bytes can only contain ASCII literal characters.
    if (bytes && ch.charCodeAt(0) > 0x7f) throw new LiteralRefused();
    if (ch !== '\\') {
      out += ch;
      i++;
      continue;
    }
    const esc = s[i + 1];
    if (esc === undefined) throw new LiteralRefused();
    if (raw) {
      out += ch + esc;
      i += 2;
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4))?.[0];
    const width = esc === 'x' ? 2 : bytes ? 0 : esc === 'u' ? 4 : esc === 'U' ? 8 : 0;
    if (esc in ESCAPES) {
      out += ESCAPES[esc];
      i += 2;
    } else if (octal) {
      // Past \377, a bytes octal escape keeps its low byte (with a warning Python prints only at compile time).
      const code = parseInt(octal, 8);
      out += String.fromCodePoint(bytes ? code & 0xff : code);
      i += 1 + octal.length;
    } else if (width > 0) {
      const digits = s.slice(i + 2, i + 2 + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(digits) || parseInt(digits, 16) > 0x10ffff) throw new LiteralRefused();
      out += String.fromCodePoint(parseInt(digits, 16));
      i += 2 + width;
    } else if (esc === 'N' && !bytes) {
      // \N{NAME}: Unicode names are not known here.
      throw new LiteralRefused();
    } else {
      // An unknown escape keeps its backslash (with a warning Python prints only at compile time).
      out += ch + esc;
      i += 2;
    }
  }
}

/** Adjacent literals from `i`, joined: a string, or PyBytes; text and bytes together are refused. */
export function readStrings(s: string, i: number, space: (i: number) => number): { value: string | PyBytes; end: number } {
  let first = one(s, i);
  let text = first.text;
  let at = space(first.end);
  while (startsString(s, at)) {
    const next = one(s, at);
    if (next.bytes !== first.bytes) throw new LiteralRefused();
    text += next.text;
    at = space(next.end);
    first = { ...first, end: next.end };
  }
  const value = first.bytes ? new PyBytes(Array.from(text, (c) => c.charCodeAt(0))) : text;
  return { value, end: first.end };
}
