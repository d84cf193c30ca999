// Python values as az's code sees what it parsed from a JSON or Python-literal argument, with the few
// Python behaviours that code relies on: a type's name (in its TypeErrors), truthiness, `in`, ==, str().

/**
 * A dict: insertion-ordered, any string key kept where it was put (a JavaScript object reorders numeric
 * ones). A key that is not a string (a literal's `{1: 'a'}`) is stored under its hash text (hashKey), with
 * the key itself in `otherKeys`.
 */
export class PyDict extends Map<string, PyValue> {
  readonly otherKeys = new Map<string, PyValue>();

  /** d[key] = value, for any hashable key: an equal key already there keeps its place and its spelling. */
  put(key: PyValue, value: PyValue): void {
    const stored = hashKey(key);
    if (typeof key !== 'string' && !this.otherKeys.has(stored)) this.otherKeys.set(stored, key);
    this.set(stored, value);
  }

  /** The keys as Python has them. */
  pyKeys(): PyValue[] {
    return [...this.keys()].map((k) => (this.otherKeys.has(k) ? this.otherKeys.get(k)! : k));
  }
}

/** A tuple, which Python's `in` and indexing treat apart from a list. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A set (ast.literal_eval's `{1, 2}` or `set()`): its distinct items, in the order given. */
export class PySet {
  readonly items: PyValue[] = [];
  constructor(items: PyValue[]) {
    const seen = new Set<string>();
    for (const item of items) {
      const h = hashKey(item);
      if (!seen.has(h)) (seen.add(h), this.items.push(item));
    }
  }
}

/** bytes (`b'...'`): its byte values. */
export class PyBytes {
  constructor(readonly bytes: number[]) {}
}

/** A complex number (`1j`, `1+2j`). */
export class PyComplex {
  constructor(
    readonly re: number,
    readonly im: number,
  ) {}
}

/** int is a bigint, float a number, list an array. */
export type PyValue = null | boolean | bigint | number | string | PyValue[] | PyTuple | PyDict | PySet | PyBytes | PyComplex;

/** A Python TypeError or AttributeError raised by az's own code: its "unexpected error", with the exception's text. */
export class PyTypeError extends Error {}

export function pyTypeName(v: PyValue): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PySet) return 'set';
  if (v instanceof PyBytes) return 'bytes';
  if (v instanceof PyComplex) return 'complex';
  return 'dict';
}

/**
 * The text a key is stored under: Python's hash equality (True, 1, 1.0 and 1+0j are one key), a string as
 * itself; an unhashable key (list, dict, set) is Python's TypeError.
 */
export function hashKey(v: PyValue): string {
  if (typeof v === 'string') return v;
  const n = typeof v === 'boolean' ? Number(v) : v instanceof PyComplex && v.im === 0 ? v.re : v;
  if (typeof n === 'bigint') return `\u0000n${n}`;
  if (typeof n === 'number') return Number.isInteger(n) ? `\u0000n${BigInt(n)}` : `\u0000n${Object.is(n, -0) ? 0 : n}`;
  if (n === null) return '\u0000None';
  if (n instanceof PyComplex) return `\u0000c${n.re},${n.im}`;
  if (n instanceof PyBytes) return `\u0000b${n.bytes.join(',')}`;
  if (n instanceof PyTuple) return `\u0000t(${n.items.map((x) => JSON.stringify(hashKey(x))).join(',')})`;
  throw new PyTypeError(`unhashable type: '${pyTypeName(v as PyValue)}'`);
}

export function pyTruthy(v: PyValue): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  if (v instanceof PyTuple || v instanceof PySet) return v.items.length > 0;
  if (v instanceof PyBytes) return v.bytes.length > 0;
  if (v instanceof PyComplex) return v.re !== 0 || v.im !== 0;
  return v.size > 0;
}

const isNumeric = (v: PyValue): v is boolean | bigint | number | PyComplex => typeof v === 'boolean' || typeof v === 'bigint' || typeof v === 'number' || v instanceof PyComplex;

/** Python's ==, for the values a JSON or literal argument holds. */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  if (isNumeric(a) && isNumeric(b)) {
    if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
    const parts = (v: typeof a) => (v instanceof PyComplex ? [v.re, v.im] : [Number(v), 0]);
    const [[ar, ai], [br, bi]] = [parts(a), parts(b)];
    return ar === br && ai === bi;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEquals(x, b[i]!));
  if (a instanceof PyTuple && b instanceof PyTuple) return pyEquals(a.items, b.items);
  if (a instanceof PySet && b instanceof PySet) return a.items.length === b.items.length && a.items.every((x) => b.items.some((y) => pyEquals(x, y)));
  if (a instanceof PyBytes && b instanceof PyBytes) return a.bytes.join() === b.bytes.join();
  if (a instanceof PyDict && b instanceof PyDict) return a.size === b.size && [...a].every(([k, v]) => b.has(k) && pyEquals(v, b.get(k)!));
  return a === b;
}

/** Python's iter(v): a list's items, a string's characters, a dict's keys; a TypeError for anything else. */
export function pyIterate(v: PyValue): PyValue[] {
  if (typeof v === 'string') return Array.from(v);
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple || v instanceof PySet) return v.items;
  if (v instanceof PyBytes) return v.bytes.map(BigInt);
  if (v instanceof PyDict) return v.pyKeys();
  throw new PyTypeError(`'${pyTypeName(v)}' object is not iterable`);
}

/** Python's `item in container`. */
export function pyContains(container: PyValue, item: string): boolean {
  if (typeof container === 'string') return container.includes(item);
  if (container instanceof PyDict) return container.has(item);
  if (container instanceof PyBytes) throw new PyTypeError("a bytes-like object is required, not 'str'");
  if (Array.isArray(container) || container instanceof PyTuple || container instanceof PySet) return pyIterate(container).some((x) => pyEquals(x, item));
  throw new PyTypeError(`argument of type '${pyTypeName(container)}' is not iterable`);
}

export { pyRepr, pyStr } from './py-repr.js';
