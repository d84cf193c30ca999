// Python values as az's code sees what it parsed from a JSON or Python-literal argument, with the few
// Python behaviours that code relies on: a type's name (in its TypeErrors), truthiness, `in`, str().

/** A dict: insertion-ordered, any string key kept where it was put (a JavaScript object reorders numeric ones). */
export class PyDict extends Map<string, PyValue> {}

/** A tuple, which Python's `in` and indexing treat apart from a list. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** int is a bigint, float a number, list an array. */
export type PyValue = null | boolean | bigint | number | string | PyValue[] | PyTuple | PyDict;

export function pyTypeName(v: PyValue): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  return v instanceof PyTuple ? 'tuple' : 'dict';
}

export function pyTruthy(v: PyValue): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  return v instanceof PyTuple ? v.items.length > 0 : v.size > 0;
}

/** Python's ==, for the values a JSON or literal argument holds. */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  const num = (v: PyValue) => (typeof v === 'boolean' ? Number(v) : typeof v === 'bigint' ? Number(v) : v);
  if ((typeof a === 'number' || typeof a === 'bigint' || typeof a === 'boolean') && (typeof b === 'number' || typeof b === 'bigint' || typeof b === 'boolean')) {
    return typeof a === 'bigint' && typeof b === 'bigint' ? a === b : num(a) === num(b);
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEquals(x, b[i]!));
  if (a instanceof PyTuple && b instanceof PyTuple) return pyEquals(a.items, b.items);
  if (a instanceof PyDict && b instanceof PyDict) return a.size === b.size && [...a].every(([k, v]) => b.has(k) && pyEquals(v, b.get(k)!));
  return a === b;
}

/** Python's iter(v): a list's items, a string's characters, a dict's keys; a TypeError for anything else. */
export function pyIterate(v: PyValue): PyValue[] {
  if (typeof v === 'string') return Array.from(v);
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple) return v.items;
  if (v instanceof PyDict) return [...v.keys()];
  throw new PyTypeError(`'${pyTypeName(v)}' object is not iterable`);
}

/** Python's `item in container`. */
export function pyContains(container: PyValue, item: string): boolean {
  if (typeof container === 'string') return container.includes(item);
  if (container instanceof PyDict) return container.has(item);
  if (Array.isArray(container) || container instanceof PyTuple) return pyIterate(container).some((x) => pyEquals(x, item));
  throw new PyTypeError(`argument of type '${pyTypeName(container)}' is not iterable`);
}

/** Python's str(v), as msrest sends a value given for a string property. */
export function pyStr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e16 ? v.toFixed(1) : Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  return pyRepr(v);
}

function pyRepr(v: PyValue): string {
  if (typeof v === 'string') return `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof PyTuple) return v.items.length === 1 ? `(${pyRepr(v.items[0]!)},)` : `(${v.items.map(pyRepr).join(', ')})`;
  if (v instanceof PyDict) return `{${[...v].map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return pyStr(v);
}

/** A Python TypeError or AttributeError raised by az's own code: its "unexpected error", with the exception's text. */
export class PyTypeError extends Error {}
