import { CliError } from './cli-error.js';

// az's `secret set --file/--encoding` and `secret download`, byte for byte as
// Debian's azure-cli 2.45 does them on Linux (checked against its own code in
// test/cli-secret-encoding.test.ts), so a secret stored by either tool
// downloads to the same file with the other:
// - text encodings read the file as UTF-8 text with universal newlines, then
//   check the text can be written in the named encoding; download writes the
//   value back as UTF-8 text. (az reads and writes in the locale's encoding.)
// - base64 stores MIME base64 (76-character lines, each ending in \n), hex
//   lower-case hex; download decodes them, refusing what does not decode.

export const TEXT_ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'ascii'] as const;
export const BINARY_ENCODINGS = ['base64', 'hex'] as const;
export const ENCODINGS: readonly string[] = [...TEXT_ENCODINGS, ...BINARY_ENCODINGS];

const isText = (encoding: string) => (TEXT_ENCODINGS as readonly string[]).includes(encoding);

/** Python's base64.encodebytes: lines of at most 76 characters, each ending in a newline. */
function mimeBase64(bytes: Buffer): string {
  const flat = bytes.toString('base64');
  let out = '';
  for (let i = 0; i < flat.length; i += 76) out += `${flat.slice(i, i + 76)}\n`;
  return out;
}

/** The value az stores for a file's bytes under one of ENCODINGS, in its spelling (-e is checked as the command line is read: arg-types.ts). */
export function secretValueFromFile(bytes: Buffer, path: string, encoding: string): string {
  if (!ENCODINGS.includes(encoding)) throw new Error(`not one of the encodings: ${encoding}`);
  if (encoding === 'base64') return mimeBase64(bytes);
  if (encoding === 'hex') return bytes.toString('hex');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CliError(`Unable to decode file '${path}' with '${encoding}' encoding.`);
  }
  // Python's text mode: \r\n and a lone \r are read as \n.
  text = text.replace(/\r\n?/g, '\n');
  if (encoding === 'ascii') {
    const unencodable = asciiEncodeError(text);
    // az encodes the text it read, in its validator, without catching Python's UnicodeEncodeError (exit 2).
    if (unencodable) throw new CliError(unencodable, undefined, 2);
  }
  return text;
}

/** A code point as UnicodeEncodeError's message escapes it: \xe9, \u20ac, \U0001f600. */
const escapedCodePoint = (cp: number): string =>
  cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : cp <= 0xffff ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;

/** Python's str(UnicodeEncodeError) for text.encode('ascii'): the first run of characters it cannot encode, in code points. */
function asciiEncodeError(text: string): string | null {
  const chars = [...text];
  const start = chars.findIndex((c) => c.codePointAt(0)! > 0x7f);
  if (start === -1) return null;
  let end = start + 1;
  while (end < chars.length && chars[end]!.codePointAt(0)! > 0x7f) end++;
  return end - start === 1
    ? `'ascii' codec can't encode character '${escapedCodePoint(chars[start]!.codePointAt(0)!)}' in position ${start}: ordinal not in range(128)`
    : `'ascii' codec can't encode characters in position ${start}-${end - 1}: ordinal not in range(128)`;
}

/**
 * Python's lenient base64.b64decode: characters outside the alphabet are
 * skipped, a complete padding ends the data, and a last group of one
 * character or a short padding is an error.
 */
function decodeBase64(value: string): Buffer {
  if (/[^\x00-\x7f]/.test(value)) throw new CliError('string argument should contain only ASCII characters');
  let data = '';
  let quad = 0;
  let pads = 0;
  for (const ch of value) {
    if (ch === '=') {
      if (quad >= 2 && quad + ++pads >= 4) return Buffer.from(data, 'base64');
      continue;
    }
    if (!/[A-Za-z0-9+/]/.test(ch)) continue;
    data += ch;
    quad = (quad + 1) % 4;
    pads = 0;
  }
  if (quad === 1) throw new CliError(`Invalid base64-encoded string: number of data characters (${data.length}) cannot be 1 more than a multiple of 4`);
  if (quad !== 0) throw new CliError('Incorrect padding');
  return Buffer.from(data, 'base64');
}

function decodeHex(value: string): Buffer {
  if (/[^\x00-\x7f]/.test(value)) throw new CliError('string argument should contain only ASCII characters');
  if (value.length % 2 !== 0) throw new CliError('Odd-length string');
  if (/[^0-9a-fA-F]/.test(value)) throw new CliError('Non-hexadecimal digit found');
  return Buffer.from(value, 'hex');
}

/** The bytes `secret download` writes for a value under an encoding (the flag, else the file-encoding tag, else utf-8). */
export function fileBytesFromSecret(value: string, encoding: string): Buffer {
  if (isText(encoding)) return Buffer.from(value, 'utf8');
  if (encoding === 'base64') return decodeBase64(value);
  if (encoding === 'hex') return decodeHex(value);
  throw new CliError(`the secret's file-encoding tag '${encoding.slice(0, 64)}' is not one of ${ENCODINGS.join(', ')}: give --encoding`);
}
