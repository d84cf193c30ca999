import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '../src/storage/atomic-file.js';

// Key files, bootstrap.json and the audit marks are replaced whole and private
// (src/storage/atomic-file.ts); the fsyncs themselves were checked with strace.

const dir = mkdtempSync(join(tmpdir(), 'coffer-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('replaces a file whole, private whatever the umask, leaving no temp file', () => {
  const file = join(dir, 'master.key');
  writeFileSync(file, 'old', { mode: 0o644 });
  const umask = process.umask(0);
  try {
    writeFileAtomic(file, '{"new": true}\n');
  } finally {
    process.umask(umask);
  }
  assert.equal(readFileSync(file, 'utf8'), '{"new": true}\n');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['master.key']);
});

test('a write that fails leaves the old file and no temp file', () => {
  const file = join(dir, 'missing-dir', 'x.json');
  assert.throws(() => writeFileAtomic(file, 'x'));
  assert.deepEqual(readdirSync(dir).sort(), ['master.key']);
});
