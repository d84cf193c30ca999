// The part of Python's ast.literal_eval that az's shell_safe_json_parse falls back to when an argument is
// not JSON, so that `{'ip': ['1.2.3.4']}` (a Python dict, as Windows shells leave it) is read as az reads it:
// strings in either quote (adjacent ones joined), decimal ints and floats with a sign, True, False, None,
// lists, tuples and dicts with string keys. Anything else is undefined here, and the JSON error is reported
// (az does the same for what literal_eval refuses; sets, bytes, complex numbers and non-decimal ints,
// which it accepts, are the difference).

import { PyDict, PyTuple, type PyValue } from './py-value.js';

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0', '\n': '' };
const NUMBER = /^(?:[0-9](?:_?[0-9])*)?(?:\.[0-9](?:_?[0-9])*|\.)?(?:[eE][-+]?[0-9](?:_?[0-9])*)?/;

class Refused extends Error {}

class LiteralParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): PyValue {
    const v = this.expr();
    this.space();
    if (this.i !== this.s.length) throw new Refused();
    return v;
  }

  private space(): void {
    while (this.i < this.s.length && ' \t\n\r\f'.includes(this.s[this.i]!)) this.i++;
  }

  private eat(ch: string): boolean {
    this.space();
    if (this.s[this.i] !== ch) return false;
    this.i++;
    return true;
  }

  private expr(): PyValue {
    this.space();
    const ch = this.s[this.i];
    if (ch === undefined) throw new Refused();
    if (ch === '[') {
      this.i++;
      return this.items(']');
    }
    if (ch === '(') return this.paren();
    if (ch === '{') return this.dict();
    if (ch === '-' || ch === '+') {
      this.i++;
      const n = this.expr();
      if (typeof n !== 'bigint' && typeof n !== 'number') throw new Refused();
      return ch === '+' ? n : typeof n === 'bigint' ? -n : -n;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i))?.[0];
    if (word === 'True' || word === 'False' || word === 'None') {
      this.i += word.length;
      return word === 'None' ? null : word === 'True';
    }
    if (ch === "'" || ch === '"' || ((word === 'r' || word === 'u' || word === 'R' || word === 'U') && `'"`.includes(this.s[this.i + 1] ?? ''))) return this.strings();
    return this.number();
  }

  private number(): PyValue {
    const m = NUMBER.exec(this.s.slice(this.i))![0];
    if (m === '' || m === '.' || /[A-Za-z0-9_.]/.test(this.s[this.i + m.length] ?? '')) throw new Refused();
    this.i += m.length;
    const text = m.replaceAll('_', '');
    if (/[.eE]/.test(text)) return Number(text);
    // A decimal int with a leading zero is a SyntaxError in Python 3 (unless it is all zeros).
    if (/^0[0-9]/.test(text) && !/^0+$/.test(text)) throw new Refused();
    return BigInt(text);
  }

  private strings(): string {
    let out = this.string();
    for (;;) {
      this.space();
      const ch = this.s[this.i];
      if (ch !== "'" && ch !== '"' && !(/[rRuU]/.test(ch ?? '') && `'"`.includes(this.s[this.i + 1] ?? ''))) return out;
      out += this.string();
    }
  }

  private string(): string {
    let raw = false;
    if (/[rRuU]/.test(this.s[this.i]!)) raw = /[rR]/.test(this.s[this.i++]!);
    const q = this.s[this.i]!;
    const triple = this.s.startsWith(q.repeat(3), this.i);
    const end = triple ? q.repeat(3) : q;
    this.i += end.length;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) throw new Refused();
      if (this.s.startsWith(end, this.i)) {
        this.i += end.length;
        return out;
      }
      const ch = this.s[this.i]!;
      if (ch === '\n' && !triple) throw new Refused();
      if (ch !== '\\') {
        out += ch;
        this.i++;
        continue;
      }
      const esc = this.s[this.i + 1];
      if (esc === undefined) throw new Refused();
      if (raw) {
        out += ch + esc;
      } else if (esc in ESCAPES) {
        out += ESCAPES[esc];
      } else if (esc === 'x' || esc === 'u' || esc === 'U') {
        const len = esc === 'x' ? 2 : esc === 'u' ? 4 : 8;
        const hex = this.s.slice(this.i + 2, this.i + 2 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex) || parseInt(hex, 16) > 0x10ffff) throw new Refused();
        out += String.fromCodePoint(parseInt(hex, 16));
        this.i += len;
      } else {
        // An unknown escape keeps its backslash (with a warning Python prints only at compile time).
        out += ch + esc;
      }
      this.i += 2;
    }
  }

  /** A list's or a tuple's items up to `close` (after those in `out`, read already), a trailing comma allowed. */
  private items(close: string, out: PyValue[] = []): PyValue[] {
    for (;;) {
      if (this.eat(close)) return out;
      out.push(this.expr());
      if (this.eat(close)) return out;
      if (!this.eat(',')) throw new Refused();
    }
  }

  /** `(x)` is x; `()`, `(x,)` and `(x, y)` are tuples. Read once, left to right: going back over nested parentheses doubled the work at each level. */
  private paren(): PyValue {
    this.i++;
    if (this.eat(')')) return new PyTuple([]);
    const first = this.expr();
    if (this.eat(')')) return first;
    if (!this.eat(',')) throw new Refused();
    return new PyTuple(this.items(')', [first]));
  }

  private dict(): PyDict {
    this.i++;
    const dict = new PyDict();
    for (;;) {
      if (this.eat('}')) return dict;
      const key = this.expr();
      if (typeof key !== 'string' || !this.eat(':')) throw new Refused();
      dict.set(key, this.expr());
      if (this.eat('}')) return dict;
      if (!this.eat(',')) throw new Refused();
    }
  }
}

/** ast.literal_eval(text), within the subset above: the value, or undefined where it is not one. */
export function pyLiteralEval(text: string): PyValue | undefined {
  try {
    // literal_eval strips leading spaces and tabs, as the 'eval' mode it compiles in would refuse them.
    return new LiteralParser(text.replace(/^[ \t]+/, '')).parse();
  } catch (err) {
    // Too deep for the stack: Python's parser refuses such nesting too ("too many nested parentheses").
    if (err instanceof Refused || err instanceof RangeError) return undefined;
    throw err;
  }
}
