import { PyBytes, PyComplex, PyDict, PySet, PyTuple, type PyValue } from './py-value.js';

// Python's str() and repr() of the values a JSON or Python-literal argument holds, as az prints them in
// messages and msrest sends a value given for a string property (a tag's value): `1.0`, `1e+16`, `inf`,
// `(1+2j)`, `b'x'`, `{1, 2}`, `{'a': [True, None]}`.

/** The shortest digits that read back as |x|, and the exponent of the first: x = d.ddd × 10^exp. */
function shortest(x: number): { digits: string; exp: number } {
  const [mantissa, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  return { digits: mantissa.replace('.', ''), exp: Number(exp) };
}

/** repr(float): the shortest round-trip digits, positional from 1e-4 up to 1e16, else with an exponent. */
export function pyFloatRepr(x: number, complexPart = false): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0${complexPart ? '' : '.0'}`;
  const { digits, exp } = shortest(x);
  if (exp < -4 || exp >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  let text: string;
  if (exp < 0) text = `0.${'0'.repeat(-exp - 1)}${digits}`;
  else if (digits.length > exp + 1) text = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  else text = digits + '0'.repeat(exp + 1 - digits.length) + (complexPart ? '' : '.0');
  return sign + text;
}

/** repr(complex): `1j`, `(1+2j)`, `(-0-1j)`; its parts without `.0`. */
function complexRepr(c: PyComplex): string {
  const im = `${pyFloatRepr(c.im, true)}j`;
  if (c.re === 0 && !Object.is(c.re, -0)) return im;
  const sign = c.im < 0 || Object.is(c.im, -0) ? '' : '+';
  return `(${pyFloatRepr(c.re, true)}${sign}${im})`;
}

/** repr(bytes): b'...' with Python's quote choice and escapes. */
function bytesRepr(b: PyBytes): string {
  const quote = b.bytes.includes(0x27) && !b.bytes.includes(0x22) ? '"' : "'";
  const body = b.bytes
    .map((c) => {
      if (c === 0x5c) return '\\\\';
      if (c === quote.charCodeAt(0)) return `\\${quote}`;
      if (c === 0x09) return '\\t';
      if (c === 0x0a) return '\\n';
      if (c === 0x0d) return '\\r';
      if (c < 0x20 || c >= 0x7f) return `\\x${c.toString(16).padStart(2, '0')}`;
      return String.fromCharCode(c);
    })
    .join('');
  return `b${quote}${body}${quote}`;
}

// str.isprintable(): not a control, format, surrogate, private-use or unassigned character, nor a separator but ' '.
const NOT_PRINTABLE = /^[\p{C}\p{Z}]$/u;
const hex = (c: number, width: number) => c.toString(16).padStart(width, '0');

/** repr(str): single quotes unless the text has one and no double quote; Python's escapes. */
function stringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch !== ' ' && NOT_PRINTABLE.test(ch)) out += c < 0x100 ? `\\x${hex(c, 2)}` : c < 0x10000 ? `\\u${hex(c, 4)}` : `\\U${hex(c, 8)}`;
    else out += ch;
  }
  return quote + out + quote;
}

export function pyRepr(v: PyValue): string {
  if (typeof v === 'string') return stringRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof PyTuple) return v.items.length === 1 ? `(${pyRepr(v.items[0]!)},)` : `(${v.items.map(pyRepr).join(', ')})`;
  if (v instanceof PySet) return v.items.length === 0 ? 'set()' : `{${v.items.map(pyRepr).join(', ')}}`;
  if (v instanceof PyDict) return `{${v.pyKeys().map((k, i) => `${pyRepr(k)}: ${pyRepr([...v.values()][i]!)}`).join(', ')}}`;
  return pyStr(v);
}

/** Python's str(v), as msrest sends a value given for a string property. */
export function pyStr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return pyFloatRepr(v);
  if (v instanceof PyComplex) return complexRepr(v);
  if (v instanceof PyBytes) return bytesRepr(v);
  return pyRepr(v);
}
