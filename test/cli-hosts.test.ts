import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliHome, coffer } from './support/cli.js';

describe('coffer hosts', () => {
  it('writes one coffer block of loopback entries and replaces it on the next run', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'coffer-hosts-')), 'hosts');
    writeFileSync(file, '127.0.0.1 localhost\n');
    const home = cliHome();
    let r = await coffer(home, ['hosts', '--vault', 'one', 'Two', '--suffix', 'vault.localhost', '--file', file]);
    assert.equal(r.code, 0, r.stderr);
    r = await coffer(home, ['hosts', '--vault', 'three', '--suffix', 'vault.localhost', '--file', file]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('127.0.0.1 localhost\n'));
    assert.equal(text.match(/# BEGIN coffer vaults/g)?.length, 1);
    assert.match(text, /^127\.0\.0\.1 three\.vault\.localhost$/m);
    assert.doesNotMatch(text, /one\.vault\.localhost/);
  });

  it('explains what to do when the file is not writable', async () => {
    const r = await coffer(cliHome(), ['hosts', '--vault', 'x', '--suffix', 'vault.localhost', '--file', '/proc/version']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /add these lines yourself/);
    assert.match(r.stderr, /127\.0\.0\.1 x\.vault\.localhost/);
  });
});
