import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';

// az reads any argument that starts with `@` from the file it names, before it
// parses the command line (azure-cli-core's _expand_file_prefixed_files):
// `--value @secret.txt`, `--tags note=@notes.txt` (after an argument's first
// `=`), `@-` for standard input. A file that cannot be read leaves the argument
// as it is; the content loses its trailing newlines; bytes that are neither
// UTF-8 nor UTF-16 are passed as their base64, as az passes them.

/**
 * Decoded as Python's codecs stream reader decodes a whole file: strictly, except that an incomplete
 * sequence at the very end (a lone last byte of UTF-16, a cut UTF-8 character) is dropped, not refused.
 */
const decode = (encoding: string, bytes: Uint8Array, keepBom = false) => new TextDecoder(encoding, { fatal: true, ignoreBOM: keepBom }).decode(bytes, { stream: true });

/** read_file_content(allow_binary=True): the file's text as decodedText reads it, else its bytes in base64. */
export function fileText(bytes: Buffer): string {
  return decodedText(bytes) ?? bytes.toString('base64');
}

/**
 * read_file_content(allow_binary=False): UTF-8 (a BOM dropped), then UTF-16 (by its BOM, else
 * little-endian), UTF-16LE and UTF-16BE (a BOM kept as a character); undefined where az fails.
 */
export function decodedText(bytes: Buffer): string | undefined {
  const attempts: Array<() => string> = [
    () => decode('utf-8', bytes),
    () => (bytes[0] === 0xfe && bytes[1] === 0xff ? decode('utf-16be', bytes.subarray(2), true) : decode('utf-16le', bytes)),
    () => decode('utf-16le', bytes, true),
    () => decode('utf-16be', bytes, true),
  ];
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch {
      // not that encoding: the next
    }
  }
  return undefined;
}

/** os.path.expanduser: a leading ~ (alone or before a slash) is the home directory. */
export const expandUser = (path: string) => (path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path);

/** An argument's `@file` read as az reads it, or the argument itself. */
function loadIfFile(arg: string, readStdin: () => Buffer): string {
  if (!arg.startsWith('@') || arg.length === 1) return arg;
  const path = arg.slice(1);
  try {
    return fileText(path === '-' ? readStdin() : readFileSync(expandUser(path))).replace(/\n+$/, '');
  } catch {
    return arg;
  }
}

/** The command line's arguments (after the program's name) with each `@file`, whole or after its first `=`, replaced by the file's content. */
export function expandFileArguments(args: readonly string[], readStdin: () => Buffer = () => readFileSync(0)): string[] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    return eq < 0 ? loadIfFile(arg, readStdin) : `${arg.slice(0, eq)}=${loadIfFile(arg.slice(eq + 1), readStdin)}`;
  });
}
