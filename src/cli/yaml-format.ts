import { byCodePoint } from './output-formats.js';

// az's -o yaml: PyYAML's safe_dump(default_flow_style=False,
// allow_unicode=True) for JSON data, written again here: keys sorted, block
// style, sequences in a mapping not indented, strings plain where YAML would
// read them back as the same string, else single-quoted (double-quoted with
// escapes when they hold characters that cannot be printed), and long
// strings folded at spaces past column 80.

const BEST_WIDTH = 80;
const BREAKS = '\n\u0085\u2028\u2029';

/** What PyYAML's resolver would read as something other than a string. */
const IMPLICIT = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/,
  /^<<$/,
  /^=$/,
];

const printable = (ch: string) => /^[\t\n\r\x20-\x7e\u0085\u00a0-\ud7ff\ue000-\ufffd]$/u.test(ch) || ch.codePointAt(0)! > 0xffff;
const WHITESPACE = `\0 \t\r${BREAKS}`;

type Style = 'plain' | 'single' | 'double';

/** PyYAML's analyze_scalar and choose_scalar_style, in a block context. */
function styleOf(text: string, simpleKey: boolean): Style {
  if (text === '' || IMPLICIT.some((r) => r.test(text))) return 'single';
  const chars = [...text];
  let blockIndicators = text.startsWith('---') || text.startsWith('...');
  let special = false;
  let lineBreaks = false;
  let spaceBreak = false;
  let breakSpace = false;
  let previousSpace = false;
  let previousBreak = false;
  chars.forEach((ch, i) => {
    const followedBySpace = i + 1 >= chars.length || WHITESPACE.includes(chars[i + 1]!);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch) || ('?:-'.includes(ch) && followedBySpace)) blockIndicators = true;
    } else if ((ch === ':' && followedBySpace) || (ch === '#' && WHITESPACE.includes(chars[i - 1]!))) blockIndicators = true;
    // Outside printable ASCII: other printable characters are kept (allow_unicode); the rest need escapes.
    if (!(ch === '\n' || (ch >= '\x20' && ch <= '\x7e')) && !(ch !== '\ufeff' && (ch === '\u0085' || (printable(ch) && !'\t\r'.includes(ch))))) special = true;
    if (ch === ' ') {
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      lineBreaks = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else previousSpace = previousBreak = false;
  });
  const edges = [chars[0]!, chars[chars.length - 1]!];
  const plain = !(edges.some((c) => c === ' ' || BREAKS.includes(c)) || lineBreaks || blockIndicators || spaceBreak || special || breakSpace);
  if (plain) return 'plain';
  if (!(spaceBreak || special || breakSpace) && !(simpleKey && lineBreaks)) return 'single';
  return 'double';
}

const ESCAPES: Record<string, string> = {
  '\0': '0', '\x07': 'a', '\b': 'b', '\t': 't', '\n': 'n', '\v': 'v', '\f': 'f', '\r': 'r', '\x1b': 'e', '"': '"', '\\': '\\', '\u0085': 'N', '\u00a0': '_', '\u2028': 'L', '\u2029': 'P',
};

/** Writes scalars and structures, tracking the column as PyYAML's emitter does for folding. */
class Writer {
  out = '';
  column = 0;
  readonly written = new Set<object>();
  constructor(readonly anchors: Map<object, string> = new Map()) {}

  write(s: string): void {
    this.out += s;
    this.column += s.length;
  }

  newline(indent: number): void {
    this.out += `\n${' '.repeat(indent)}`;
    this.column = indent;
  }

  /** Plain or single-quoted text, folded at a single space once past column 80 (PyYAML's write_plain / write_single_quoted). */
  folded(text: string, indent: number, quoted: boolean, split: boolean): void {
    if (quoted) this.write("'");
    const chars = [...text];
    let start = 0;
    let spaces = false;
    let breaks = false;
    for (let end = 0; end <= chars.length; end++) {
      const ch = chars[end];
      if (spaces) {
        if (ch !== ' ') {
          const edge = quoted && (start === 0 || end === chars.length);
          if (start + 1 === end && this.column > BEST_WIDTH && split && !edge) this.newline(indent);
          else this.write(chars.slice(start, end).join(''));
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !BREAKS.includes(ch)) {
          if (chars[start] === '\n') this.out += '\n';
          for (const br of chars.slice(start, end)) this.out += br === '\n' ? '\n' : br;
          this.out += ' '.repeat(indent);
          this.column = indent;
          start = end;
        }
      } else if (ch === undefined || ' '.includes(ch) || BREAKS.includes(ch) || (quoted && ch === "'")) {
        if (start < end) this.write(chars.slice(start, end).join(''));
        start = end;
      }
      if (quoted && ch === "'") {
        this.write("''");
        start = end + 1;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
    }
    if (quoted) this.write("'");
  }

  /** PyYAML's write_double_quoted: escapes, and folds with a trailing backslash past column 80. */
  doubleQuoted(text: string, indent: number, split: boolean): void {
    this.write('"');
    const chars = [...text];
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = chars[end];
      if (ch === undefined || '"\\\u0085\u2028\u2029\ufeff'.includes(ch) || !((ch >= '\x20' && ch <= '\x7e') || (ch >= '\u00a0' && ch <= '\ud7ff') || (ch >= '\ue000' && ch <= '\ufffd'))) {
        if (start < end) this.write(chars.slice(start, end).join(''));
        start = end;
        if (ch !== undefined) {
          const code = ch.codePointAt(0)!;
          const hex = (width: number) => code.toString(16).toUpperCase().padStart(width, '0');
          this.write(ESCAPES[ch] !== undefined ? `\\${ESCAPES[ch]}` : code <= 0xff ? `\\x${hex(2)}` : code <= 0xffff ? `\\u${hex(4)}` : `\\U${hex(8)}`);
          start = end + 1;
        }
      }
      if (end > 0 && end < chars.length - 1 && (ch === ' ' || start >= end) && this.column + (end - start) > BEST_WIDTH && split) {
        this.write(`${chars.slice(start, end).join('')}\\`);
        if (start < end) start = end;
        this.newline(indent);
        if (chars[start] === ' ') this.write('\\');
      }
    }
    this.write('"');
  }

