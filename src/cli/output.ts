import jmespath from 'jmespath';
import { CliError } from './cli-error.js';

// az's output options: -o json|jsonc|table|tsv|yaml|none and --query (JMESPath).

export type OutputFormat = 'json' | 'jsonc' | 'table' | 'tsv' | 'yaml' | 'none';
export const OUTPUT_FORMATS: OutputFormat[] = ['json', 'jsonc', 'table', 'tsv', 'yaml', 'none'];

export interface OutputOptions {
  output?: string;
  query?: string;
}

const scalar = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function table(data: unknown): string {
  const rows = (Array.isArray(data) ? data : [data]).filter((r) => r !== undefined);
  if (rows.length === 0) return '';
  if (rows.every((r) => typeof r !== 'object' || r === null)) return rows.map(scalar).join('\n');
  // Like az: top-level scalar columns only, headers from the first row.
  const columns = Object.keys(rows[0] as object).filter((k) => rows.some((r) => typeof (r as Record<string, unknown>)[k] !== 'object' || (r as Record<string, unknown>)[k] === null));
  const header = columns.map((c) => c.charAt(0).toUpperCase() + c.slice(1));
  const body = rows.map((r) => columns.map((c) => scalar((r as Record<string, unknown>)[c])));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function tsv(data: unknown): string {
  const rows = Array.isArray(data) ? data : [data];
  return rows
    .map((r) => (typeof r === 'object' && r !== null ? Object.values(r).filter((v) => typeof v !== 'object' || v === null).map(scalar).join('\t') : scalar(r)))
    .join('\n');
}

function yaml(data: unknown, indent = ''): string {
  if (Array.isArray(data)) {
    if (data.length === 0) return '[]';
    return data.map((v) => `${indent}- ${yaml(v, indent + '  ').trimStart()}`).join('\n');
  }
  if (typeof data === 'object' && data !== null) {
    const entries = Object.entries(data);
    if (entries.length === 0) return '{}';
    return entries
      .map(([k, v]) => (typeof v === 'object' && v !== null && Object.keys(v).length > 0 ? `${indent}${k}:\n${yaml(v, indent + '  ')}` : `${indent}${k}: ${yaml(v, '')}`))
      .join('\n');
  }
  if (typeof data === 'string') return /^[\w./:@-]+$/.test(data) && !/^(true|false|null|\d+)$/.test(data) ? data : JSON.stringify(data);
  return data === null || data === undefined ? 'null' : String(data);
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
  const format = (opts.output ?? process.env.COFFER_OUTPUT ?? 'json') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) throw new CliError(`argument --output/-o: invalid choice: '${format}' (choose from ${OUTPUT_FORMATS.map((f) => `'${f}'`).join(', ')})`, undefined, 2);
  if (opts.query) {
    try {
      compileQuery(opts.query);
    } catch (err) {
      throw new CliError(`argument --query: invalid jmespath_type value: '${opts.query}' (${(err as Error).message})`, undefined, 2);
    }
  }
  return format;
}

export function render(data: unknown, opts: OutputOptions): string | null {
  const format = checkOutputOptions(opts);
  let value = data;
  if (opts.query) {
    try {
      value = jmespath.search(data as never, opts.query);
    } catch (err) {
      throw new CliError(`argument --query: invalid jmespath_type value: '${opts.query}' (${(err as Error).message})`, undefined, 2);
    }
  }
  switch (format) {
    case 'none':
      return null;
    case 'table':
      return table(value);
    case 'tsv':
      return tsv(value);
    case 'yaml':
      return yaml(value);
    default:
      return value === undefined ? null : JSON.stringify(value, null, 2);
  }
}

export function print(data: unknown, opts: OutputOptions): void {
  const text = render(data, opts);
  if (text !== null && text !== '') process.stdout.write(text + '\n');
}
