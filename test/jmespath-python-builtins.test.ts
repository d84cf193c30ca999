import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { searchAsPython } from '../src/cli/jmespath-python.js';

// Every jmespath builtin, given arguments of every type, searched by Debian's Python jmespath 1.0.1 (the one
// az 2.45 runs) and by coffer's --query: the same value, the same JMESPathError message, or the same Python
// exception (which az reports as its unexpected error). An expref's repr carries its address, which is left
// out of both.

const PYTHON = `
import json, sys, jmespath
data, queries = json.load(sys.stdin)
out = []
for q in queries:
    try:
        out.append({'ok': jmespath.search(q, data)})
    except jmespath.exceptions.JMESPathError as e:
        out.append({'error': str(e)})
    except Exception as e:
        out.append({'python': str(e)})
print(json.dumps(out, default=repr))
`;

type Outcome = { ok?: unknown; error?: string; python?: string };

function python(data: unknown, queries: string[]): Outcome[] {
  const r = spawnSync('/usr/bin/python3', ['-c', PYTHON], { input: JSON.stringify([data, queries]), encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  // Python writes inf and nan as bare -Infinity, Infinity and NaN: read here as the strings coffer() writes.
  return JSON.parse(r.stdout.replace(/-?Infinity|NaN/g, (m) => JSON.stringify(m))) as Outcome[];
}

function coffer(data: unknown, query: string): Outcome {
  try {
    const value = searchAsPython(structuredClone(data), query, () => false) ?? null;
    return { ok: JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))) };
  } catch (err) {
    const message = (err as Error).message;
    return (err as Error).constructor.name === 'PythonQueryError' ? { python: message } : { error: message };
  }
}

const withoutAddress = (o: Outcome): Outcome => JSON.parse(JSON.stringify(o).replace(/ at 0x[0-9a-f]+/g, '')) as Outcome;

const DATA = { name: 'n', num: 90, f: 2.5, arr: [1, 2], sarr: ['a', 'b'], obj: { a: 1 }, t: true, nul: null, mixed: [1, 'a'], objs: [{ a: 1 }, { a: 'x' }] };
const FUNCTIONS = ['abs', 'avg', 'ceil', 'contains', 'ends_with', 'floor', 'join', 'keys', 'length', 'map', 'max', 'max_by', 'merge', 'min', 'min_by', 'not_null', 'reverse', 'sort', 'sort_by', 'starts_with', 'sum', 'to_array', 'to_number', 'to_string', 'type', 'values'];
const ARGS = ['@', 'name', 'num', 'f', 'arr', 'sarr', 'obj', 't', 'nul', 'mixed', '`1`', '&name', 'objs', '`[]`', '`{}`'];
const SECOND = ['name', 'num', 'arr', 'obj', '&a', 'nul', '`1`', 'sarr', 'mixed'];

describe("--query's builtins as Python's jmespath runs them", () => {
  it('gives the same value or error for every builtin given arguments of every type', () => {
    const queries: string[] = [];
    for (const f of FUNCTIONS) {
      queries.push(`${f}()`, `${f}(@, @, @)`);
      for (const a of ARGS) {
        queries.push(`${f}(${a})`);
        for (const b of SECOND) queries.push(`${f}(${a}, ${b})`);
      }
    }
    // Python's results that hold an expref (not_null(&a), to_array(&a), to_string(&a)) print its address: not compared.
    const expected = python(DATA, queries);
    const differ = queries.filter((q, i) => {
      const theirs = expected[i]!;
      if ('ok' in theirs && JSON.stringify(theirs).includes('_Expression object at')) return false;
      return JSON.stringify(withoutAddress(coffer(DATA, q))) !== JSON.stringify(withoutAddress(theirs));
    });
    assert.deepEqual(differ, []);
  });

  it("merge(), contains() and to_number() run Python's code: dict.update, `in`, int() then float()", () => {
    const queries = [
      'merge(@, `1`)', 'merge(`{}`, `[["a", 1], "bc"]`)', 'merge(`{}`, `[{"k": 1, "v": 2}]`)', 'merge(`{}`, `[[1, 2], [true, 3], [null, 4]]`)',
      'merge(`{}`, `[[[1], 2]]`)', 'merge(`{}`, `"ab"`)', 'merge(`{}`, `""`)', 'merge(`{}`, `[[1]]`)', 'merge(`{}`, `true`)', 'merge(`{}`, `[1]`)', 'merge(`1`, `{}`)',
      'contains(`[1]`, `true`)', 'contains(`[[1, {"a": true}]]`, `[1, {"a": 1}]`)', 'contains(`[0]`, `false`)', 'contains(name, `1`)', 'contains(name, nul)',
      ...['" 12 "', '"1_000"', '"0x10"', '""', '"1e3"', '"-7"', '" 1.5e2 "', '"inf"', '"-Infinity"', '"nan"', '"1__0"', '"1_"', '"1.e5"', '".5"', '"\\u00a012\\u00a0"', '"\\ufeff12"', '"1e1_0"'].map((s) => `to_number(\`${s}\`)`),
      'to_number(&name)', 'type(&name)',
    ];
    const expected = python(DATA, queries);
    queries.forEach((q, i) => assert.deepEqual(coffer(DATA, q), expected[i], q));
    assert.deepEqual(expected[0], { python: "'int' object is not iterable" });
  });
});
