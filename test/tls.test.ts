import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureTlsMaterial } from '../src/tls/certificates.js';

const NAMES = { dnsNames: ['localhost', '*.vault.localhost'], ipAddresses: ['127.0.0.1', '::1'] };

function connect(port: number, ca: string, servername: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host, port, ca, servername, headers: { host: servername } }, (res) => {
      res.resume();
      resolve(`ok ${res.statusCode}`);
    });
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.end();
  });
}

describe('TLS material', () => {
  it('creates a CA and a server certificate covering the names, keys private', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-tls-'));
    const m = await ensureTlsMaterial({ caDir: join(dir, 'ca'), certDir: join(dir, 'srv'), ...NAMES });
    assert.equal(m.generated, true);
    for (const f of [join(dir, 'ca', 'ca-key.pem'), m.keyFile]) assert.equal(statSync(f).mode & 0o777, 0o600, f);

    const server = createServer({ key: m.key, cert: m.cert }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      assert.equal(await connect(port, m.ca, 'localhost'), 'ok 200');
      assert.equal(await connect(port, m.ca, 'myvault.vault.localhost'), 'ok 200');
      assert.match(await connect(port, m.ca, 'evil.example.com'), /^error .*altnames/);
      assert.match(await connect(port, readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8'), 'localhost'), /^error /, 'not trusted without the CA');

      const python = '/usr/bin/python3';
      if (existsSync(python)) {
        const script = `import socket, ssl\nctx = ssl.create_default_context(cafile=${JSON.stringify(m.caFile)})\nwith socket.create_connection(('127.0.0.1', ${port})) as s:\n  with ctx.wrap_socket(s, server_hostname='x.vault.localhost') as t:\n    print(t.version())`;
        // Asynchronously: the server answering the handshake runs in this process.
        const { stdout } = await promisify(execFile)(python, ['-c', script], { encoding: 'utf8' });
        assert.match(stdout, /TLSv1\.[23]/);
      }
    } finally {
      server.close();
    }
  });

  it('reuses valid material and reissues when the names change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-tls-'));
    const opts = { caDir: join(dir, 'ca'), certDir: join(dir, 'srv'), ...NAMES };
    const first = await ensureTlsMaterial(opts);
    const second = await ensureTlsMaterial(opts);
    assert.equal(second.generated, false);
    assert.equal(second.cert, first.cert);
    const third = await ensureTlsMaterial({ ...opts, dnsNames: [...NAMES.dnsNames, '*.vault.example.com'] });
    assert.equal(third.generated, true);
    assert.notEqual(third.cert, first.cert);
    assert.equal(third.ca, first.ca, 'the CA is kept');
  });

  it('uses a supplied certificate and key, and names a mismatched pair', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-tls-'));
    const a = await ensureTlsMaterial({ caDir: join(dir, 'ca'), certDir: join(dir, 'a'), ...NAMES });
    const b = await ensureTlsMaterial({ caDir: join(dir, 'ca'), certDir: join(dir, 'b'), ...NAMES });
    const user = await ensureTlsMaterial({ caDir: join(dir, 'unused'), certDir: join(dir, 'unused'), ...NAMES, userCertFile: a.certFile, userKeyFile: a.keyFile });
    assert.equal(user.cert, a.cert);
    assert.equal(user.generated, false);
    assert.equal(existsSync(join(dir, 'unused')), false, 'nothing generated');
    await assert.rejects(
      ensureTlsMaterial({ caDir: join(dir, 'ca'), certDir: join(dir, 'x'), ...NAMES, userCertFile: a.certFile, userKeyFile: b.keyFile }),
      /does not match the certificate/,
    );
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    await assert.rejects(ensureTlsMaterial({ caDir: join(dir, 'ca'), certDir: join(dir, 'x'), ...NAMES, userCertFile: junk, userKeyFile: a.keyFile }), /not a PEM certificate/);
  });
});
