// Python's json.loads (CPython 3.11's C scanner), for the arguments az reads as JSON: the same values, and
// on a mistake the same message (`Expecting value: line 1 column 1 (char 0)`), which az echoes to the user.
// Python's types are kept apart where az's code later tells them apart: an int is a bigint, a float a
// number, a dict a null-prototype object, a list an array (py-value.ts).

import { PyDict } from './py-value.js';
import type { PyValue } from './py-value.js';
import { unexpectedError } from './cli-error.js';

/** json.JSONDecodeError's message: what went wrong, and where (in code points, as Python counts). */
export class PyJsonError extends Error {
  constructor(what: string, chars: string[], pos: number) {
    const before = chars.slice(0, pos);
    const line = before.filter((c) => c === '\n').length + 1;
    const column = pos - before.lastIndexOf('\n');
    super(`${what}: line ${line} column ${column} (char ${pos})`);
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /^(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?/;

/** Where no value starts: Python's StopIteration, which json.loads reports as "Expecting value". */
class NoValue {
  constructor(readonly pos: number) {}
}

class Scanner {
  constructor(private readonly c: string[]) {}

  skip(i: number): number {
    while (i < this.c.length && WHITESPACE.has(this.c[i]!)) i++;
    return i;
  }

  private fail(what: string, pos: number): never {
    throw new PyJsonError(what, this.c, pos);
  }

  private startsWith(word: string, i: number): boolean {
    return this.c.slice(i, i + word.length).join('') === word;
  }

  value(i: number): [PyValue, number] {
    const ch = this.c[i];
    if (ch === undefined) throw new NoValue(i);
    if (ch === '"') return this.string(i + 1);
    if (ch === '{') return this.object(i + 1);
    if (ch === '[') return this.array(i + 1);
    for (const [word, value] of [['null', null], ['true', true], ['false', false], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]] as const) {
      if (this.startsWith(word, i)) return [value, i + word.length];
    }
    const m = NUMBER.exec(this.c.slice(i, i + 400).join(''));
    if (m) {
      const value = m[2] === undefined && m[3] === undefined ? BigInt(m[1]!) : Number(m[0]);
      return [value, i + m[0].length];
    }
    throw new NoValue(i);
  }

  private string(begin: number): [string, number] {
    let out = '';
    let i = begin;
    for (;;) {
      const ch = this.c[i];
      if (ch === undefined) this.fail('Unterminated string starting at', begin - 1);
      if (ch === '"') return [out, i + 1];
      if (ch.codePointAt(0)! < 0x20) this.fail('Invalid control character at', i);
      if (ch !== '\\') {
        out += ch;
        i++;
        continue;
      }
      const esc = this.c[i + 1];
      if (esc === undefined) this.fail('Unterminated string starting at', begin - 1);
      if (esc !== 'u') {
        if (!(esc in ESCAPES)) this.fail('Invalid \\escape', i);
        out += ESCAPES[esc];
        i += 2;
        continue;
      }
      let unit = this.hex4(i + 2, i + 1);
      i += 6;
      // A high surrogate followed by an escaped low one is one character; any other stays as it is.
      if (unit >= 0xd800 && unit <= 0xdbff && this.c[i] === '\\' && this.c[i + 1] === 'u') {
        const low = this.hex4(i + 2, i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
          i += 6;
        }
      }
      out += String.fromCodePoint(unit);
    }
  }

  private hex4(at: number, errorAt: number): number {
    const digits = this.c.slice(at, at + 4).join('');
    // The C scanner needs the four digits and a closing quote after them.
    if (at + 4 >= this.c.length || !/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('Invalid \\uXXXX escape', errorAt);
    return parseInt(digits, 16);
  }

  private object(start: number): [PyDict, number] {
    const dict = new PyDict();
    let i = this.skip(start);
    if (this.c[i] === '}') return [dict, i + 1];
    for (;;) {
      if (this.c[i] !== '"') this.fail('Expecting property name enclosed in double quotes', i);
      const [key, afterKey] = this.string(i + 1);
      i = this.skip(afterKey);
      if (this.c[i] !== ':') this.fail("Expecting ':' delimiter", i);
      const [value, afterValue] = this.value(this.skip(i + 1));
      dict.set(key, value);
      i = this.skip(afterValue);
      if (this.c[i] === '}') return [dict, i + 1];
      if (this.c[i] !== ',') this.fail("Expecting ',' delimiter", i);
      i = this.skip(i + 1);
    }
  }

  private array(start: number): [PyValue[], number] {
    const list: PyValue[] = [];
    let i = this.skip(start);
    if (this.c[i] === ']') return [list, i + 1];
    for (;;) {
      const [value, after] = this.value(i);
      list.push(value);
      i = this.skip(after);
      if (this.c[i] === ']') return [list, i + 1];
      if (this.c[i] !== ',') this.fail("Expecting ',' delimiter", i);
      i = this.skip(i + 1);
    }
  }
}

/** json.loads(text): the value, or a PyJsonError with Python's message. */
export function pyJsonLoads(text: string): PyValue {
  const chars = Array.from(text);
  if (chars[0] === '\ufeff') throw new PyJsonError('Unexpected UTF-8 BOM (decode using utf-8-sig)', chars, 0);
  const scanner = new Scanner(chars);
  try {
    const [value, end] = scanner.value(scanner.skip(0));
    const rest = scanner.skip(end);
    if (rest !== chars.length) throw new PyJsonError('Extra data', chars, rest);
    return value;
  } catch (err) {
    if (err instanceof NoValue) throw new PyJsonError('Expecting value', chars, err.pos);
    // Nesting too deep for the stack: Python's json stops at its recursion limit, an error az does not catch.
    if (err instanceof RangeError) {
      const kind = text.trimStart().startsWith('{') ? 'object' : 'array';
      throw unexpectedError(`maximum recursion depth exceeded while decoding a JSON ${kind} from a unicode string`);
    }
    throw err;
  }
}
