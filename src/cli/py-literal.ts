// Python's ast.literal_eval (3.11), which az's shell_safe_json_parse falls back to when an argument is not
// JSON, so that `{'ip': ['1.2.3.4']}` (a Python dict, as Windows shells leave it) is read as az reads it:
// strings and bytes (py-literal-strings.ts), ints in any base (`0x10`, `0o7`, `0b1`, `1_000`), floats,
// imaginary numbers and `1+2j`, one sign on a number, True, False, None, lists, tuples, sets (`set()`
// too) and dicts with any hashable keys, parentheses anywhere (`-(1)`), comments and line breaks where Python's
// tokenizer takes them. Anything else is undefined here, and the JSON error is reported, as az does for what
// literal_eval refuses; so are Ellipsis (`...`) and named escapes (`'\N{BULLET}'`), which coffer does not read.

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

/**
 * A parsed expression before literal_eval's checks: parentheses leave no trace in Python's AST, so `-(1)` is a
 * UnaryOp on a constant and `(1)+2j` a BinOp, as `-1` and `1+2j` are.
 */
type Node = { kind: 'value'; value: PyValue; number: boolean } | { kind: 'unary'; sign: string; operand: Node } | { kind: 'binary'; op: string; left: Node; right: Node };

/** literal_eval's _convert_num: a number constant (not a bool). */
function convertNum(node: Node): Num {
  if (node.kind !== 'value' || !node.number) throw new LiteralRefused();
  return node.value as Num;
}

/** _convert_signed_num: a number constant, with one sign at most. */
function convertSigned(node: Node): Num {
  if (node.kind !== 'unary') return convertNum(node);
  const n = convertNum(node.operand);
  return node.sign === '-' ? negate(n) : n;
}

/** _convert: what is not a plain value must be a signed number, or an int or float plus or minus an imaginary one. */
function convert(node: Node): PyValue {
  if (node.kind === 'value') return node.value;
  if (node.kind === 'unary') return convertSigned(node);
  const left = convertSigned(node.left);
  const right = convertNum(node.right);
  if (left instanceof PyComplex || !(right instanceof PyComplex)) throw new LiteralRefused();
  return node.op === '+' ? new PyComplex(Number(left) + right.re, right.im) : new PyComplex(Number(left) - right.re, -right.im);
}

class LiteralParser {
  private i = 0;
  /** Brackets open: outside them, a line break ends the expression (a comment, or a backslash before it, does not). */
  private depth = 0;
  constructor(private readonly s: string) {}

  parse(): PyValue {
    // Blank lines and comments may come first; the line the expression starts on may not be indented.
    let lineStart = -1;
    for (this.space(); this.s[this.i] === '\n' || this.s[this.i] === '\r'; this.space()) lineStart = ++this.i;
    if (lineStart >= 0 && ' \t'.includes(this.s[lineStart] ?? '\n')) throw new LiteralRefused();
    const v = this.expr();
    this.space();
    // The logical line ends: blank lines and comments may follow.
    while (this.s[this.i] === '\n' || this.s[this.i] === '\r') {
      this.i++;
      this.depth++;
      this.space();
      this.depth--;
    }
    if (this.i !== this.s.length) throw new LiteralRefused();
    return v;
  }

  private skip = (i: number): number => {
    for (;;) {
      const ch = this.s[i];
      if (ch === undefined) return i;
      if (' \t\f'.includes(ch) || (this.depth > 0 && '\n\r'.includes(ch))) i++;
      else if (ch === '\\' && /^\\\r?\n/.test(this.s.slice(i, i + 3))) i = this.s.indexOf('\n', i) + 1;
      else if (ch === '#') while (i < this.s.length && !'\n\r'.includes(this.s[i]!)) i++;
      else return i;
    }
  };

  private space(): void {
    this.i = this.skip(this.i);
  }

  private eat(text: string): boolean {
    this.space();
    if (!this.s.startsWith(text, this.i)) return false;
    this.i += text.length;
    if (text === ')' || text === ']' || text === '}') this.depth--;
    return true;
  }

  private open(): void {
    this.i++;
    this.depth++;
  }

  private expr(): PyValue {
    return convert(this.sum());
  }

  /** Operands joined by + or - (a BinOp, left to right), which convert() then checks. */
  private sum(): Node {
    let left = this.unary();
    for (;;) {
      this.space();
      const op = this.s[this.i];
      if (op !== '+' && op !== '-') return left;
      this.i++;
      left = { kind: 'binary', op, left, right: this.unary() };
    }
  }

  private unary(): Node {
    this.space();
    const sign = this.s[this.i];
    if (sign === '+' || sign === '-') {
      this.i++;
      return { kind: 'unary', sign, operand: this.unary() };
    }
    return this.atom();
  }

  private atom(): Node {
    const ch = this.s[this.i];
    if (ch === undefined) throw new LiteralRefused();
    const value = (v: PyValue, number = false): Node => ({ kind: 'value', value: v, number });
    if (ch === '[') {
      this.open();
      return value(this.items(']'));
    }
    if (ch === '(') return this.paren();
    if (ch === '{') return value(this.braces());
    if (startsString(this.s, this.i)) {
      const { value: text, end } = readStrings(this.s, this.i, this.skip);
      this.i = end;
      return value(text);
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i))?.[0];
    if (word === 'True' || word === 'False' || word === 'None') {
      this.i += word.length;
      return value(word === 'None' ? null : word === 'True');
    }
    // set(): the one call literal_eval takes.
    if (word === 'set' && /^set\s*\(\s*\)/.test(this.s.slice(this.i))) {
      this.i = this.s.indexOf(')', this.i) + 1;
      return value(new PySet([]));
    }
    return value(this.number(), true);
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
  private paren(): Node {
    this.open();
    const tuple = (items: PyValue[]): Node => ({ kind: 'value', value: new PyTuple(items), number: false });
    if (this.eat(')')) return tuple([]);
    const first = this.sum();
    if (this.eat(')')) return first;
    if (!this.eat(',')) throw new LiteralRefused();
    return tuple(this.items(')', [convert(first)]));
  }

  /** `{}` and `{k: v, ...}` are dicts, `{x, ...}` a set. */
  private braces(): PyDict | PySet {
    this.open();
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
