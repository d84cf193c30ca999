import { existsSync, readFileSync, statSync } from 'node:fs';
import { CliError, unexpectedError } from './cli-error.js';
import { decodedText, expandUser } from './file-args.js';
import { PyJsonError, pyJsonLoads } from './py-json.js';
import { pyLiteralEval } from './py-literal.js';
import type { PyValue } from './py-value.js';

// az's validate_file_or_dict (azure-cli-core), the argument type of `--network-acls` and other JSON
// arguments: a path to an existing file is read as JSON, anything else is JSON text (or a Python
// literal), and each mistake is reported as az words it, with its recommendation lines, exit 1.

const RECOMMENDATION = 'Please provide a valid JSON file path or JSON string.';
const SHELL_HINT =
  'The provided JSON string may have been parsed by the shell. See https://docs.microsoft.com/cli/azure/use-cli-effectively#use-quotation-marks-in-arguments';

/** shell_safe_json_parse: JSON, else a Python literal, else JSON's own error (the one more likely meant). */
function jsonOrLiteral(text: string): PyValue | { error: string } {
  try {
    return pyJsonLoads(text);
  } catch (err) {
    if (!(err instanceof PyJsonError)) throw err;
    const literal = pyLiteralEval(text);
    return literal !== undefined ? literal : { error: `Failed to parse string as JSON:\n${text}\nError detail: ${err.message}` };
  }
}

/**
 * shell_safe_json_parse's error for command-line text that is neither JSON nor a Python literal (with its
 * recommendation), as `role definition create` and `role assignment update` report it; nothing when it is one.
 */
function throwUnparsedJson(text: string): void {
  const parsed = jsonOrLiteral(text);
  if (isError(parsed)) throw new CliError(`${parsed.error}\n${SHELL_HINT}`);
}

const isError = (v: PyValue | { error: string }): v is { error: string } => v !== null && typeof v === 'object' && 'error' in v && !(v instanceof Map) && !Array.isArray(v);

/** read_file_content: UTF-8 or UTF-16 as az tries them (file-args.ts), else az's CLIError. */
function readText(path: string): string {
  if (statSync(path).isDirectory()) throw unexpectedError(`[Errno 21] Is a directory: '${path}'`);
  const text = decodedText(readFileSync(path));
  if (text === undefined) throw new CliError(`Failed to decode file ${path} - unknown decoding\n${RECOMMENDATION}`);
  return text;
}

/** The value az's validate_file_or_dict gives for `value`, or its error. */
export function fileOrDict(value: string): PyValue {
  const path = expandUser(value);
  if (existsSync(path)) {
    const content = readText(path);
    const parsed = jsonOrLiteral(content);
    // Read from a file, the text met no shell: az leaves the shell hint out.
    if (isError(parsed)) throw new CliError(`Failed to parse file '${path}' with exception:\n${parsed.error}\n${RECOMMENDATION}`);
    return parsed;
  }
  if (path.endsWith('.json')) throw new CliError(`JSON file does not exist: '${path}'\n${RECOMMENDATION}`);
  const parsed = jsonOrLiteral(path);
  if (isError(parsed)) throw new CliError(`${parsed.error}\n${RECOMMENDATION}\n${SHELL_HINT}`);
  return parsed;
}

/** A JSON object given as text or as a file's path (`what` names it in the error). */
export function readJsonObject(raw: string, what: string): Record<string, unknown> {
  const path = raw.startsWith('@') ? raw.slice(1) : raw;
  let text = raw;
  if (raw.startsWith('@') || existsSync(path)) {
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // az's shell_safe_json_parse: text that is neither JSON nor a Python literal gets Python's JSON error.
    if (text === raw) throwUnparsedJson(text);
    parsed = null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError(`Invalid ${what}. A valid dictionary JSON representation is expected.`);
  return parsed as Record<string, unknown>;
}