  scalar(v: unknown, indent: number, simpleKey = false): void {
    if (v === null || v === undefined) return this.write('null');
    if (typeof v === 'boolean') return this.write(v ? 'true' : 'false');
    if (typeof v === 'number') return this.write(yamlNumber(v));
    const text = String(v);
    const style = styleOf(text, simpleKey);
    if (style === 'double') return this.doubleQuoted(text, indent, !simpleKey);
    this.folded(text, indent, style === 'single', !simpleKey);
  }
}

function yamlNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  let s = String(n).toLowerCase().replace(/e([+-])(\d)$/, 'e$10$2');
  if (!s.includes('.') && s.includes('e')) s = s.replace('e', '.0e');
  return s;
}

const isCollection = (v: unknown): v is object => typeof v === 'object' && v !== null;
/** 128 less the length of the implicit tag '!!str' PyYAML counts in. */
const SIMPLE_KEY_LIMIT = 123;
const isEmpty = (v: object) => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);

/**
 * PyYAML's anchors: a list or object met a second time (the same object twice
 * in a --query result, `[a, a]`) is named &idNNN where it is first written and
 * written as *idNNN after, numbered in the order the repeats are met.
 */
function anchorsOf(root: unknown): Map<object, string> {
  const seen = new Set<object>();
  const anchors = new Map<object, string>();
  const walk = (v: unknown): void => {
    if (!isCollection(v)) return;
    if (seen.has(v)) {
      if (!anchors.has(v)) anchors.set(v, `id${String(anchors.size + 1).padStart(3, '0')}`);
      return;
    }
    seen.add(v);
    if (Array.isArray(v)) v.forEach(walk);
    else for (const k of Object.keys(v).sort(byCodePoint)) walk((v as Record<string, unknown>)[k]);
  };
  walk(root);
  return anchors;
}

/** Writes `&id` before a repeated collection's first appearance; true when an alias `*id` was written instead. */
function writeAlias(w: Writer, v: unknown): boolean {
  const anchor = isCollection(v) ? w.anchors.get(v) : undefined;
  if (anchor === undefined) return false;
  if (w.written.has(v as object)) {
    w.write(` *${anchor}`);
    return true;
  }
  w.written.add(v as object);
  w.write(` &${anchor}`);
  return false;
}

function node(w: Writer, v: unknown, indent: number, inSequence: boolean): void {
  if (Array.isArray(v)) {
    if (v.length === 0) return w.write('[]');
    v.forEach((item, i) => {
      if (i > 0 || !inSequence) w.newline(indent);
      w.write('-');
      if (writeAlias(w, item)) return;
      // After an anchor a collection starts on its own line.
      if (w.anchors.has(item as object) && isCollection(item) && !isEmpty(item)) return node(w, item, indent + 2, false);
      w.write(' ');
      node(w, item, indent + 2, true);
    });
    return;
  }
  if (isCollection(v)) {
    const keys = Object.keys(v).sort(byCodePoint);
    if (keys.length === 0) return w.write('{}');
    keys.forEach((k, i) => {
      if (i > 0 || !inSequence) w.newline(indent);
      // An empty, multi-line or long key cannot be a simple key (PyYAML: '!!str' and the key under 128
      // characters): it is written as '? key' with ':' on the next line, and a collection value follows inline.
      const complex = k === '' || [...k].length >= SIMPLE_KEY_LIMIT || [...k].some((ch) => BREAKS.includes(ch));
      if (complex) {
        w.write('? ');
        w.scalar(k, indent + 2);
        w.newline(indent);
      } else w.scalar(k, indent + 2, true);
      w.write(':');
      const value = (v as Record<string, unknown>)[k];
      if (writeAlias(w, value)) return;
      if (complex && isCollection(value) && !isEmpty(value)) {
        w.write(' ');
        node(w, value, indent + 2, true);
      } else if (isCollection(value) && !isEmpty(value)) node(w, value, Array.isArray(value) ? indent : indent + 2, false);
      else {
        w.write(' ');
        node(w, value, indent + 2, false);
      }
    });
    return;
  }
  w.scalar(v, indent);
}

/**
 * `shared`: whether repeated objects keep their identity. az dumps a result
 * holding a --query-built object (an OrderedDict, which safe_dump refuses)
 * through JSON, which loses it: no anchors then.
 */
export function formatYaml(value: unknown, shared = false): string {
  const w = new Writer(shared ? anchorsOf(value) : undefined);
  // PyYAML indents a root scalar's folded lines by two, a root collection by none.
  if (isCollection(value)) node(w, value, 0, true);
  else w.scalar(value, 2);
  // A plain scalar alone is a document PyYAML ends with '...'.
  const openEnded = !isCollection(value) && !/^['"]/.test(w.out);
  return `${w.out}\n${openEnded ? '...\n' : ''}`;
}
