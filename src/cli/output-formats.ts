// az's -o json|table|tsv|yaml, as knack 0.10 and PyYAML write them (checked
// against them in test/cli-output.test.ts). Python's dicts come in two kinds
// there: plain ones, whose keys json, tsv and table (without --query) sort,
// and the ordered ones a --query multiselect hash or a table transformer
// builds, which keep their order; `isOrdered` tells them apart.

export type Dict = Record<string, unknown>;

export const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
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
