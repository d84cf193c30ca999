import type { Command } from 'commander';
import { snakeCase, type ModelTable } from './arm-models.js';
import { CliError } from './cli-error.js';

// az's generic update arguments (--set, --add, --remove: azure-cli's
// core/commands/arm.py), applied to the resource as read, before it is
// written back: `--set properties.enablePurgeProtection=true`,
// `--set tags.env=prod`, `--add properties.accessPolicies '{...}'`,
// `--remove tags.env`. A path is dotted names with [index] for list items;
// a name matches a key in any case. A value is JSON where it parses as JSON,
// else the text itself (always the text with --force-string).

export interface GenericUpdateOptions {
  set?: string[];
  add?: string[];
  remove?: string[];
  forceString?: boolean;
}

/** The SDK models of the resource (its root model's name and the table), and where their warnings go. */
export interface UpdateModel {
  root: string;
  models: ModelTable;
  warn: (line: string) => void;
}

export function withGenericUpdate(cmd: Command): Command {
  return cmd
    .option('--set <path=value...>', "set a property by its path, e.g. --set properties.enablePurgeProtection=true tags.env=prod")
    .option('--add <path-and-values...>', 'append to a list by its path: the path, then values (JSON, or key=value pairs making an object)')
    .option('--remove <path-and-index...>', 'remove a property, or the list item at an index: the path, then the index')
    .option('--force-string', "with --set and --add, keep values as text instead of reading them as JSON");
}

type Segment = string | number;

/** `a.b[0].c` → ['a', 'b', 0, 'c']. */
function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === '' && m[2] === '')) throw new CliError(`invalid property path '${path}'`);
    if (m[1] !== '') out.push(m[1]!);
    for (const index of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The key of `obj` that `name` names, in any case (the name itself when none does). */
const keyOf = (obj: Record<string, unknown>, name: string) => Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;

/** The SDK model type of the child `seg` of a value of type `type` ('' when it is no model, or not known). */
function childType(models: ModelTable | undefined, type: string, seg: Segment): string {
  if (!models || type === '') return '';
  if (typeof seg === 'number') return /^\[(\w+)\]$/.exec(type)?.[1] ?? '';
  return models[type]?.[snakeCase(seg)] ?? '';
}

/**
 * The value at `path` within `root`, creating objects along the way when `create`, and its SDK model type
 * (from `type`, the root's). An object created here is a plain dict to az (set_properties sets `{}`), not a model.
 */
function walk(root: Record<string, unknown>, path: Segment[], create: boolean, full: string, models?: ModelTable, type = ''): { at: unknown; type: string } {
  let at: unknown = root;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!Array.isArray(at) || seg >= at.length) throw new CliError(`index '${seg}' doesn't exist on ${full}`);
      at = at[seg];
      type = childType(models, type, seg);
    } else {
      if (!isObject(at)) throw new CliError(`Couldn't find '${seg}' in '${full}'.`);
      const key = keyOf(at, seg);
      type = childType(models, type, seg);
      if (at[key] === undefined || at[key] === null) {
        if (!create) throw new CliError(`Couldn't find '${seg}' in '${full}'.`);
        at[key] = {};
        type = '';
      }
      at = at[key];
    }
  }
  return { at, type };
}

const valueOf = (text: string, forceString = false): unknown => {
  if (forceString) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

function setAt(root: Record<string, unknown>, expression: string, forceString: boolean, model?: UpdateModel): void {
  const eq = expression.indexOf('=');
  if (eq <= 0) throw new CliError(`usage error: --set property=value (not '${expression}')`);
  const path = parsePath(expression.slice(0, eq));
  const last = path.pop()!;
  const { at: parent, type } = walk(root, path, true, expression.slice(0, eq), model?.models, model?.root);
  const value = valueOf(expression.slice(eq + 1), forceString);
  if (typeof last === 'number') {
    if (!Array.isArray(parent) || last >= parent.length) throw new CliError(`index '${last}' doesn't exist on ${expression.slice(0, eq)}`);
    parent[last] = value;
  } else if (isObject(parent)) {
    // az sets a name that is not an attribute of the model as an additional property, and says so; the
    // parent named as typed ('root' for the resource itself, '[0]' for a list item).
    const attrs = model?.models[type];
    if (model && attrs && !(snakeCase(last) in attrs)) {
      const at = path.at(-1);
      const parentName = at === undefined ? 'root' : typeof at === 'number' ? `[${at}]` : at;
      model.warn(`Property '${last}' not found on ${parentName}. Send it as an additional property .`);
    }
    parent[keyOf(parent, last)] = value;
  } else throw new CliError(`Couldn't find '${last}' in '${expression.slice(0, eq)}'.`);
}

function addAt(root: Record<string, unknown>, args: string[], forceString: boolean): void {
  const [pathText, ...values] = args;
  if (!pathText || values.length === 0) throw new CliError('usage error: --add property.list <value | key=value ...>');
  const list = walk(root, parsePath(pathText), false, pathText).at;
  if (!Array.isArray(list)) throw new CliError(`invalid syntax: --add property.list <value | key=value ...>: '${pathText}' is not a list`);
  // As az: key=value pairs make one object; other values are items each.
  const pairs = values.filter((v) => /^[^={}[\]"]+=/.test(v));
  if (pairs.length > 0 && pairs.length === values.length) list.push(Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), valueOf(p.slice(p.indexOf('=') + 1), forceString)])));
  else list.push(...values.map((v) => valueOf(v, forceString)));
}

function removeAt(root: Record<string, unknown>, args: string[]): void {
  const [pathText, index, ...rest] = args;
  if (!pathText || rest.length > 0) throw new CliError('usage error: --remove property.list <index> OR --remove property');
  const path = parsePath(pathText);
  if (index !== undefined) {
    const list = walk(root, path, false, pathText).at;
    const i = Number(index);
    if (!Array.isArray(list) || !/^\d+$/.test(index) || i >= list.length) throw new CliError(`index '${index}' doesn't exist on ${pathText}`);
    list.splice(i, 1);
    return;
  }
  const last = path.pop()!;
  const { at: parent } = walk(root, path, false, pathText);
  if (typeof last === 'number' && Array.isArray(parent) && last < parent.length) parent.splice(last, 1);
  else if (typeof last === 'string' && isObject(parent) && keyOf(parent, last) in parent) delete parent[keyOf(parent, last)];
  else throw new CliError(`Couldn't find '${last}' in '${pathText}'.`);
}

/** Applies --set, --add and --remove, in az's order, to a copy of `resource` (of the SDK models of `model`, when given). */
export function applyGenericUpdate<T extends Record<string, unknown>>(resource: T, o: GenericUpdateOptions, model?: UpdateModel): T {
  const copy = structuredClone(resource);
  const forceString = o.forceString === true;
  for (const expression of o.set ?? []) setAt(copy, expression, forceString, model);
  if (o.add) addAt(copy, o.add, forceString);
  if (o.remove) removeAt(copy, o.remove);
  return copy;
}

/** Whether any generic update argument was given. */
export const hasGenericUpdate = (o: GenericUpdateOptions): boolean => (o.set?.length ?? 0) > 0 || o.add !== undefined || o.remove !== undefined;
