import { byCodePoint, exprefText, isDict, isExpref, pyFloat } from './output-formats.js';

// knack's _TableOutput laid out by tabulate 0.8 ("simple", disable_numparse,
// no wcwidth: widths count code points). Cells are Python's str() of the
// value, stripped of Python's whitespace; when any cell or header holds a
// line break the whole table is laid out line by line, as tabulate's
// multi-line mode does.

const SKIP_KEYS = ['id', 'type', 'etag'];
const MIN_PADDING = 2;

/** Python's str.isspace characters, for str.strip and str.rstrip. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');
const PY_RSTRIP = new RegExp(`[${PY_SPACE}]+$`, 'u');
const pyStrip = (s: string) => s.replace(PY_STRIP, '');
const pyRstrip = (s: string) => s.replace(PY_RSTRIP, '');
/** str.splitlines: no trailing empty line, \r\n counts once. */
const splitLines = (s: string) => (s === '' ? [] : s.replace(/(\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029])$/u, '').split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/u));
const width = (s: string) => [...s].length;
const padRight = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - width(s)));

/**
 * Python's repr of a JSON value, as str() shows a list or dict in a cell.
 * `isOrdered` marks the OrderedDicts a --query builds (Python 3.11's repr).
 */
export function pyRepr(v: unknown, isOrdered: (o: object) => boolean = () => false): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return pyFloat(v);
  if (typeof v === 'string') return reprString(v);
  if (isExpref(v)) return exprefText(v as object);
  if (Array.isArray(v)) return `[${v.map((x) => pyRepr(x, isOrdered)).join(', ')}]`;
  const entries = Object.entries(v as object);
  if (isOrdered(v as object)) return entries.length === 0 ? 'OrderedDict()' : `OrderedDict([${entries.map(([k, x]) => `(${reprString(k)}, ${pyRepr(x, isOrdered)})`).join(', ')}])`;
  return `{${entries.map(([k, x]) => `${reprString(k)}: ${pyRepr(x, isOrdered)}`).join(', ')}}`;
}

/** Python's str.__repr__: single quotes unless the text has one and no double quote; non-printables escaped. */
function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    // Python's printable: not Other (Cc, Cf, Cs, Co, Cn) nor Separator (Zl, Zp, Zs) but the space.
    else if (ch !== ' ' && /[\p{C}\p{Z}]/u.test(ch)) out += cp < 0x100 ? `\\x${hex(cp, 2)}` : cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    else out += ch;
  }
  return quote + out + quote;
}
const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');

/** str() of a cell's value; tabulate shows None as an empty cell. */
function cellText(v: unknown, isOrdered: (o: object) => boolean): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : pyRepr(v, isOrdered);
}

/** knack's _auto_table_item: scalar fields (not id, type or etag, nor a null), capitalised; a list's items as Column1..n. */
function tableRow(item: unknown, sortKeys: boolean, skip: string[]): Map<string, unknown> {
  const entry = new Map<string, unknown>();
  if (isDict(item)) {
    for (const k of sortKeys ? Object.keys(item).sort(byCodePoint) : Object.keys(item)) {
      const v = item[k];
      if (!skip.includes(k) && v !== null && v !== undefined && (typeof v !== 'object' || isExpref(v))) entry.set(k ? k[0]!.toUpperCase() + k.slice(1) : k, v);
    }
  } else if (Array.isArray(item)) item.forEach((v, i) => entry.set(`Column${i + 1}`, v));
  else entry.set('Result', item);
  return entry;
}

/**
 * knack's table: columns in first-seen order, each as wide as its widest
 * cell line and at least its header plus two, joined by two spaces.
 */
export function formatTable(value: unknown, opts: { sortKeys: boolean; skipKeys?: string[]; isOrdered?: (o: object) => boolean }): string {
  const isOrdered = opts.isOrdered ?? (() => false);
  const rows = (Array.isArray(value) ? value : [value]).map((item) => tableRow(item, opts.sortKeys, opts.skipKeys ?? SKIP_KEYS));
  if (rows.length === 0) return '\n';
  const columns = [...new Set(rows.flatMap((r) => [...r.keys()]))];
  // Rows without a scalar field: tabulate prints nothing, knack a newline.
  if (columns.length === 0) return '\n';
  const raw = rows.map((r) => columns.map((c) => cellText(r.get(c), isOrdered)));
  const multiline = [columns, ...raw].some((r) => r.some((s) => /[\r\n]/.test(s)));
  const cells = raw.map((r) => r.map(pyStrip));
  const lineWidth = (s: string) => (multiline ? Math.max(...s.split(/[\r\n]/).map(width)) : width(s));
  const widths = columns.map((c, i) => Math.max(lineWidth(c) + MIN_PADDING, ...cells.map((r) => lineWidth(r[i]!))));
  const lines: string[] = [];
  const addRow = (row: string[]) => {
    if (!multiline) {
      lines.push(pyRstrip(row.map((s, i) => padRight(s, widths[i]!)).join('  ')));
      return;
    }
    // Each cell padded line by line, then the row as many lines as its tallest cell.
    const cellLines = row.map((s, i) => splitLines(splitLines(s).map((l) => padRight(l, widths[i]!)).join('\n')));
    const height = Math.max(...cellLines.map((l) => l.length));
    for (let n = 0; n < height; n++) lines.push(pyRstrip(cellLines.map((l, i) => l[n] ?? ' '.repeat(widths[i]!)).join('  ')));
  };
  addRow(columns);
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  cells.forEach(addRow);
  return `${lines.join('\n')}\n`;
}
