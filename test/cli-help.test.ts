import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/program.js';

// Every command documents itself with a description, its options and examples.

function leaves(cmd: Command, path: string[] = []): Array<[string, Command]> {
  if (cmd.commands.length === 0) return [[path.join(' '), cmd]];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

describe('coffer --help', () => {
  const all = leaves(buildProgram());
  it('has at least the az command lines the issue lists', () => {
    const names = all.map(([n]) => n);
    for (const expected of ['login', 'logout', 'account show', 'keyvault create', 'keyvault secret set', 'keyvault secret download', 'keyvault set-policy', 'role assignment create', 'role check-access', 'ad sp create-for-rbac', 'ad group member add']) {
      assert.ok(names.includes(expected), expected);
    }
  });
  for (const [name, cmd] of all) {
    it(`${name}: description and examples`, () => {
      let help = '';
      cmd.configureOutput({ writeOut: (s) => (help += s) });
      cmd.outputHelp();
      assert.ok(cmd.description().length > 10, `${name} has a description`);
      assert.match(help, /Examples:\n  coffer /, `${name} has examples`);
    });
  }
});
