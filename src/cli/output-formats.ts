// az's -o json|table|tsv|yaml, as knack 0.10 and PyYAML write them (checked
// against them in test/cli-output.test.ts). Python's dicts come in two kinds
// there: plain ones, whose keys json, tsv and table (without --query) sort,
// and the ordered ones a --query multiselect hash or a table transformer
// builds, which keep their order; `isOrdered` tells them apart.

import { unexpectedError } from './cli-error.js';

export type Dict = Record<string, unknown>;

/** An expression reference a --query returned (`&name`): Python jmespath's _Expression object, which no format reads as a dict. */
export const isExpref = (v: unknown): boolean => typeof v === 'object' && v !== null && (v as { jmespathType?: unknown }).jmespathType === 'Expref';

const exprefAddresses = new WeakMap<object, string>();
/** str() of an _Expression: Python's default repr, with an address of its own for each one (CPython's differ at each run). */
export function exprefText(v: object): string {
  let address = exprefAddresses.get(v);
  if (!address) exprefAddresses.set(v, (address = (0x7f3a5c2e1d50 + 0x60 * exprefCount++).toString(16)));
  return `<jmespath.visitor._Expression object at 0x${address}>`;
}
let exprefCount = 0;

export const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v) && !isExpref(v);
/** Python's order of str keys: by code point (JS's < compares UTF-16 units, which puts U+10000.. before U+E000..U+FFFF). */
export function byCodePoint(a: string, b: string): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** Python's str() of a JSON scalar. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return pyFloat(v);
  if (isExpref(v)) return exprefText(v as object);
  return String(v);
}

/** Python's repr of a number that came from JSON (an integer, or a float with a fraction or exponent). */
export function pyFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** json.dumps(sort_keys=True, indent=2, ensure_ascii=False): JSON's own escapes, Python's numbers. */
export function formatJson(value: unknown, indent = ''): string {
  if (typeof value === 'number') return pyFloat(value);
  // json.dumps meets an object it has no encoding for: a TypeError, az's unexpected error.
  if (isExpref(value)) throw unexpectedError('Object of type _Expression is not JSON serializable');
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${indent}  ${formatJson(v, `${indent}  `)}`).join(',\n')}\n${indent}]`;
  }
  if (isDict(value)) {
    const keys = Object.keys(value).sort(byCodePoint);
    if (keys.length === 0) return '{}';
    return `{\n${keys.map((k) => `${indent}  ${JSON.stringify(k)}: ${formatJson(value[k], `${indent}  `)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value ?? null);
}

/** knack's _TsvOutput: one line per item; in a row, a list is its length, an object is empty, null is None. */
export function formatTsv(value: unknown, isOrdered: (o: object) => boolean): string {
  const cell = (v: unknown) => (Array.isArray(v) ? String(v.length) : isDict(v) ? '' : pyStr(v));
  const row = (item: unknown): string => {
    if (Array.isArray(item)) return item.map(cell).join('\t');
    if (isDict(item)) return (isOrdered(item) ? Object.keys(item) : Object.keys(item).sort(byCodePoint)).map((k) => cell(item[k])).join('\t');
    return typeof item === 'boolean' ? String(item) : cell(item);
  };
  return (Array.isArray(value) ? value : [value]).map((item) => `${row(item)}\n`).join('');
}

/** az's build_table_output: named columns from dotted paths; a missing or falsy value shows as a space. */
export function projectTable(rows: unknown, columns: Array<[string, string]>): Dict[] {
  return (Array.isArray(rows) ? rows : [rows]).map((item) =>
    Object.fromEntries(
      columns.map(([title, path]) => {
        let v: unknown = item;
        for (const part of path.split('.')) v = isDict(v) ? v[part] : undefined;
        return [title, v || ' '];
      }),
    ),
  );
}
