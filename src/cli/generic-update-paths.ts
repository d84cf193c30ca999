import { camelCase, snakeCase, type ModelTable } from './arm-models.js';
import { CliError } from './cli-error.js';
import { isObject, parseValue, plainDicts, treeEquals, treeRepr, treeStr } from './generic-update-values.js';

// Walking a property path as az's generic update does (arm.py's
// _find_property and throw_and_show_options), on the resource's JSON with the
// SDK model of each object known from the model table: an object of a model
// has the model's attributes (an absent one is None) plus any other keys it
// carries (additional properties); any other object is a plain dict, looked
// up by its exact keys. Objects a --set or --add made are plain dicts to az.

/** A value within the resource and its SDK model ('' when it is no model). */
export interface PathNode {
  value: unknown;
  type: string;
}

/** az's ValueError: the command refuses it as `invalid syntax: <usage>`. */
export class SyntaxIssue extends Error {}


export class PathWalker {
  constructor(readonly models: ModelTable = {}) {}

  /** The attributes of the model of `node`, when it is an object of a known model. */
  attributes(node: PathNode): Record<string, string> | undefined {
    return isObject(node.value) && !plainDicts.has(node.value) ? this.models[node.type] : undefined;
  }

  /** The JSON key holding attribute `name` of a model object (its camelCase name when absent). */
  attributeKey(obj: Record<string, unknown>, name: string): string {
    const snake = snakeCase(name);
    return Object.keys(obj).find((k) => snakeCase(k) === snake) ?? camelCase(snake);
  }

  /** The node at `path` below `node`; `path` names the whole path in messages, as az's do. */
  find(node: PathNode, path: string[]): PathNode {
    for (const part of path) node = this.step(node, part, path);
    return node;
  }

  private step(node: PathNode, part: string, path: string[]): PathNode {
    const bracket = /^\[(.*)\]/s.exec(part);
    const { value } = node;
    if (bracket && !Array.isArray(value)) this.refuse(node, part, path);
    if (bracket && Array.isArray(value)) {
      const itemType = /^\[(\w+)\]$/.exec(node.type)?.[1] ?? '';
      const inner = bracket[1]!;
      if (inner.includes('=')) return { value: this.filter(value, itemType, inner, path), type: itemType };
      const i = listIndex(value, pyInt(inner));
      if (i === undefined) throw new CliError(`index ${pyInt(inner)} doesn't exist on ${path.at(-2)}`);
      return { value: value[i], type: itemType };
    }
    const attrs = this.attributes(node);
    if (attrs && isObject(value)) {
      if (Object.hasOwn(attrs, snakeCase(part))) return { value: value[this.attributeKey(value, part)] ?? null, type: attrs[snakeCase(part)]! };
      if (Object.hasOwn(value, part)) return { value: value[part], type: '' };
    } else if (isObject(value) && Object.hasOwn(value, part)) return { value: value[part], type: '' };
    return this.refuse(node, part, path);
  }

  /** `[key=value]`: the one item whose key has the value. */
  private filter(list: unknown[], itemType: string, inner: string, path: string[]): unknown {
    const eq = inner.indexOf('=');
    const key = inner.slice(0, eq);
    const wanted = parseValue(inner.slice(eq + 1));
    const matches = list.filter((item) => {
      if (!isObject(item)) return false;
      const attrs = plainDicts.has(item) ? undefined : this.models[itemType];
      // A model's item needs the attribute; a dict's `x.get(key, None) == value` matches a missing key with None.
      if (attrs) return Object.hasOwn(attrs, snakeCase(key)) && treeEquals(item[this.attributeKey(item, key)] ?? null, wanted);
      return treeEquals(Object.hasOwn(item, key) ? item[key] : null, wanted);
    });
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw new CliError(`non-unique key '${key}' found multiple matches on ${path.at(-2)}. Key must be unique.`);
    throw new CliError(`item with value '${treeStr(wanted)}' doesn't exist for key '${key}' on ${path.at(-2)}`);
  }

  /** throw_and_show_options: what can be named at `node` instead of `part`. */
  refuse(node: PathNode, part: string, path: string[]): never {
    const parent = path.slice(0, -1).join('.').replaceAll('.[', '[');
    const message = `Couldn't find '${part}' in '${parent}'.`;
    const { value } = node;
    if (Array.isArray(value)) throw new CliError(`${message} Available options: index into the collection '${parent}' with [<index>] or [<key=value>]`);
    if (!isObject(value)) throw new CliError(`${message} '${parent}' does not support further indexing.`);
    const attrs = this.attributes(node);
    const names = attrs ? [...Object.keys(attrs), ...Object.keys(value).filter((k) => !(Object.hasOwn(attrs, snakeCase(k))))] : Object.keys(value);
    const options = [...new Set(names.map(pyCamelCase))].sort();
    throw new CliError(`${message} Available options: [${options.map(treeRepr).join(', ')}]`);
  }
}

/** arm.py's _get_internal_path: `a.b[0][k=v]` → ['a', 'b', '[0]', '[k=v]']. */
export function internalPath(path: string): string[] {
  const spaced = path.replaceAll('.[', '[').replaceAll('[', '.[');
  return [...spaced.matchAll(/(\[.*?\])|([^.]+)/gs)].map((m) => m[1] ?? m[2]!);
}

/** Python's int() of an index: digits with an optional sign and spaces; anything else is az's ValueError. */
export function pyInt(text: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new SyntaxIssue(text);
  return Number(text.trim());
}

/** The position a Python index (negative: from the end) names in `list`, when it is there. */
export function listIndex(list: unknown[], i: number): number | undefined {
  const at = i < 0 ? list.length + i : i;
  return at >= 0 && at < list.length ? at : undefined;
}

/** arm.py's make_camel_case: `system_data` → `systemData`; a name without `_` as it is. */
function pyCamelCase(s: string): string {
  const parts = s.split('_');
  if (parts.length === 1) return s;
  return parts[0]!.toLowerCase() + parts.slice(1).map((p) => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase()).join('');
}
