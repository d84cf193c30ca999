import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import jmespath from 'jmespath';
import { isExpref, pythonBuiltins, PythonQueryError } from './jmespath-python-builtins.js';
import { pyRepr } from './table-format.js';

export { PythonQueryError } from './jmespath-python-builtins.js';

// --query searched as Python's jmespath 1.0.1 (the one az 2.45 runs) searches: jmespath.js evaluates, with
// its function calls checked as Python's checks them, so a query that fails on the data fails with
// Python's message (`In function length(), invalid type for value: 90, expected one of: [...], received:
// "number"`), and min_by and max_by give Python's answers (the first of equal extremes; string keys too).
// jmespath.js keeps its function runtime inside its module, so the module's own file is loaded once more
// with the runtime exported, and Python's checks replace its own there.

type Value = unknown;
type Expref = { jmespathType: string };
interface Signature {
  types: string[];
  variadic?: boolean;
}
interface Runtime {
  _interpreter: { visit(node: Expref, value: Value): Value };
  _validateArgs(name: string, args: Value[], signature: unknown): void;
  _functionSortBy(args: Value[]): Value;
  _functionMinBy(args: Value[]): Value;
  _functionMaxBy(args: Value[]): Value;
  _functionType(args: Value[]): Value;
}


// Python's signatures (jmespath/functions.py): the order of the types is the order the messages list them in.
const SIGNATURES: Record<string, Signature[]> = {
  abs: [{ types: ['number'] }],
  avg: [{ types: ['array-number'] }],
  ceil: [{ types: ['number'] }],
  contains: [{ types: ['array', 'string'] }, { types: [] }],
  ends_with: [{ types: ['string'] }, { types: ['string'] }],
  floor: [{ types: ['number'] }],
  join: [{ types: ['string'] }, { types: ['array-string'] }],
  keys: [{ types: ['object'] }],
  length: [{ types: ['string', 'array', 'object'] }],
  map: [{ types: ['expref'] }, { types: ['array'] }],
  max: [{ types: ['array-number', 'array-string'] }],
  max_by: [{ types: ['array'] }, { types: ['expref'] }],
  merge: [{ types: ['object'], variadic: true }],
  min: [{ types: ['array-number', 'array-string'] }],
  min_by: [{ types: ['array'] }, { types: ['expref'] }],
  not_null: [{ types: [], variadic: true }],
  reverse: [{ types: ['array', 'string'] }],
  sort: [{ types: ['array-string', 'array-number'] }],
  sort_by: [{ types: ['array'] }, { types: ['expref'] }],
  starts_with: [{ types: ['string'] }, { types: ['string'] }],
  sum: [{ types: ['array-number'] }],
  to_array: [{ types: [] }],
  to_number: [{ types: [] }],
  to_string: [{ types: [] }],
  type: [{ types: [] }],
  values: [{ types: ['object'] }],
};

// Python's type names for each JMESPath type (REVERSE_TYPES_MAP), and back (TYPES_MAP).
const PY_TYPES: Record<string, string[]> = {
  object: ['dict', 'OrderedDict'],
  array: ['list'],
  string: ['str'],
  number: ['float', 'int'],
  boolean: ['bool'],
  null: ['NoneType'],
  expref: ['_Expression'],
};
const JMESPATH_TYPE: Record<string, string> = { dict: 'object', OrderedDict: 'object', list: 'array', str: 'string', float: 'number', int: 'number', bool: 'boolean', NoneType: 'null', _Expression: 'expref' };


let isOrdered: (o: object) => boolean = () => false;

/** type(v).__name__ for a value from JSON (an integral number is an int) or built by the query. */
function pyType(v: Value): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e16 ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  if (isExpref(v)) return '_Expression';
  return isOrdered(v as object) ? 'OrderedDict' : 'dict';
}

/** Python's str(v), as JMESPathTypeError's message shows the value. */
const pyStr = (v: Value) => (typeof v === 'string' ? v : isExpref(v) ? '<jmespath.visitor._Expression object>' : pyRepr(v, isOrdered));

/** A list of strings as Python's repr shows it. */
const pyList = (items: string[]) => `[${items.map((t) => `'${t}'`).join(', ')}]`;

const typeError = (name: string, value: Value, received: string, expected: string[]) =>
  new Error(`In function ${name}(), invalid type for value: ${pyStr(value)}, expected one of: ${pyList(expected)}, received: "${received}"`);

