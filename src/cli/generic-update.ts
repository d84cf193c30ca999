import type { Command } from 'commander';
import { snakeCase, type ModelTable } from './arm-models.js';
import { CliError } from './cli-error.js';
import { PathWalker, SyntaxIssue, internalPath, listIndex, pyInt, type PathNode } from './generic-update-paths.js';
import { isObject, parseValue, plainDicts, put, treeStr } from './generic-update-values.js';

export { isObject, toWire } from './generic-update-values.js';

// az's generic update arguments (--set, --add, --remove: azure-cli's
// core/commands/arm.py), applied to the resource as read, before it is
// written back: `--set properties.enablePurgeProtection=true`,
// `--set tags.env=prod`, `--add properties.accessPolicies '{...}'`,
// `--remove tags.env`. Each may be given several times; as az's
// OrderedArgsAction records them, they apply in command-line order.

export type GenericStep = { kind: 'set' | 'add' | 'remove'; values: string[] };

export interface GenericUpdateOptions {
  set?: string[];
  add?: string[];
  remove?: string[];
  forceString?: boolean;
  /** --set, --add and --remove as given, in command-line order (withGenericUpdate records them). */
  genericSteps?: GenericStep[];
}

/** The SDK models of the resource (its root model's name and the table), and where their warnings go. */
export interface UpdateModel {
  root: string;
  models: ModelTable;
  warn: (line: string) => void;
}

const USAGE = {
  set: '--set property1.property2=<value>',
  add: '--add property.listProperty <key=value, string or JSON string>',
  remove: '--remove property.list <indexToRemove> OR --remove propertyToRemove',
};

export function withGenericUpdate(cmd: Command): Command {
  cmd
    .option('--set <path=value...>', "set a property by its path, e.g. --set properties.enablePurgeProtection=true tags.env=prod")
    .option('--add <path-and-values...>', 'append to a list by its path: the path, then values (JSON, or key=value pairs making an object)')
    .option('--remove <path-and-index...>', 'remove a property, or the list item at an index: the path, then the index')
    .option('--force-string', "with --set and --add, keep values as text instead of reading them as JSON");
  // Commander merges repeated variadic options; their order and bounds are read from the arguments it parses.
  const parseOptions = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args) => {
    const parsed = parseOptions(args);
    cmd.setOptionValue('genericSteps', genericSteps(args));
    return parsed;
  };
  return cmd;
}

/** Each --set, --add and --remove with its values (up to the next option, as a variadic option takes them). */
export function genericSteps(args: readonly string[]): GenericStep[] {
  const steps: GenericStep[] = [];
  let current: GenericStep | undefined;
  for (const arg of args) {
    if (arg === '--') break;
    const flag = /^--(set|add|remove)(?:=(.*))?$/s.exec(arg);
    if (flag) {
      current = { kind: flag[1] as GenericStep['kind'], values: flag[2] === undefined ? [] : [flag[2]] };
      steps.push(current);
    } else if (current && current.values.length === 0) current.values.push(arg);
    else if (arg.length > 1 && arg.startsWith('-') && !/^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/.test(arg)) current = undefined;
    else current?.values.push(arg);
  }
  return steps;
}

/** arm.py's _split_key_value_pair: at the only `=`, else at the first `=` outside [brackets] (none: an empty value). */
function splitExpression(expression: string): [string, string] {
  if (expression.split('=').length === 2) return expression.split('=') as [string, string];
  let brackets = false;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === '=' && !brackets) return [expression.slice(0, i), expression.slice(i + 1)];
    if (c === '[') brackets = true;
    else if (c === ']') brackets = false;
  }
  return [expression, ''];
}

const markPlain = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null) plainDicts.add(value);
  return value;
};

class GenericUpdate {
  readonly walker: PathWalker;
  constructor(
    readonly root: PathNode,
    readonly forceString: boolean,
    readonly model?: UpdateModel,
  ) {
    this.walker = new PathWalker(model?.models);
  }

  private value(text: string): unknown {
    return markPlain(this.forceString ? text : parseValue(text));
  }

  /** set_properties, at `node` (the resource, or the parent of a property it makes). */
  set(node: PathNode, expression: string): void {
    const [key, text] = splitExpression(expression);
    if (key.trim() === '') throw new CliError('usage error: Empty key in --set. Correct syntax: --set KEY=VALUE [KEY=VALUE ...]');
    const value = this.value(text);
    const path = internalPath(key);
    const name = path.pop()!;
    const parentName = path.at(-1) ?? 'root';
    let target = this.walker.find(node, path);
    if (target.value === null || target.value === undefined) {
      // A property that is None becomes an empty dict first, as az makes it.
      this.set(this.walker.find(node, path.slice(0, -1)), `${parentName}={}`);
      target = this.walker.find(node, path);
    }
    const messagePath = key.split('.');
    const bracket = /^\[(.*)\]/s.exec(name);
    const at = target.value;
    if (bracket) {
      const i = pyInt(bracket[1]!);
      if (Array.isArray(at)) {
        const position = listIndex(at, i);
        if (position === undefined) throw new CliError(`index ${i} doesn't exist on ${name}`);
        at[position] = value;
      } else if (isObject(at) && !this.walker.attributes(target)) at[String(i)] = value;
      else this.walker.refuse(target, name, messagePath);
      return;
    }
    const attrs = this.walker.attributes(target);
    if (!isObject(at)) return this.walker.refuse(target, name, messagePath);
    if (!attrs) {
      put(at, name, value);
      return;
    }
    if (Object.hasOwn(attrs, snakeCase(name))) {
      at[this.walker.attributeKey(at, name)] = value;
      return;
    }
    put(at, name, value);
    this.model?.warn(`Property '${name}' not found on ${parentName}. Send it as an additional property .`);
  }

