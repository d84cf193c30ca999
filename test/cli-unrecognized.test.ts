import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError, formatCliError } from '../src/cli/cli-error.js';
import { checkOutputOptions } from '../src/cli/output.js';
import { cliHome, coffer } from './support/cli.js';

// What az's argument parser (argparse's parse_args) says of arguments a command
// does not take: "unrecognized arguments:" and every one of them (an unknown
// option with its values, operands, and what follows `--`), exit 2. The
// `keyvault list` lines are az 2.45's own answers (its `keyvault secret`
// commands fail earlier in Debian's build); nothing is sent, so no server.

describe('CLI: arguments az\'s parser refuses', () => {
  const home = cliHome();
  const refused = async (args: string[], expected: string) => {
    const r = await coffer(home, args);
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', `ERROR: unrecognized arguments: ${expected}\n`], args.join(' '));
  };

  it('names every argument the command does not take, as az does', async () => {
    await refused(['keyvault', 'list', 'extra1', 'extra2'], 'extra1 extra2');
    await refused(['keyvault', 'list', '--bogus-flag'], '--bogus-flag');
    await refused(['keyvault', 'list', '--resource-grop', 'rg1'], '--resource-grop rg1');
    await refused(['keyvault', 'list', '--query', '[].name', '-o', 'tsv', 'zz'], 'zz');
    await refused(['keyvault', 'list', '-g', 'rg1', '--', 'x'], '-- x');
    await refused(['keyvault', 'secret', 'set', '--vault-name', 'v', '--name', 'x', '--value', 'v', '--tags', 'a=1', 'b=2', '--bogus', '1', '2'], '--bogus 1 2');
    await refused(['keyvault', 'secret', 'show', '--vault-name', 'v', '--nme', 'x', '--query=value'], '--nme x');
    // az 2.45's `account list` takes no --subscription (the `account` group drops the global one).
    await refused(['account', 'list', '--subscription', 'x'], '--subscription x');
  });

  it('refuses a --query that does not compile in az 2.45\'s words: the value\'s repr, then the --query reference', () => {
    const reference = "To learn more about --query, please visit: 'https://docs.microsoft.com/cli/azure/query-azure-cli'";
    for (const [query, repr] of [
      ['[[[', "'[[['"],
      ["[?name=='x'", `"[?name=='x'"`],
      // Unclosed delimiters, which jmespath.js reads as closed and Python's lexer refuses.
      ['`', `'\`'`],
      ["'", `"'"`],
      ['`abc', `'\`abc'`],
      ["name == 'x", `"name == 'x"`],
      ['name | "id', `'name | "id'`],
      ['`a\\`', `'\`a\\\\\`'`],
      // An empty query is no query to az's argparse type either: refused.
      ['', "''"],
    ]) {
      assert.throws(
        () => checkOutputOptions({ query }),
        (err: unknown) => err instanceof CliError && err.exitCode === 2 && formatCliError(err) === `ERROR: argument --query: invalid jmespath_type value: ${repr}\n${reference}`,
        query,
      );
    }
  });

  it('names a misspelled command as az does, with the closest of its group by difflib', async () => {
    for (const [args, expected] of [
      [['keyvault', 'lst'], "ERROR: 'lst' is misspelled or not recognized by the system.\nDid you mean 'list' ?\n"],
      [['keyvault', 'secrt', 'list'], "ERROR: 'secrt' is misspelled or not recognized by the system.\nDid you mean 'secret' ?\n"],
      [['rol', 'assignment', 'list'], "ERROR: 'rol' is misspelled or not recognized by the system.\nDid you mean 'role' ?\n"],
      [['keyvault', 'bogus'], "ERROR: 'bogus' is misspelled or not recognized by the system.\n"],
    ] as const) {
      const r = await coffer(home, [...args]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', expected], args.join(' '));
    }
  });
});