/** Python's _type_check_single: the value's own type, then (for typed arrays) its elements'. */
function checkType(name: string, value: Value, types: string[]): void {
  const allowed = types.flatMap((t) => PY_TYPES[t.split('-')[0]!]!);
  const subtypes = types.filter((t) => t.includes('-')).map((t) => PY_TYPES[t.split('-')[1]!]!);
  const actual = pyType(value);
  if (!allowed.includes(actual)) throw typeError(name, value, JMESPATH_TYPE[actual] ?? 'unknown', types);
  if (subtypes.length === 0 || !Array.isArray(value)) return;
  // One element type, or the one the first element picks; Python names the element's own type here.
  let wanted = subtypes[0]!;
  if (subtypes.length > 1 && value.length > 0) {
    const first = pyType(value[0]);
    const match = subtypes.find((s) => s.includes(first));
    if (!match) throw typeError(name, value[0], first, types);
    wanted = match;
  }
  for (const element of value) if (!wanted.includes(pyType(element))) throw typeError(name, element, pyType(element), types);
}

function validateArgs(name: string, args: Value[]): void {
  const signature = SIGNATURES[name]!;
  const count = signature.length;
  const plural = count === 1 ? 'argument' : 'arguments';
  if (signature[count - 1]!.variadic) {
    if (args.length < count) throw new Error(`Expected at least ${count} ${plural} for function ${name}(), received ${args.length}`);
  } else if (args.length !== count) {
    throw new Error(`Expected ${count} ${plural} for function ${name}(), received ${args.length}`);
  }
  signature.forEach((spec, i) => spec.types.length > 0 && checkType(name, args[i], spec.types));
}

/** The keys of sort_by, min_by and max_by, each checked as it is computed, in the array's order. */
function keysOf(runtime: Runtime, name: string, array: Value[], expref: Expref, allowed: string[]): Value[] {
  return array.map((element) => {
    const key = runtime._interpreter.visit(expref, element);
    const type = JMESPATH_TYPE[pyType(key)] ?? 'unknown';
    if (!allowed.includes(type)) throw typeError(name, key, type, allowed);
    return key;
  });
}

/** Python's < and > between two keys: numbers with numbers, strings with strings (by code point). */
function compare(a: Value, b: Value, op: '<' | '>'): number {
  if (typeof a !== typeof b) throw new PythonQueryError(`'${op}' not supported between instances of '${pyType(a)}' and '${pyType(b)}'`);
  if (typeof a === 'number') return a - (b as number);
  const [x, y] = [Array.from(a as string), Array.from(b as string)];
  for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
  return x.length - y.length;
}

/** min() or max() with a key: the first of equal extremes, Python's TypeError for mixed keys. */
function extreme(runtime: Runtime, name: 'min_by' | 'max_by', [array, expref]: Value[]): Value {
  const list = array as Value[];
  if (list.length === 0) return null;
  const keys = keysOf(runtime, name, list, expref as Expref, ['number', 'string']);
  const op = name === 'min_by' ? '<' : '>';
  let best = 0;
  for (let i = 1; i < list.length; i++) {
    const c = compare(keys[i], keys[best], op);
    if (op === '<' ? c < 0 : c > 0) best = i;
  }
  return list[best];
}

/** Python's ordering operators (visit_comparator): numbers or strings only, else null; a number against a string is its TypeError. */
const ORDERING: Record<string, [op: string, holds: (c: number) => boolean]> = {
  LT: ['<', (c) => c < 0],
  LTE: ['<=', (c) => c <= 0],
  GT: ['>', (c) => c > 0],
  GTE: ['>=', (c) => c >= 0],
};
const comparable = (v: Value): boolean => typeof v === 'number' || typeof v === 'string';

function ordered(first: Value, second: Value, name: string): Value {
  const [op, holds] = ORDERING[name]!;
  if (!comparable(first) || !comparable(second)) return null;
  if (typeof first !== typeof second) throw new PythonQueryError(`'${op}' not supported between instances of '${pyType(first)}' and '${pyType(second)}'`);
  return holds(typeof first === 'number' ? first - (second as number) : compare(first, second, '<'));
}

