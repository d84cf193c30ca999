import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, formatCliError } from '../src/cli/cli-error.js';
import { fileOrDict } from '../src/cli/file-or-dict.js';
import { pyJsonLoads } from '../src/cli/py-json.js';
import { pyLiteralEval } from '../src/cli/py-literal.js';
import { pyRepr, type PyValue } from '../src/cli/py-value.js';

// coffer's reading of az's JSON arguments against Python's own json.loads and ast.literal_eval (the
// python3 az runs on): the same values accepted, and the same error messages, which az prints.

const CASES = [
  '', ' ', '{', '}', '[', '[1,]', '{"a":1,}', '{"a" 1}', '{"a":}', '"ab', '"a\\', '"\\x"', '"\\u12"', '"\\u12zz"', '"\\u1234',
  '"a\tb"', '[1 2]', '{"a":1 "b"}', 'nul', '-', '-x', '01', '1.', '1e', 'NaN x', "{'a':1}", '[1]\n\n x', '\n\n  {"a": [1, 2,\n ]}',
  '{"é":1} é', '\ufeff{}', '{"a": [1, 2.5, true, null, "\\ud83d\\ude00"]}',
];
const LITERALS = [
  "{'ip': ['1.2.3.4'], 'vnet': ('a/b',)}", "  {'a': -1.5, 'b': None, 'c': True}", "['x' 'y', r'\\d']", "('solo')", '{1: 2}', 'os.system("x")', '[1,,]',
  // Sets, bytes, complex numbers, ints in any base, keys of any hashable type, and what literal_eval refuses among them.
  '{1, True, 1.0}', 'set()', '{1: 2, True: 3}', '{(1, 2): 3}', '{[1]: 2}', '{[1]}', "b'\\x00a\\''", "Rb'x' b'y'", "b'x' 'y'", "b'caf\\xc3'", "b'\\777'",
  '-1j', '1+2j', '1-2.5j', '1j+1', '1+-2j', '--1', '-0+0j', '1E400j', '0x_1f', '0o17', '0B101', '1_000', '1__0', '0x', '01', '00',
  "'\\101\\7'", "'\\u00e9\\U0001F600'", "b'\\u00e9'", '1.', '.5', '1e400', '-0.0', '1e16', '1.5e-5', '0.0001', '123456789.123456789', '[1e22, 5e-324]',
  "'\\x7f\\x80\\xa0 \\u2028'",
  // Parentheses leave no trace in Python's AST (a sign or `+ 2j` on a parenthesised number), and the tokenizer's
  // rules: comments, a backslash before a line break, line breaks inside brackets only, no indented first line.
  '-(1)', '+(1.5)', '-(1j)', '1+(2j)', '(1)+2j', '-(1)+2j', '(-1)+2j', '-(-1)', '-(1+2j)', '(1+2j)-3j', '(1,2)+3j', '-(True)', '[-(1), +(2.5)]', '{-(1): 1}',
  '1 # c', '# c\n1', '\n\n1 # x\n\n# y\n', '\n  1', '\n\t1', "'a' \\\n 'b'", '1\\\n+2j', '-\n1', '1 +\n2j', '(1 +\n2j)', "'a'\n'b'", "('a'\n'b')", '[1,\n# c\n2]', '\r\n1',
];

function python(code: string, inputs: string[]): string[] {
  return JSON.parse(execFileSync('python3', ['-c', code], { input: JSON.stringify(inputs) }).toString()) as string[];
}

describe('Python json.loads and ast.literal_eval, as az reads JSON arguments', () => {
  it('gives json.loads\'s error messages', () => {
    const expected = python('import json,sys\nout=[]\nfor c in json.load(sys.stdin):\n  try: json.loads(c); out.append("ok")\n  except ValueError as e: out.append(str(e))\nprint(json.dumps(out))', CASES);
    const actual = CASES.map((c) => {
      try {
        pyJsonLoads(c);
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    });
    assert.deepEqual(actual, expected);
  });

  it('reads the Python literals az falls back to, and refuses what literal_eval refuses', () => {
    const expected = python('import ast,json,sys\nout=[]\nfor c in json.load(sys.stdin):\n  try: out.append(repr(ast.literal_eval(c)))\n  except Exception: out.append("refused")\nprint(json.dumps(out))', LITERALS);
    const repr = (v: PyValue | undefined) => (v === undefined ? 'refused' : pyRepr(v));
    assert.deepEqual(LITERALS.map((l) => repr(pyLiteralEval(l))), expected);
  });

  it('reads nested tuples in one pass (going back at each parenthesis took seconds at 24 levels), and nesting too deep for the stack as Python fails on it', () => {
    let nested = '1';
    for (let i = 0; i < 400; i++) nested = `(${nested},)`;
    assert.ok(pyLiteralEval(nested) !== undefined);
    assert.equal(pyLiteralEval('('.repeat(100_000)), undefined, "Python's parser refuses such nesting too");
    assert.throws(
      () => pyJsonLoads('['.repeat(100_000)),
      (err: unknown) => err instanceof CliError && /maximum recursion depth exceeded while decoding a JSON array from a unicode string$/.test(formatCliError(err)),
    );
  });

  it('reads a JSON file as UTF-8 or UTF-16, as az reads it, and names one it cannot decode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-file-or-dict-'));
    const utf16 = join(dir, 'acl16.json');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"ip": ["1.2.3.4"]}', 'utf16le')]));
    assert.equal(JSON.stringify([...(fileOrDict(utf16) as Map<string, unknown>)]), '[["ip",["1.2.3.4"]]]');
    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, Buffer.from([0x00, 0xd8, 0x00, 0xd8, 0xd8, 0x00, 0xd8, 0x00, 0x41, 0x41]));
    assert.throws(() => fileOrDict(garbage), (err: unknown) => err instanceof CliError && formatCliError(err).startsWith(`ERROR: Failed to decode file ${garbage} - unknown decoding`));
  });
});
