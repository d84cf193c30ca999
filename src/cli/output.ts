import jmespath from 'jmespath';
import { CliError, QUERY_REFERENCE, unexpectedError } from './cli-error.js';
import { checkChoice } from './choices.js';
import { formatJson, formatTsv, isExpref } from './output-formats.js';
import { formatTable, pyRepr } from './table-format.js';
import { asJmespathJs, hasUnclosedDelimiter, PythonQueryError, searchAsPython } from './jmespath-python.js';
import { formatYaml } from './yaml-format.js';

// az's output options: -o json|jsonc|yaml|yamlc|table|tsv|none (any case, as
// knack's str.lower) and --query (JMESPath). The colour formats print without
// colour, as az does when colour is off.

export type OutputFormat = 'json' | 'jsonc' | 'yaml' | 'yamlc' | 'table' | 'tsv' | 'none';
export const OUTPUT_FORMATS: OutputFormat[] = ['json', 'jsonc', 'yaml', 'yamlc', 'table', 'tsv', 'none'];

export interface OutputOptions {
  output?: string;
  query?: string;
}

/**
 * az's global result transform (core/commands/transform.py
 * `_add_resource_group`): every object, at any depth, whose `id` is an ARM id
 * inside a resource group with at least a resource under it
 * (/subscriptions/S/resourceGroups/RG/providers/NS/TYPE/NAME...) gets
 * `resourceGroup` from it, unless it has one (in any case). A resource
 * group's own id is too short, as in az; `sourceVault` is not entered.
 */
export function addResourceGroup(data: unknown): void {
  if (Array.isArray(data)) {
    for (const item of data) addResourceGroup(item);
    return;
  }
  if (typeof data !== 'object' || data === null) return;
  const obj = data as Record<string, unknown>;
  if (!Object.keys(obj).some((k) => k.toLowerCase() === 'resourcegroup') && typeof obj.id === 'string') {
    const parts = obj.id.split('/');
    if (parts.length > 8 && parts[3]!.toLowerCase() === 'resourcegroups') obj.resourceGroup = parts[4];
  }
  for (const [key, value] of Object.entries(obj)) if (key !== 'sourceVault') addResourceGroup(value);
}

/** The jmespath package parses without searching; its typings leave `compile` out. */
const compileQuery = (jmespath as unknown as { compile(query: string): unknown }).compile;

/**
 * Checks -o and --query as az does, before a command runs: a command that
 * changed something (a secret reset, a deletion) and then failed on its
 * output options would have done its work and lost its answer.
 */
export function checkOutputOptions(opts: OutputOptions): OutputFormat {
  // -o is checked as the command line is read (arg-types.ts); COFFER_OUTPUT, and callers' own options, here.
  const format = checkChoice('coffer', '--output', (opts.output ?? process.env.COFFER_OUTPUT ?? 'json').toLowerCase(), OUTPUT_FORMATS) as OutputFormat;
  // As argparse words a type's ValueError (the value's repr), with az's pointer to the --query docs (core/parser.py).
  if (opts.query !== undefined && !compiles(opts.query)) throw new CliError(`argument --query: invalid jmespath_type value: ${pyRepr(opts.query)}`, undefined, 2, QUERY_REFERENCE);
  return format;
}

/** Whether Python's jmespath would compile the query: jmespath.js's parser, less the unclosed delimiters it lets through. */
function compiles(query: string): boolean {
  if (hasUnclosedDelimiter(query)) return false;
  try {
    compileQuery(asJmespathJs(query));
    return true;
  } catch {
    return false;
  }
}

/** How a command's result shows as a table (az's table_transformer): rows of named columns, in order. */
export interface TableView {
  rows(result: unknown): unknown;
  /** Keys left out of the table (knack's id, type and etag unless the view says otherwise). */
  skipKeys?: string[];
}

/** Every object in the data, so objects a --query builds (Python's OrderedDicts) can be told apart. */
function objectsIn(data: unknown, seen = new WeakSet<object>()): WeakSet<object> {
  if (typeof data === 'object' && data !== null && !seen.has(data)) {
    seen.add(data);
    for (const v of Object.values(data)) objectsIn(v, seen);
  }
  return seen;
}

/** Whether a result holds an object a --query built (Python's OrderedDict; a list it builds is a plain list). */
function holdsBuiltObject(v: unknown, isOrdered: (o: object) => boolean): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (!Array.isArray(v) && isOrdered(v)) return true;
  return Object.values(v).some((x) => holdsBuiltObject(x, isOrdered));
}

/** Whether a --query result holds an expression reference anywhere. */
const holdsExpref = (v: unknown): boolean => isExpref(v) || (typeof v === 'object' && v !== null && Object.values(v).some(holdsExpref));

export function render(data: unknown, opts: OutputOptions, table?: TableView): string | null {
  const format = checkOutputOptions(opts);
  let value = data;
  let isOrdered = (_o: object) => false;
  if (opts.query) {
    const original = objectsIn(data);
    try {
      value = searchAsPython(data, opts.query, (o) => !original.has(o));
    } catch (err) {
      // Python's own TypeError inside a function (min_by over numbers and strings): not a JMESPathError to az.
      if (err instanceof PythonQueryError) throw unexpectedError(err.message);
      // A query that compiles but fails on this data (a function given the wrong type): az's handle_exception, exit 1.
      throw new CliError(`Invalid jmespath query supplied for \`--query\`: ${(err as Error).message}\n${QUERY_REFERENCE}`);
    }
    isOrdered = (o) => !original.has(o);
  }
  // As knack: a null result prints nothing, whatever the format.
  if (value === null || value === undefined || format === 'none') return null;
  switch (format) {
    case 'table':
      try {
        // A transformer's rows keep their column order; otherwise columns are sorted unless --query shaped them.
        return table && !opts.query ? formatTable(table.rows(value), { sortKeys: false, skipKeys: table.skipKeys }) : formatTable(value, { sortKeys: !opts.query, isOrdered });
      } catch {
        throw new CliError('Table output unavailable. Use the --query option to specify an appropriate query. Use --debug for more info.');
      }
    case 'tsv':
      return formatTsv(value, isOrdered);
    case 'yaml':
    case 'yamlc':
      // PyYAML cannot represent an _Expression; knack's fallback, json.dumps, fails on it too.
      if (holdsExpref(value)) throw unexpectedError('Object of type _Expression is not JSON serializable');
      return formatYaml(value, !!opts.query && !holdsBuiltObject(value, isOrdered));
    default:
      // knack's format_json first makes dict(result) of a result with a __dict__, which an _Expression has.
      if (isExpref(value)) throw unexpectedError("'_Expression' object is not iterable");
      return `${formatJson(value)}\n`;
  }
}

export function print(data: unknown, opts: OutputOptions, table?: TableView): void {
  const text = render(data, opts, table);
  if (text !== null) process.stdout.write(text);
}
