// The jmespath builtins whose bodies are Python code that jmespath.js does not reproduce (jmespath/functions.py
// 1.0.1): contains (Python's `in`), merge (dict.update on every argument after the first, which the signature
// does not check), to_number (int(), else float()), type (None for an expref) and avg (None for []). Where Python's own code
// raises, the error is Python's, which az reports as its unexpected error.

type Value = unknown;

/** Python's own exception inside a function (no JMESPathError): az's unexpected error. */
export class PythonQueryError extends Error {}

export const isExpref = (v: Value): boolean =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { jmespathType?: unknown }).jmespathType === 'Expref';

const isDict = (v: Value): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v) && !isExpref(v);

/** Python's == between values read from JSON (True == 1, dicts by their items). */
export function pyEq(a: Value, b: Value): boolean {
  const numeric = (v: Value) => typeof v === 'number' || typeof v === 'boolean';
  if (numeric(a) && numeric(b)) return Number(a) === Number(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  if (isDict(a) && isDict(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && pyEq(a[k], b[k]));
  }
  return a === b;
}

/** _func_contains: `search in subject`, a string or a list (the signature checked which). */
function contains(subject: Value, search: Value, pyType: (v: Value) => string): boolean {
  if (typeof subject === 'string') {
    if (typeof search !== 'string') throw new PythonQueryError(`'in <string>' requires string as left operand, not ${pyType(search)}`);
    return subject.includes(search);
  }
  return (subject as Value[]).some((x) => pyEq(x, search));
}

/** A merged dict: each key with the text json.dumps writes for it, under Python's hash (True is 1, 1.0 is 1). */
type Merged = Map<string, [string, Value]>;

function put(merged: Merged, key: Value, value: Value, pyType: (v: Value) => string): void {
  let text: string;
  let hash: string;
  if (typeof key === 'string') [text, hash] = [key, `s${key}`];
  else if (key === null) [text, hash] = ['null', 'None'];
  else if (typeof key === 'boolean' || typeof key === 'number') [text, hash] = [String(key), `n${Number(key)}`];
  else throw new PythonQueryError(`unhashable type: '${pyType(key)}'`);
  // dict keeps the key it was first given, and its place; the value is the last one.
  merged.set(hash, [merged.get(hash)?.[0] ?? text, value]);
}

/** dict.update(arg): a dict's items, else an iterable of pairs (PyDict_MergeFromSeq2's checks and messages). */
function update(merged: Merged, arg: Value, pyType: (v: Value) => string): void {
  if (isDict(arg)) {
    for (const [k, v] of Object.entries(arg)) put(merged, k, v, pyType);
    return;
  }
  if (!Array.isArray(arg) && typeof arg !== 'string') throw new PythonQueryError(`'${pyType(arg)}' object is not iterable`);
  const items: Value[] = typeof arg === 'string' ? Array.from(arg) : arg;
  items.forEach((item, i) => {
    // PySequence_Fast: a string is its characters, a list its items, a dict its keys.
    const pair: Value[] | undefined = typeof item === 'string' ? Array.from(item) : Array.isArray(item) ? item : isDict(item) ? Object.keys(item) : undefined;
    if (pair === undefined) throw new PythonQueryError(`cannot convert dictionary update sequence element #${i} to a sequence`);
    if (pair.length !== 2) throw new PythonQueryError(`dictionary update sequence element #${i} has length ${pair.length}; 2 is required`);
    put(merged, pair[0], pair[1], pyType);
  });
}

function merge(args: Value[], pyType: (v: Value) => string): Record<string, Value> {
  const merged: Merged = new Map();
  for (const arg of args) update(merged, arg, pyType);
  return Object.fromEntries(merged.values());
}

// str.strip()'s whitespace (str.isspace): JavaScript's \s without U+FEFF, with U+001C to U+001F and U+0085.
const SPACE = '\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WHITESPACE = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, 'g');
const DIGITS = '[0-9](?:_?[0-9])*';
const INT = new RegExp(`^[+-]?${DIGITS}$`);
const FLOAT = new RegExp(`^[+-]?(?:(?:${DIGITS})?\\.${DIGITS}|${DIGITS}\\.?)(?:[eE][+-]?${DIGITS})?$`);
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/** _func_to_number: a number as it is; a string through int(), else float(); None for anything else. */
function toNumber(arg: Value, pyType: (v: Value) => string): Value {
  if (arg === null || typeof arg === 'boolean' || Array.isArray(arg) || isDict(arg)) return null;
  if (typeof arg === 'number') return arg;
  if (typeof arg !== 'string') throw new PythonQueryError(`int() argument must be a string, a bytes-like object or a real number, not '${pyType(arg)}'`);
  const text = arg.replace(PY_WHITESPACE, '');
  if (INT.test(text) || FLOAT.test(text)) return Number(text.replaceAll('_', ''));
  const special = SPECIAL.exec(text);
  if (!special) return null;
  if (special[2]!.toLowerCase() === 'nan') return NaN;
  return special[1] === '-' ? -Infinity : Infinity;
}

interface Builtins {
  _functionAvg(args: Value[]): Value;
  _functionContains(args: Value[]): Value;
  _functionMerge(args: Value[]): Value;
  _functionToNumber(args: Value[]): Value;
  _functionType(args: Value[]): Value;
}

/** Python's bodies for the runtime's prototype; `pyType` names a value's Python type. */
export function pythonBuiltins(pyType: (v: Value) => string, jsType: (args: Value[]) => Value): Builtins {
  return {
    // `sum(arg) / float(len(arg))` only for a list that is not empty: None for [], where jmespath.js divides by zero.
    _functionAvg: ([arg]) => ((arg as number[]).length === 0 ? null : (arg as number[]).reduce((a, b) => a + b, 0) / (arg as number[]).length),
    _functionContains: ([subject, search]) => contains(subject, search, pyType),
    _functionMerge: (args) => merge(args, pyType),
    _functionToNumber: ([arg]) => toNumber(arg, pyType),
    // Python's type() answers None for an expref (no branch matches it).
    _functionType: (args) => (isExpref(args[0]) ? null : jsType(args)),
  };
}
