import { unexpectedError } from './cli-error.js';
import { pyJsonLoads } from './py-json.js';
import { pyLiteralEval } from './py-literal.js';
import { PyBytes, PyComplex, PyDict, PySet, PyTuple, pyEquals, pyRepr, pyStr, pyTruthy, type PyValue } from './py-value.js';

// The values az's generic update (--set, --add, a list filter's `[key=value]`) reads from the command line
// (shell_safe_json_parse: json.loads, else ast.literal_eval, else the text itself), kept with their Python
// types inside the resource's JSON: an int is a bigint, a float a number (`1.0` stays a float), a dict of
// string keys a plain object (so that later paths walk into it), and a tuple, set, bytes, complex number
// or dict of other keys a py-value.ts object. Numbers the resource came with are JavaScript numbers.

/** Objects made from the command line's values: plain dicts whatever the model says. */
export const plainDicts = new WeakSet<object>();

/** A plain object (the resource's JSON, or a dict the command line gave), not one of py-value.ts's classes. */
export const isObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** Sets an own key, `__proto__` included (a plain assignment of that name would replace the object's prototype). */
export const put = (obj: Record<string, unknown>, key: string, value: unknown) => Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });

function toTree(v: PyValue): unknown {
  if (Array.isArray(v)) return v.map(toTree);
  if (v instanceof PyDict && v.otherKeys.size === 0) {
    const obj: Record<string, unknown> = {};
    for (const [k, x] of v) put(obj, k, toTree(x));
    plainDicts.add(obj);
    return obj;
  }
  return v;
}

/** A value as az reads it (shell_safe_json_parse, any failure leaving the text as it is). */
export function parseValue(text: string): unknown {
  let value: PyValue | undefined;
  try {
    value = pyJsonLoads(text);
  } catch {
    value = pyLiteralEval(text);
  }
  return value === undefined ? text : toTree(value);
}

/** The Python value a tree value stands for (a JavaScript number the resource holds is an int when integral). */
function toPy(v: unknown, fromResource = true): PyValue {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map((x) => toPy(x, fromResource));
  if (isObject(v)) {
    const dict = new PyDict();
    for (const [k, x] of Object.entries(v)) dict.set(k, toPy(x, fromResource && !plainDicts.has(v)));
    return dict;
  }
  if (typeof v === 'number' && fromResource && Number.isInteger(v) && Math.abs(v) < 2 ** 53) return BigInt(v);
  return v as PyValue;
}

/** Python's str() of a value the command line gave (its floats stay floats), as az's messages and msrest's string properties print it. */
export const treeStr = (v: unknown): string => pyStr(toPy(v, false));

/** Python's repr() of a name or value, as az's messages list them. */
export const treeRepr = (v: unknown): string => pyRepr(toPy(v, false));

/** Python's == between a value of the resource and one the command line gave. */
export const treeEquals = (resource: unknown, given: unknown): boolean => pyEquals(toPy(resource), toPy(given, false));

/**
 * The JSON a tree value is sent as: an int as a number, and what JSON has no form for as msrest's
 * serialize_object sends an untyped value: a tuple, set, bytes or complex number cast to str(), a dict's
 * keys too.
 */
export function toWire(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toWire);
  if (v instanceof PyTuple || v instanceof PySet || v instanceof PyBytes || v instanceof PyComplex) return pyStr(v);
  if (v instanceof PyDict) return Object.fromEntries(v.pyKeys().map((k, i) => [pyStr(k), toWire([...v.values()][i])]));
  if (isObject(v)) {
    const obj: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) put(obj, k, toWire(x));
    return obj;
  }
  return v;
}

/**
 * msrest's serialize_basic of a model's scalar property (`eval(type)(value)`): str() and bool() of anything,
 * int() of a number, a bool or an int's text. int() of an infinite or NaN float raises what msrest does not
 * catch (az's unexpected error); what else int() would fail on is left as it is (the service refuses it).
 */
export function castAs(type: 'str' | 'bool' | 'int', v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (type === 'str') return typeof v === 'string' ? v : treeStr(v);
  if (type === 'bool') return pyTruthy(toPy(v, false));
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  if (typeof v === 'number') throw unexpectedError(Number.isNaN(v) ? 'cannot convert float NaN to integer' : 'cannot convert float infinity to integer');
  if (typeof v === 'string' && /^[ \t\n\r\f\v]*[-+]?[0-9](?:_?[0-9])*[ \t\n\r\f\v]*$/.test(v)) return BigInt(v.trim().replaceAll('_', ''));
  return v;
}
