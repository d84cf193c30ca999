import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, runServerToEnd } from './support/server-fixture.js';

// A start that cannot listen leaves no data dir behind: a port in use is told
// before anything is made (port-check.ts), and a first start that fails later
// (here: listen on an address this machine does not have) removes the data dir
// it made. A data dir that existed is never touched.

/** Every file under `dir` with its content, to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out[join(e.parentPath, e.name)] = readFileSync(join(e.parentPath, e.name), 'base64');
  }
  return out;
}

describe('a start whose port is taken', () => {
  let occupier: Server;
  let port: number;
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'coffer-port-'));
    port = await freePort();
    occupier = createServer();
    // 'localhost', as the server binds it by default: the same address whichever one it resolves to first.
    await new Promise<void>((resolve) => occupier.listen(port, 'localhost', resolve));
  });
  after(() => new Promise<void>((resolve) => occupier.close(() => resolve())));

  it('says the port is in use, and which, and makes no data dir', async () => {
    // Two levels that do not exist: neither is made.
    const dataDir = join(root, 'fresh', 'data');
    const r = await runServerToEnd(['--dev', '--port', String(port), '--data-dir', dataDir]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, new RegExp(`ERROR: port ${port} is already in use on localhost \\(another process listens on it\\): stop that process, or start coffer on another port with --port`));
    assert.doesNotMatch(r.output, /created a new master key/);
    assert.equal(existsSync(join(root, 'fresh')), false);
  });

  it('leaves a data dir that existed as it was', async () => {
    const dataDir = join(root, 'existing');
    mkdirSync(join(dataDir, 'tls'), { recursive: true });
    writeFileSync(join(dataDir, 'notes.txt'), 'mine\n');
    writeFileSync(join(dataDir, 'tls', 'kept.pem'), 'not a certificate\n');
    const before = snapshot(dataDir);
    const r = await runServerToEnd(['--dev', '--port', String(port), '--data-dir', dataDir]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, new RegExp(`port ${port} is already in use`));
    assert.deepEqual(snapshot(dataDir), before);
  });
});

describe('a first start that fails after making its data dir', () => {
  it('removes the data dir it made, and only that', async () => {
    const root = mkdtempSync(join(tmpdir(), 'coffer-port-'));
    writeFileSync(join(root, 'beside.txt'), 'kept\n');
    const dataDir = join(root, 'made', 'data');
    // TEST-NET-1 (RFC 5737) is no address of this machine: the port check cannot tell, listen fails after setup.
    const r = await runServerToEnd(['--host', '192.0.2.1', '--port', String(await freePort()), '--data-dir', dataDir]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /EADDRNOTAVAIL/);
    assert.match(r.output, /created a new master key/, 'setup ran before listen failed');
    assert.equal(existsSync(join(root, 'made')), false);
    assert.deepEqual(readdirSync(root), ['beside.txt']);
  });

  it('never removes a parent it made once another data dir is in it (two servers starting under one new directory)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'coffer-port-'));
    const started = runServerToEnd(['--host', '192.0.2.1', '--port', String(await freePort()), '--data-dir', join(root, 'shared', 'data')]);
    // Another server's data dir, made in the parent this start made, while this start sets up.
    while (!existsSync(join(root, 'shared'))) await new Promise((r) => setTimeout(r, 5));
    mkdirSync(join(root, 'shared', 'other'));
    writeFileSync(join(root, 'shared', 'other', 'master.key'), 'theirs\n');
    const r = await started;
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /created a new master key/, 'it failed after setup, when it removes what it made');
    assert.deepEqual(readdirSync(join(root, 'shared')), ['other'], 'its own data dir is gone, the other stays');
    assert.equal(readFileSync(join(root, 'shared', 'other', 'master.key'), 'utf8'), 'theirs\n');
  });
});
