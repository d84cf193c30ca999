import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { azSignedIn, withoutTraceback, type AzResult } from './support/az-cli.js';
import { cliHome, cliRunners, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';

// A --query that compiles but fails on the command's output: az 2.45 reports Python jmespath's error
// ("In function length(), invalid type for value: 90, expected one of: [...], received: \"number\""),
// with its pointer to the --query docs, exit 1; Python's own TypeError inside a function (min_by over
// numbers and strings) is az's unexpected error. Each query runs in the real az and in coffer against
// the same server.

describe('CLI: --query failing at runtime, as az 2.45 reports it', () => {
  let server: TestServer;
  let home = '';
  let az: (args: string[]) => Promise<AzResult>;
  const { signIn, cli } = cliRunners(() => home);
  const compare = async (args: string[], query: string) => {
    const a = await az([...args, '--query', query]);
    const c = await coffer(home, [...args, '--query', query]);
    const expected = a.stderr.includes('unexpected error') ? { ...a, stderr: withoutTraceback(a.stderr) } : a;
    assert.deepEqual({ code: c.code, stdout: c.stdout, stderr: c.stderr }, { code: expected.code, stdout: expected.stdout, stderr: expected.stderr }, query);
    return a;
  };

  before(async () => {
    server = await startTestServer();
    home = cliHome();
    await signIn(server);
    await cli('group', 'create', '-n', 'rg', '-l', 'local', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'query-b', '-g', 'rg', '-o', 'none');
    await cli('keyvault', 'create', '-n', 'query-a', '-g', 'rg', '--retention-days', '30', '-o', 'none');
    az = await azSignedIn(server);
  });
  after(() => server?.stop());

  it('reports a function given the wrong type with Python jmespath\'s message', async () => {
    const show = ['keyvault', 'show', '-n', 'query-a', '-g', 'rg'];
    for (const query of [
      'length(properties.softDeleteRetentionInDays)',
      'sort_by(@, &name)',
      'abs(name)',
      'sort(@)',
      'contains(properties.softDeleteRetentionInDays, `1`)',
      'join(`,`, [].name)',
      'sum(properties.accessPolicies[0].permissions.keys)',
      'sort([name, `1`])',
      'abs({a: name, b: `[1, 2.5]`})',
      'length(`1`, `2`)',
      'not_null()',
    ]) {
      const a = await compare(show, query);
      assert.equal(a.code, 1, query);
    }
  });

  it('reads a function argument that starts with @ as Python jmespath does', async () => {
    const show = ['keyvault', 'show', '-n', 'query-a', '-g', 'rg'];
    // jmespath.js refused these at parse time (exit 2); az answers.
    for (const query of ['length(@.id)', 'starts_with(@.name, @.location)', 'length(@ || `1`)']) {
      const a = await compare(show, query);
      assert.equal(a.code, 0, query);
    }
    assert.equal((await compare(show, 'length(@.properties.softDeleteRetentionInDays)')).code, 1);
  });

  it('sorts and picks by key as Python does, and fails on keys of mixed types as it does', async () => {
    const list = ['keyvault', 'list', '-g', 'rg'];
    for (const query of ['sort_by(@, &tags)', 'min_by(@, &tags)', 'sort_by(`["b", 1]`, &@)', 'max_by([`1`, `"a"`], &@)']) {
      const a = await compare(list, query);
      assert.equal(a.code, 1, query);
    }
    for (const query of ['sort_by(@, &properties.softDeleteRetentionInDays)[].name', 'min_by(@, &name).name', 'max_by(@, &properties.softDeleteRetentionInDays).name']) {
      const a = await compare(list, query);
      assert.equal(a.code, 0, query);
    }
  });

  it('orders numbers and strings as Python jmespath does: null for other types, its TypeError for a number against a string', async () => {
    const show = ['keyvault', 'show', '-n', 'query-a', '-g', 'rg'];
    for (const query of ['properties.softDeleteRetentionInDays >= `30`', "name < 'query-b'", '`1.5` > `1`', '`1` < `true`', '`[1]` < `[2]`', 'tags > tags']) {
      const a = await compare(show, query);
      assert.equal(a.code, 0, query);
    }
    for (const query of ['name > `0`', '`1` <= name']) {
      const a = await compare(show, query);
      assert.equal(a.code, 1, query);
    }
  });

  it("runs merge(), contains(), to_number() and type() as Python's code runs them", async () => {
    const show = ['keyvault', 'show', '-n', 'query-a', '-g', 'rg'];
    // Python's own exceptions: merge() checks only its first argument, then dict.update() fails on the others.
    for (const query of ['merge(@, `1`)', 'merge(@, name)', 'contains(name, `1`)', 'to_number(&name)']) {
      assert.equal((await compare(show, query)).code, 1, query);
    }
    for (const query of ['merge(@, `[["a", 1]]`).a', 'contains(`[1]`, `true`)', 'type(&name)', 'to_number(`"1_000"`)', 'avg(`[]`)']) {
      assert.equal((await compare(show, query)).code, 0, query);
    }
  });

  it('prints an expression reference (`&name`) as az does: its repr in tsv and table, its unexpected error in json and yaml', async () => {
    const show = ['keyvault', 'show', '-n', 'query-a', '-g', 'rg'];
    // CPython's object addresses differ at each run.
    const address = (text: string) => text.replace(/ at 0x[0-9a-f]+>/g, ' at 0xADDRESS>');
    for (const query of ['&name', '[&name, name]', '{a: &name, b: name}']) {
      for (const output of ['json', 'yaml', 'tsv', 'table']) {
        const args = [...show, '--query', query, '-o', output];
        const a = await az(args);
        const c = await coffer(home, args);
        const stderr = a.stderr.includes('unexpected error') ? withoutTraceback(a.stderr) : a.stderr;
        assert.deepEqual({ code: c.code, stdout: address(c.stdout), stderr: c.stderr }, { code: a.code, stdout: address(a.stdout), stderr }, `${query} -o ${output}`);
      }
    }
  });
});
