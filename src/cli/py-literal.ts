// Python's ast.literal_eval (3.11), which az's shell_safe_json_parse falls back to when an argument is not
// JSON, so that `{'ip': ['1.2.3.4']}` (a Python dict, as Windows shells leave it) is read as az reads it:
// strings and bytes (py-literal-strings.ts), ints in any base (`0x10`, `0o7`, `0b1`, `1_000`), floats,
// imaginary numbers and `1+2j`, one sign on a number, True, False, None, lists, tuples, sets (`set()`
// too) and dicts with any hashable keys. Anything else is undefined here, and the JSON error is reported,
// as az does for what literal_eval refuses.

import { LiteralRefused, readStrings, startsString } from './py-literal-strings.js';
import { PyComplex, PyDict, PySet, PyTuple, PyTypeError, type PyValue } from './py-value.js';

const DIGITS = '[0-9](?:_?[0-9])*';
const DECIMAL = new RegExp(`^(?:(?:${DIGITS})?\\.${DIGITS}(?:[eE][-+]?${DIGITS})?|${DIGITS}\\.?(?:[eE][-+]?${DIGITS})?|${DIGITS}\\.)`);
const BASED = /^0(?:[xX](?:_?[0-9a-fA-F])+|[oO](?:_?[0-7])+|[bB](?:_?[01])+)/;

type Num = bigint | number | PyComplex;

function negate(n: Num): Num {
  if (n instanceof PyComplex) return new PyComplex(-n.re, -n.im);
  return typeof n === 'bigint' ? -n : -n;
}

class LiteralParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): PyValue {
    const v = this.expr();
    this.space();
    if (this.i !== this.s.length) throw new LiteralRefused();
    return v;
  }

  private skip = (i: number): number => {
    while (i < this.s.length && ' \t\n\r\f'.includes(this.s[i]!)) i++;
    return i;
  };

  private space(): void {
    this.i = this.skip(this.i);
  }

  private eat(text: string): boolean {
    this.space();
    if (!this.s.startsWith(text, this.i)) return false;
    this.i += text.length;
    return true;
  }

  private expr(): PyValue {
    this.space();
    const ch = this.s[this.i];
    if (ch === undefined) throw new LiteralRefused();
    if (ch === '[') {
      this.i++;
      return this.items(']');
    }
    if (ch === '(') return this.paren();
    if (ch === '{') return this.braces();
    if (startsString(this.s, this.i)) {
      const { value, end } = readStrings(this.s, this.i, this.skip);
      this.i = end;
      return value;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i))?.[0];
    if (word === 'True' || word === 'False' || word === 'None') {
      this.i += word.length;
      return word === 'None' ? null : word === 'True';
    }
    // set(): the one call literal_eval takes.
    if (word === 'set' && /^set\s*\(\s*\)/.test(this.s.slice(this.i))) {
      this.i = this.s.indexOf(')', this.i) + 1;
      return new PySet([]);
    }
    return this.signedNumber();
  }

  /** A number with at most one sign (a UnaryOp on a constant), then `+ IMAGINARY` or `- IMAGINARY` (a BinOp). */
  private signedNumber(): Num {
    const sign = this.s[this.i];
    if (sign === '-' || sign === '+') {
      this.i++;
      this.space();
    }
    let n = this.number();
    if (sign === '-') n = negate(n);
    const save = this.i;
    this.space();
    const op = this.s[this.i];
    if (op !== '+' && op !== '-') {
      this.i = save;
      return n;
    }
    this.i++;
    this.space();
    const right = this.number();
    if (n instanceof PyComplex || !(right instanceof PyComplex)) throw new LiteralRefused();
    const left = Number(n);
    return op === '+' ? new PyComplex(left + right.re, right.im) : new PyComplex(left - right.re, -right.im);
  }

  /** A number constant: an int in any base, a float, or an imaginary number. */
  private number(): Num {
    const rest = this.s.slice(this.i);
    const based = BASED.exec(rest)?.[0];
    const text = based ?? DECIMAL.exec(rest)?.[0];
    if (!text) throw new LiteralRefused();
    this.i += text.length;
    const imaginary = based === undefined && /^[jJ]/.test(this.s.slice(this.i));
    if (imaginary) this.i++;
    if (/^[A-Za-z0-9_.]/.test(this.s.slice(this.i))) throw new LiteralRefused();
    const clean = text.replaceAll('_', '');
    if (based !== undefined) return BigInt(clean.replace(/^0[oO]/, '0o').replace(/^0[xX]/, '0x').replace(/^0[bB]/, '0b'));
    if (imaginary) return new PyComplex(0, Number(clean));
    if (/[.eE]/.test(clean)) return Number(clean);
    // A decimal int with a leading zero is a SyntaxError in Python 3 (unless it is all zeros).
    if (/^0[0-9]/.test(clean) && !/^0+$/.test(clean)) throw new LiteralRefused();
    return BigInt(clean);
  }

  /** A list's or a tuple's items up to `close` (after those in `out`, read already), a trailing comma allowed. */
  private items(close: string, out: PyValue[] = []): PyValue[] {
    for (;;) {
      if (this.eat(close)) return out;
      out.push(this.expr());
      if (this.eat(close)) return out;
      if (!this.eat(',')) throw new LiteralRefused();
    }
  }

  /** `(x)` is x; `()`, `(x,)` and `(x, y)` are tuples. Read once, left to right: going back over nested parentheses doubled the work at each level. */
  private paren(): PyValue {
    this.i++;
    if (this.eat(')')) return new PyTuple([]);
    const first = this.expr();
    if (this.eat(')')) return first;
    if (!this.eat(',')) throw new LiteralRefused();
    return new PyTuple(this.items(')', [first]));
  }

  /** `{}` and `{k: v, ...}` are dicts, `{x, ...}` a set. */
  private braces(): PyDict | PySet {
    this.i++;
    const dict = new PyDict();
    if (this.eat('}')) return dict;
    const first = this.expr();
    if (!this.eat(':')) {
      if (this.eat('}')) return new PySet([first]);
      if (!this.eat(',')) throw new LiteralRefused();
      return new PySet(this.items('}', [first]));
    }
    dict.put(first, this.expr());
    for (;;) {
      if (this.eat('}')) return dict;
      if (!this.eat(',')) throw new LiteralRefused();
      if (this.eat('}')) return dict;
      const key = this.expr();
      if (!this.eat(':')) throw new LiteralRefused();
      dict.put(key, this.expr());
    }
  }
}

/** ast.literal_eval(text): the value, or undefined where it raises. */
export function pyLiteralEval(text: string): PyValue | undefined {
  try {
    // literal_eval strips leading spaces and tabs, as the 'eval' mode it compiles in would refuse them.
    return new LiteralParser(text.replace(/^[ \t]+/, '')).parse();
  } catch (err) {
    // An unhashable key or set item is a TypeError; too deep for the stack, Python's parser refuses such nesting too.
    if (err instanceof LiteralRefused || err instanceof PyTypeError || err instanceof RangeError) return undefined;
    throw err;
  }
}
