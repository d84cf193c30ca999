import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkChoice } from '../src/cli/choices.js';
import { ENCODINGS, fileBytesFromSecret, secretValueFromFile } from '../src/cli/secret-encoding.js';

// coffer's `secret set --file` and `secret download` against Debian
// azure-cli's own code for them (test/python/az_secret_encoding.py): the same
// stored value and tag, the same file bytes, and an error where az has one.

type AzResult = { value?: string; tags?: Record<string, string>; bytes?: string; error?: string; fileLeft?: boolean };

function runAz(cases: object[]): AzResult[] {
  const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'python/az_secret_encoding.py')], { input: JSON.stringify(cases), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as AzResult[];
}

const outcome = (f: () => unknown) => {
  try {
    return { ok: f() };
  } catch (err) {
    return { error: (err as Error).message };
  }
};

describe('secret file encodings, as az', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-enc-'));
  const random = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 151 + 7) % 256));
  const files: Record<string, Buffer> = {
    binary: random,
    'line-exact': random.subarray(0, 57), // one full 76-character base64 line
    empty: Buffer.alloc(0),
    crlf: Buffer.from('user\r\npass\rword\n'),
    'utf-8 with BOM': Buffer.from('\ufeffhéllo wörld ✓\n'),
    ascii: Buffer.from('{"username": "u", "password": "p"}'),
    latin1: Buffer.from('caf\xe9', 'latin1'),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);

  it("takes an encoding in any case, as az's enum arguments, and refuses an unknown one with exit 2", () => {
    const checkEncoding = (e: string) => checkChoice('coffer keyvault secret set', '--encoding', e, ENCODINGS);
    assert.equal(checkEncoding('BASE64'), 'base64');
    assert.equal(checkEncoding('UTF-16LE'), 'utf-16le');
    assert.throws(() => checkEncoding('latin-1'), (err: Error & { exitCode?: number }) => err.exitCode === 2 && /^coffer keyvault secret set: 'latin-1' is not a valid value for '--encoding'\. Allowed values: utf-8, utf-16le, utf-16be, ascii, base64, hex\.$/.test(err.message));
  });

  it('set --file stores what az stores for every file and encoding, and refuses what az refuses', () => {
    const cases = Object.keys(files).flatMap((name) => ENCODINGS.map((encoding) => ({ op: 'set', file: join(dir, name), encoding })));
    const az = runAz(cases);
    assert.equal(az.length, cases.length);
    cases.forEach((c, i) => {
      const ours = outcome(() => secretValueFromFile(files[c.file.slice(dir.length + 1)]!, c.file, c.encoding));
      const label = `${c.file.slice(dir.length + 1)} as ${c.encoding}`;
      if (az[i]!.error) assert.ok('error' in ours, `${label}: az refuses (${az[i]!.error}), coffer stored ${JSON.stringify(ours)}`);
      else {
        assert.equal(ours.ok, az[i]!.value, label);
        assert.deepEqual(az[i]!.tags, { 'file-encoding': c.encoding }, label);
      }
    });
    // The cases that matter, stated plainly.
    assert.ok(az.some((r) => r.error) && az.some((r) => r.value?.includes('\n') && r.value.length > 76));
  });

  it('download writes the bytes az writes, from well-formed and malformed values, and no file where az fails', () => {
    const mime = secretValueFromFile(random, 'f', 'base64');
    const values = [mime, random.toString('base64'), 'QUJD*RA==', 'QUJDRA', 'QUJDR', 'QQ==QUJD', 'Q=Q=', random.toString('hex'), 'ABCDEF', 'abc', 'ab cd', 'zz', 'héllo\n', ''];
    const encodings: Array<string | undefined> = [...ENCODINGS, undefined];
    const cases = values.flatMap((value) => encodings.map((encoding) => ({ op: 'download', value, encoding, tags: encoding ? null : { 'file-encoding': 'hex' } })));
    cases.push({ op: 'download', value: 'x', encoding: undefined, tags: { 'file-encoding': 'utf-7' } }, { op: 'download', value: 'x', encoding: undefined, tags: null });
    const az = runAz(cases);
    cases.forEach((c, i) => {
      const encoding = c.encoding ?? c.tags?.['file-encoding'] ?? 'utf-8';
      const ours = outcome(() => fileBytesFromSecret(c.value, encoding));
      const label = `${JSON.stringify(c.value).slice(0, 30)} as ${encoding}`;
      if (az[i]!.error) {
        assert.ok('error' in ours, `${label}: az fails (${az[i]!.error}), coffer wrote ${JSON.stringify(ours)}`);
        assert.equal(az[i]!.fileLeft, false);
      } else assert.equal((ours.ok as Buffer).toString('base64'), az[i]!.bytes, label);
    });
    assert.deepEqual(fileBytesFromSecret(mime, 'base64'), random);
  });
});
