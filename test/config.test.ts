import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { coffer } from './support/cli.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({}, {}, undefined);
    assert.equal(c.port, 8443);
    assert.equal(c.vaultDnsSuffix, 'vault.localhost');
    assert.equal(c.host, 'localhost');
    assert.ok(c.dataDir.endsWith('/data'));
    assert.equal(c.dev, false);
    assert.equal(c.shutdownTimeoutSeconds, 10);
    assert.equal(loadConfig({}, { COFFER_SHUTDOWN_TIMEOUT_SECONDS: '1' }, undefined).shutdownTimeoutSeconds, 1);
    assert.throws(() => loadConfig({ shutdownTimeoutSeconds: '-1' }, {}, undefined), /shutdownTimeoutSeconds/);
  });

  it('flags beat environment, environment beats the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
    const file = join(dir, 'coffer.json');
    writeFileSync(file, JSON.stringify({ port: 1111, location: 'filelocation', logLevel: 'debug' }));
    const c = loadConfig({ port: '3333' }, { COFFER_PORT: '2222', COFFER_LOCATION: 'envlocation' }, file);
    assert.equal(c.port, 3333);
    assert.equal(c.location, 'envlocation');
    assert.equal(c.logLevel, 'debug');
  });

  it('boolean settings in the file are JSON booleans or true/false words: the string "false" is false', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
    const file = join(dir, 'coffer.json');
    writeFileSync(file, JSON.stringify({ dev: 'false', throttle: 'false' }));
    const c = loadConfig({}, {}, file);
    assert.equal(c.dev, false);
    assert.equal(c.throttle, false);
    writeFileSync(file, JSON.stringify({ dev: 'maybe' }));
    assert.throws(() => loadConfig({}, {}, file), (err: ConfigError) => err.problems.some((p) => p.startsWith('dev:')));
  });

  it('names every invalid setting', () => {
    assert.throws(
      () => loadConfig({ port: '70000', vaultDnsSuffix: 'Not A Domain' }, { COFFER_LOG_LEVEL: 'loud' }, undefined),
      (err: ConfigError) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.problems.some((p) => p.startsWith('port:')));
        assert.ok(err.problems.some((p) => p.startsWith('vaultDnsSuffix:')));
        assert.ok(err.problems.some((p) => p.startsWith('logLevel:')));
        return true;
      },
    );
  });

  it('refuses unknown keys in the file, a half TLS pair, and dev mode off loopback', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
    const file = join(dir, 'coffer.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    assert.throws(() => loadConfig({}, {}, file), /prot/);
    assert.throws(() => loadConfig({ tlsCert: '/x.pem' }, {}, undefined), /together/);
    assert.throws(() => loadConfig({ dev: true, host: '0.0.0.0' }, {}, undefined), /loopback/);
    assert.throws(() => loadConfig({}, {}, join(dir, 'missing.json')), /does not exist/);
  });
});

// `coffer server` reads its configuration in the server thread (the main
// thread stays a small shell): errors still reach the terminal with the
// process's exit code.
describe('coffer server command line', () => {
  it('connection limits: 4096 in all and 512 per client address by default, as the README says; 0 per client is no limit; bad values named', () => {
    const c = loadConfig({}, {}, undefined);
    assert.equal(c.maxConnections, 4096);
    assert.equal(c.maxConnectionsPerClient, 512);
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    assert.match(readme, /^\| `--max-connections` \| `COFFER_MAX_CONNECTIONS` \| 4096 /m);
    assert.match(readme, /^\| `--max-connections-per-client` \| `COFFER_MAX_CONNECTIONS_PER_CLIENT` \| 512 /m);
    const fromEnv = loadConfig({}, { COFFER_MAX_CONNECTIONS: '100', COFFER_MAX_CONNECTIONS_PER_CLIENT: '0' }, undefined);
    assert.deepEqual([fromEnv.maxConnections, fromEnv.maxConnectionsPerClient], [100, 0]);
    const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
    const file = join(dir, 'coffer.json');
    writeFileSync(file, JSON.stringify({ maxConnections: 20000, maxConnectionsPerClient: 64 }));
    const fromFile = loadConfig({ maxConnectionsPerClient: '32' }, {}, file);
    assert.deepEqual([fromFile.maxConnections, fromFile.maxConnectionsPerClient], [20000, 32]);
    const problems = (flags: Record<string, unknown>) => {
      try {
        loadConfig(flags, {}, undefined);
      } catch (err) {
        return (err as ConfigError).problems;
      }
      return [];
    };
    for (const bad of ['-1', '2.5', 'many', '0']) {
      assert.match(problems({ maxConnections: bad }).join('\n'), /^maxConnections: /, `maxConnections ${bad}`);
    }
    for (const bad of ['-1', '2.5', 'many']) {
      assert.match(problems({ maxConnectionsPerClient: bad }).join('\n'), /^maxConnectionsPerClient: /, `maxConnectionsPerClient ${bad}`);
    }
    assert.deepEqual(problems({ maxConnections: '-1' }), ['maxConnections: must be at least 1']);
    assert.deepEqual(problems({ maxConnectionsPerClient: '-1' }), ['maxConnectionsPerClient: must be 0 (no limit) or more']);
    assert.deepEqual(problems({ maxConnectionsPerClient: '2.5' }), ['maxConnectionsPerClient: must be a whole number']);
  });

  it('refuses a bad connection limit given as a flag of coffer server, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
    const r = await coffer(dir, ['server', '--max-connections-per-client', '-3', '--data-dir', join(dir, 'data')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ERROR: invalid configuration:\n\s+- maxConnectionsPerClient: /);
  });

  it('refuses an invalid setting with exit code 2 and names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
    const r = await coffer(dir, ['server', '--port', 'eighty', '--data-dir', join(dir, 'data')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ERROR: invalid configuration:\n\s+- port: /);
    const file = join(dir, 'coffer.json');
    writeFileSync(file, JSON.stringify({ logLevel: 'loud' }));
    const fromFile = await coffer(dir, ['server', '--config', file, '--data-dir', join(dir, 'data')]);
    assert.equal(fromFile.code, 2);
    assert.match(fromFile.stderr, /logLevel/);
  });

  it('reports a startup failure with exit code 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-config-'));
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = (taken.address() as AddressInfo).port;
      const r = await coffer(dir, ['server', '--dev', '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'), '--log-level', 'error']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`ERROR: port ${port} is already in use on 127.0.0.1`));
    } finally {
      taken.close();
    }
  });
});