function patched(): { search(data: Value, query: string): Value } {
  const require = createRequire(import.meta.url);
  const source = readFileSync(require.resolve('jmespath'), 'utf8');
  const mark = 'exports.search = search;';
  if (!source.includes(mark)) throw new Error('jmespath.js: unexpected module layout (no exports.search)');
  type Node = { type: string; name: string; children: [Node, Node] };
  type Interpreter = { visit(node: Node, value: Value): Value };
  const lib = {} as { search(data: Value, query: string): Value; Runtime: { prototype: Runtime }; TreeInterpreter: { prototype: Interpreter } };
  const load = vm.runInThisContext(`(function (exports) {\n${source.replace(mark, `${mark} exports.Runtime = Runtime; exports.TreeInterpreter = TreeInterpreter;`)}\n})`) as (exports: object) => void;
  load(lib);
  const visit = lib.TreeInterpreter.prototype.visit;
  lib.TreeInterpreter.prototype.visit = function (this: Interpreter, node: Node, value: Value) {
    if (node.type !== 'Comparator' || !(node.name in ORDERING)) return visit.call(this, node, value);
    return ordered(this.visit(node.children[0], value), this.visit(node.children[1], value), node.name);
  };
  const proto = lib.Runtime.prototype;
  proto._validateArgs = (name, args) => validateArgs(name, args);
  proto._functionSortBy = function (this: Runtime, [array, expref]: Value[]) {
    const list = array as Value[];
    if (list.length === 0) return list;
    const first = JMESPATH_TYPE[pyType(this._interpreter.visit(expref as Expref, list[0]))] ?? 'unknown';
    if (first !== 'number' && first !== 'string') throw typeError('sort_by', list[0], first, ['string', 'number']);
    const keys = keysOf(this, 'sort_by', list, expref as Expref, [first]);
    // Python's sorted() is stable.
    return list.map((v, i) => [v, i] as const).sort(([, i], [, j]) => compare(keys[i], keys[j], '<') || i - j).map(([v]) => v);
  };
  proto._functionMinBy = function (this: Runtime, args: Value[]) {
    return extreme(this, 'min_by', args);
  };
  proto._functionMaxBy = function (this: Runtime, args: Value[]) {
    return extreme(this, 'max_by', args);
  };
  Object.assign(proto, pythonBuiltins(pyType, proto._functionType.bind(proto)));
  return lib;
}

// Loaded at the first --query, not at every command's start.
let jmespathPython: ReturnType<typeof patched> | undefined;

interface Token {
  type: string;
  start: number;
}
const tokenize = (jmespath as unknown as { tokenize(query: string): Token[] }).tokenize;

/**
 * The query as jmespath.js parses it as Python does: jmespath.js reads a function argument that starts
 * with `@` as `@` alone, refusing `length(@.id)` or `f(@ == x)`; each such `@` is parenthesised, which
 * changes nothing in the value.
 */
export function asJmespathJs(query: string): string {
  let tokens: Token[];
  try {
    tokens = tokenize(query);
  } catch {
    return query;
  }
  let out = query;
  for (let i = tokens.length - 1; i > 0; i--) {
    const before = tokens[i - 1]!.type;
    if (tokens[i]!.type === 'Current' && (before === 'Lparen' || before === 'Comma')) out = `${out.slice(0, tokens[i]!.start)}(@)${out.slice(tokens[i]!.start + 1)}`;
  }
  return out;
}

/**
 * Whether a `literal`, 'raw string' or "quoted identifier" runs to the end unclosed (a backslash escapes the
 * next character), which Python's jmespath refuses ("Unclosed ` delimiter") and jmespath.js reads as closed.
 */
export function hasUnclosedDelimiter(query: string): boolean {
  for (let i = 0; i < query.length; i++) {
    const open = query[i];
    if (open !== '`' && open !== "'" && open !== '"') continue;
    let j = i + 1;
    while (j < query.length && query[j] !== open) j += query[j] === '\\' ? 2 : 1;
    if (j >= query.length) return true;
    i = j;
  }
  return false;
}

/** jmespath.search(query, data) as Python's; `ordered` tells the objects the query builds (OrderedDicts) apart. */
export function searchAsPython(data: Value, query: string, ordered: (o: object) => boolean): Value {
  isOrdered = ordered;
  jmespathPython ??= patched();
  return jmespathPython.search(data, asJmespathJs(query));
}
