import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { envNames, loadConfig } from '../src/config/config.js';
import { ROOT } from './support/server-fixture.js';

// deploy/: the systemd unit and the configuration docs/deployment.md installs
// must be what coffer takes: the configuration valid as it is, the unit
// starting `coffer server` with it, and every variable either names known.

const unit = readFileSync(join(ROOT, 'deploy', 'coffer.service'), 'utf8');
const configFile = join(ROOT, 'deploy', 'coffer.json');
/** The unit's `Key=value` lines (comments left out). */
const settings = (key: string) =>
  unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe('deploy/', () => {
  it('coffer.json is a valid configuration, as the server reads it', () => {
    const config = loadConfig({}, {}, configFile);
    assert.equal(config.dataDir, '/var/lib/coffer');
    assert.equal(config.tlsCert, '/etc/coffer/tls/fullchain.pem');
    assert.equal(config.auditFile, '/var/log/coffer/audit.jsonl');
    assert.equal(config.publicHost, 'coffer.example.com');
    assert.equal(config.dev, false, 'never development credentials in production');
  });

  it('coffer.service runs `coffer server` with that configuration and writes only the data and log dirs', () => {
    assert.deepEqual(settings('ExecStart'), ['/usr/bin/node /opt/coffer/bin/coffer.js server']);
    assert.ok(settings('Environment').includes('COFFER_CONFIG=/etc/coffer/coffer.json'));
    assert.deepEqual(settings('ReadWritePaths'), ['/var/lib/coffer -/var/log/coffer']);
    assert.ok(settings('UMask').includes('0077') && settings('ProtectSystem').includes('strict'));
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, string>;
    for (const dir of settings('ReadWritePaths')[0]!.split(' ').map((p) => p.replace(/^-/, ''))) {
      assert.ok(Object.values(config).some((v) => typeof v === 'string' && v.startsWith(dir)), `${dir} is where the configuration writes`);
    }
  });

  it('names only variables coffer reads', () => {
    const known = new Set([...Object.keys(envNames), 'COFFER_CONFIG']);
    const named = [...new Set([...unit.matchAll(/\bCOFFER_[A-Z_]+/g), ...readFileSync(join(ROOT, 'docs', 'deployment.md'), 'utf8').matchAll(/\bCOFFER_[A-Z_]+/g)].map((m) => m[0]))];
    assert.ok(named.length >= 3, named.join(', '));
    for (const name of named) assert.ok(known.has(name), `${name} is not a variable coffer reads`);
  });

  it('systemd takes the unit (systemd-analyze verify, where systemd is installed)', (t) => {
    const which = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' });
    if (which.status !== 0) return t.skip('systemd-analyze is not installed here');
    const r = spawnSync('systemd-analyze', ['verify', join(ROOT, 'deploy', 'coffer.service')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});