  /** add_properties: values onto a list (made when None); consecutive key=value items make one dict, kept as text. */
  add(values: string[]): void {
    const [pathText, ...items] = values;
    const path = internalPath(pathText!);
    let list = this.walker.find(this.root, path).value;
    if (list === null || list === undefined) {
      this.set(this.walker.find(this.root, path.slice(0, -1)), `${path.at(-1)}=[]`);
      list = this.walker.find(this.root, path).value;
    }
    if (!Array.isArray(list)) throw new SyntaxIssue();
    let entry: Record<string, string> | undefined;
    for (const item of items) {
      const eq = item.indexOf('=');
      if (eq >= 0) {
        entry ??= markPlain({});
        put(entry, item.slice(0, eq), item.slice(eq + 1));
        continue;
      }
      if (entry) list.push(entry);
      entry = undefined;
      list.push(this.value(item));
    }
    if (entry) list.push(entry);
  }

  /** remove_properties: a property (a model's attribute becomes None, or an empty list), or a list's item by index. */
  remove(values: string[]): void {
    const [pathText, index] = values;
    const path = internalPath(pathText!);
    // az indexes the path's last name unchecked: an empty path is its uncaught IndexError.
    if (path.length === 0) throw new CliError('The command failed with an unexpected error. Here is the traceback:\nERROR: list index out of range');
    const last = path.at(-1)!;
    if (!index) {
      const property = this.walker.find(this.root, path).value;
      const parent = this.walker.find(this.root, path.slice(0, -1));
      const attrs = this.walker.attributes(parent);
      if (!isObject(parent.value)) throw new SyntaxIssue();
      if (!attrs) delete parent.value[last];
      else if (Object.hasOwn(attrs, snakeCase(last))) {
        const key = this.walker.attributeKey(parent.value, last);
        if (Array.isArray(property)) parent.value[key] = [];
        else delete parent.value[key];
      } else throw new SyntaxIssue();
      return;
    }
    const node = this.walker.find(this.root, path);
    const list = node.value;
    const i = pyInt(index);
    // A dict's pop(i) is a KeyError az does not catch: its unexpected error, without the traceback.
    if (isObject(list) && !this.walker.attributes(node)) throw new CliError(`The command failed with an unexpected error. Here is the traceback:\nERROR: ${i}`);
    if (!Array.isArray(list)) throw new CliError(`${last} doesn't exist`);
    const position = listIndex(list, i);
    if (position === undefined) throw new CliError(`index ${index} doesn't exist on ${last}`);
    list.splice(position, 1);
  }
}

/** The steps of `o`: as recorded from the command line, else --set, --add, then --remove. */
const stepsOf = (o: GenericUpdateOptions): GenericStep[] =>
  o.genericSteps ?? [
    ...(o.set?.length ? [{ kind: 'set' as const, values: o.set }] : []),
    ...(o.add ? [{ kind: 'add' as const, values: o.add }] : []),
    ...(o.remove ? [{ kind: 'remove' as const, values: o.remove }] : []),
  ];

/** Applies --set, --add and --remove, in az's order, to a copy of `resource` (of the SDK models of `model`, when given). */
export function applyGenericUpdate<T extends Record<string, unknown>>(resource: T, o: GenericUpdateOptions, model?: UpdateModel): T {
  const copy = structuredClone(resource);
  const update = new GenericUpdate({ value: copy, type: model?.root ?? '' }, o.forceString === true, model);
  for (const step of stepsOf(o)) {
    try {
      if (step.kind === 'set') for (const expression of step.values) update.set(update.root, expression);
      else if (step.kind === 'add') update.add(step.values);
      else update.remove(step.values);
    } catch (err) {
      if (err instanceof SyntaxIssue) throw new CliError(`invalid syntax: ${USAGE[step.kind]}`);
      throw err;
    }
  }
  return copy;
}

/**
 * `group update` in az 2.45 marks --add and --remove deprecated with a wrapper that stores their values where
 * the generic update expects none: each occurrence warns, then the command fails before reading the group.
 */
export function refuseDeprecatedAddRemove(o: GenericUpdateOptions, warn: (line: string) => void): void {
  const given = stepsOf(o).filter((step) => step.kind !== 'set');
  for (const step of given) warn(`Argument 'properties_to_${step.kind}' has been deprecated and will be removed in a future release.`);
  const first = given.find((step) => step.kind === 'add') ?? given[0];
  if (first) throw new CliError(`Unexpected 'properties_to_${first.kind}' was not empty.`);
}

/**
 * Tags as the SDKs send them, a dict of text: a value --set read as JSON or a Python literal becomes its
 * Python text (True, 5, 1.0, 1e+16, inf, {'a': 1}, (1+2j), b'x'); None stays null, which the service
 * refuses as it refuses az's.
 */
export function tagsAsText(tags: unknown): Record<string, string | null> {
  if (!isObject(tags)) throw new CliError('usage error: tags must stay an object');
  const text = (v: unknown) => (v === null ? null : treeStr(v));
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, text(v)]));
}

/** Whether any generic update argument was given. */
export const hasGenericUpdate = (o: GenericUpdateOptions): boolean => stepsOf(o).length > 0;
