import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { BIN } from './support/server-fixture.js';
import { Command } from 'commander';
import { withOutput } from '../src/cli/command-kit.js';
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

describe('output into a closed pipe', () => {
  it('ends quietly with 0, as Unix tools do, not with an unhandled EPIPE (`coffer … --help | head -1`)', async () => {
    const child = spawn(process.execPath, [BIN, 'audit', 'list', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader goes away before the command writes: every write meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});

describe('docs/connector.md', () => {
  it('names every option of the connector commands but the common output ones', () => {
    const doc = readFileSync(new URL('../docs/connector.md', import.meta.url), 'utf8');
    const common = new Set(withOutput(new Command('x')).options.map((o) => o.long));
    const connector = buildProgram().commands.find((c) => c.name() === 'connector')!;
    for (const cmd of connector.commands) {
      for (const option of cmd.options.filter((o) => !common.has(o.long))) {
        assert.ok(doc.includes(`connector ${cmd.name()}`) && doc.includes(option.long!), `connector ${cmd.name()} ${option.long}`);
      }
    }
  });
});
