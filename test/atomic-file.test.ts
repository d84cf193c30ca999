import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '../src/storage/atomic-file.js';
import { ROOT } from './support/server-fixture.js';

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

test('a disk that fills during the write (a file size limit: the write takes part, then EFBIG) leaves the old file whole', () => {
  const sub = mkdtempSync(join(dir, 'full-'));
  const file = join(sub, 'authorization-key.json');
  writeFileSync(file, '{"old": true}\n');
  // ulimit -f is in 1024-byte blocks: 4 KiB may be written, the record is 9 KB.
  const program = `import { writeFileAtomic } from ${JSON.stringify(join(ROOT, 'dist/src/storage/atomic-file.js'))};
    try { writeFileAtomic(${JSON.stringify(file)}, JSON.stringify({ big: 'x'.repeat(9000) })); console.log('written'); } catch (e) { console.log(e.code); }`;
  const r = spawnSync('bash', ['-c', 'ulimit -f 4 && exec "$0" --input-type=module -e "$1"', process.execPath, program], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'EFBIG', r.stderr);
  assert.equal(readFileSync(file, 'utf8'), '{"old": true}\n');
  assert.deepEqual(readdirSync(sub), ['authorization-key.json'], 'no temp file left');
});
