import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandAbbreviations } from '../src/cli/abbreviations.js';
import { CliError } from '../src/cli/cli-error.js';
import { buildProgram } from '../src/cli/program.js';

// How the command line is rewritten before commander sees it: argparse's
// prefixes, and argparse's refusal of an option-like token as a value.

const expand = (...args: string[]) => expandAbbreviations(buildProgram(), ['node', 'coffer', ...args]).slice(2);

function refuses(args: string[], message: string): void {
  assert.throws(
    () => expand(...args),
    (err: unknown) => err instanceof CliError && err.exitCode === 2 && err.message === message,
  );
}

describe('CLI option abbreviations', () => {
  it('expands unambiguous prefixes of long options, with and without =', () => {
    assert.deepEqual(expand('keyvault', 'secret', 'set', '--vault-n', 'v', '--na=x', '--val', 'one'), ['keyvault', 'secret', 'set', '--vault-name', 'v', '--name=x', '--value', 'one']);
  });

  it("splits a short option's -n=value at the '=' as argparse does (commander would keep '=value')", () => {
    assert.deepEqual(expand('keyvault', 'secret', 'show', '--vault-name', 'v', '-n=s1', '-o=tsv'), ['keyvault', 'secret', 'show', '--vault-name', 'v', '-n', 's1', '-o', 'tsv']);
    assert.deepEqual(expand('keyvault', 'secret', 'set', '--vault-name', 'v', '-n=', '--value', 'a=b'), ['keyvault', 'secret', 'set', '--vault-name', 'v', '-n', '', '--value', 'a=b']);
  });

  it('refuses an ambiguous prefix', () => {
    // In argparse's order, as az lists them: its global arguments before the command's.
    refuses(['keyvault', 'secret', 'show', '--ver', 'x'], 'ambiguous option: --ver could match --verbose, --version');
    refuses(['keyvault', 'secret', 'show', '--v', 'x'], 'ambiguous option: --v could match --verbose, --vault-name, --version');
  });

  it('never expands the value of an option, even when it looks like a prefix', () => {
    // `--value --desc` used to store "--description" as the secret's value.
    refuses(['keyvault', 'secret', 'set', '--vault-name', 'v', '-n', 'x', '--value', '--desc'], 'argument --value: expected one argument');
    refuses(['keyvault', 'secret', 'set', '--vault-name', 'v', '-n', 'x', '--value', '--nonsense'], 'argument --value: expected one argument');
    // az registers the long form first, and argparse names an option by its strings in that order (az 2.45: `az keyvault show -n`).
    refuses(['keyvault', 'secret', 'set', '--vault-name', 'v', '--value', 'x', '-n', '-q'], 'argument --name/-n: expected one argument');
    refuses(['keyvault', 'list', '-g'], 'argument --resource-group/-g: expected one argument');
    refuses(['keyvault', 'list', '-o'], 'argument --output/-o: expected one argument');
    assert.throws(
      () => expand('keyvault', 'list', '--query'),
      (err: unknown) => err instanceof CliError && err.message === 'argument --query: expected one argument' && err.details === "To learn more about --query, please visit: 'https://docs.microsoft.com/cli/azure/query-azure-cli'",
    );
    refuses(['keyvault', 'secret', 'set', '--vault-name', 'v', '-n', 'x', '--value'], 'argument --value: expected one argument');
    // One argument of three strings in az, named by all of them in az's order (az 2.45: `az ad sp create-for-rbac -n`).
    for (const flag of ['-n', '--name', '--display-name', '--disp']) {
      refuses(['ad', 'sp', 'create-for-rbac', flag], 'argument --display-name/--name/-n: expected one argument');
    }
    // So are a group's name and an account's subscription (az 2.45: `az group show -g`, `az group create -n`, `az account set -s`).
    for (const cmd of ['show', 'exists', 'update', 'delete']) {
      refuses(['group', cmd, '-g'], 'argument --name/-n/--resource-group/-g: expected one argument');
      refuses(['group', cmd, '--name'], 'argument --name/-n/--resource-group/-g: expected one argument');
    }
    refuses(['group', 'create', '-n'], 'argument --name/--resource-group/-n/-g: expected one argument');
    // An argument of one or more values (nargs='+') wants at least one (az 2.45: `az keyvault update -n x --add`).
    refuses(['keyvault', 'update', '-n', 'x', '--add'], 'argument --add: expected at least one argument');
    refuses(['keyvault', 'update', '-n', 'x', '--set', '--add', 'tags', 'a'], 'argument --set: expected at least one argument');
    refuses(['role', 'assignment', 'delete', '--ids'], 'argument --ids: expected at least one argument');
    for (const cmd of ['show', 'set', 'get-access-token']) {
      refuses(['account', cmd, '-n'], 'argument --subscription/-s/--name/-n: expected one argument');
      refuses(['account', cmd, '--subscription'], 'argument --subscription/-s/--name/-n: expected one argument');
    }
  });

  it('takes values argparse takes: negative numbers, "-", text with spaces, and --opt=--x', () => {
    assert.deepEqual(expand('keyvault', 'secret', 'list', '--vault-name', 'v', '--maxresults', '-1'), ['keyvault', 'secret', 'list', '--vault-name', 'v', '--maxresults', '-1']);
    assert.deepEqual(expand('keyvault', 'secret', 'set', '--vault-n', 'v', '--val', '-not an option'), ['keyvault', 'secret', 'set', '--vault-name', 'v', '--value', '-not an option']);
    assert.deepEqual(expand('keyvault', 'secret', 'set', '--value=--desc', '--desc', 'x'), ['keyvault', 'secret', 'set', '--value=--desc', '--description', 'x']);
    assert.deepEqual(expand('keyvault', 'secret', 'set', '--value', '-'), ['keyvault', 'secret', 'set', '--value', '-']);
  });

  it('leaves everything after -- alone', () => {
    assert.deepEqual(expand('keyvault', 'secret', 'set', '--', '--na'), ['keyvault', 'secret', 'set', '--', '--na']);
  });
});
