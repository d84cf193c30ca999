// az's -o json|table|tsv|yaml, as knack 0.10 and PyYAML write them (checked
// against them in test/cli-output.test.ts). Python's dicts come in two kinds
// there: plain ones, whose keys json, tsv and table (without --query) sort,
// and the ordered ones a --query multiselect hash or a table transformer
// builds, which keep their order; `isOrdered` tells them apart.

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Python's str() of a JSON scalar. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return pyFloat(v);
  return String(v);
}

/** Python's repr of a number that came from JSON (an integer, or a float with a fraction or exponent). */
function pyFloat(n: number): string {
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

const SKIP_KEYS = ['id', 'type', 'etag'];

/**
 * knack's _TableOutput with tabulate's "simple" format: scalar fields only
 * (not id, type or etag, nor a null), capitalised; columns in first-seen
 * order, each as wide as its widest cell and at least its header plus two.
 */
export function formatTable(value: unknown, opts: { sortKeys: boolean; skipKeys?: string[] }): string {
  const skip = opts.skipKeys ?? SKIP_KEYS;
  const rows = (Array.isArray(value) ? value : [value]).map((item): Map<string, unknown> => {
    const entry = new Map<string, unknown>();
    if (isDict(item)) {
      for (const k of opts.sortKeys ? Object.keys(item).sort(byCodePoint) : Object.keys(item)) {
        const v = item[k];
        if (!skip.includes(k) && v !== null && v !== undefined && typeof v !== 'object') entry.set(k ? k[0]!.toUpperCase() + k.slice(1) : k, v);
      }
    } else if (Array.isArray(item)) item.forEach((v, i) => entry.set(`Column${i + 1}`, v));
    else entry.set('Result', item);
    return entry;
  });
  if (rows.length === 0) return '\n';
  const columns = [...new Set(rows.flatMap((r) => [...r.keys()]))];
  // Rows without a scalar field: tabulate prints nothing, knack a newline.
  if (columns.length === 0) return '\n';
  const cells = rows.map((r) => columns.map((c) => (r.has(c) ? tableCell(r.get(c)) : '')));
  const widths = columns.map((c, i) => Math.max(c.length + 2, ...cells.map((r) => r[i]!.length)));
  const line = (parts: string[]) => parts.map((p, i) => p.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')}\n`;
}

const tableCell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'boolean' ? (v ? 'True' : 'False') : typeof v === 'number' ? pyFloat(v) : String(v));

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
