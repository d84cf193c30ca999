import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { newServicePrincipal, type Principal } from './support/access-kit.js';
import { azRegistered, withoutTraceback } from './support/az-cli.js';
import { cliHome, coffer } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate, type TestCertificate } from './support/test-certificates.js';

// `login --service-principal -p cert.pem` with the private key encrypted (a passphrase): az 2.45 hands the PEM
// to MSAL without one, and PyJWT's load_pem_private_key(key, password=None) raises cryptography's TypeError,
// az's unexpected error. coffer prints that error's text, not that the file "holds no private key".

describe('CLI: a certificate sign-in with an encrypted private key, as az 2.45 fails it', () => {
  let server: TestServer;
  let sp: Principal;
  let cert: TestCertificate;
  let encrypted = '';

  before(async () => {
    server = await startTestServer();
    sp = await newServicePrincipal(server, 'encrypted-pem');
    cert = makeCertificate('encrypted-pem');
    const key = execFileSync('openssl', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-passout', 'pass:secret'], { input: cert.keyPem }).toString();
    encrypted = cert.combinedPath.replace(/\.pem$/, '-encrypted.pem');
    writeFileSync(encrypted, key + cert.certPem);
  });
  after(() => server?.stop());

  it('fails as az does, exit 1, with its message (a PKCS#8 key and a traditional one)', async () => {
    const traditional = cert.combinedPath.replace(/\.pem$/, '-traditional.pem');
    const rsa = execFileSync('openssl', ['rsa', '-aes256', '-traditional', '-passout', 'pass:secret'], { input: cert.keyPem, stdio: ['pipe', 'pipe', 'ignore'] }).toString();
    writeFileSync(traditional, rsa + cert.certPem);
    for (const pem of [encrypted, traditional]) {
      const az = await azRegistered(server);
      const args = ['login', '--service-principal', '-u', sp.appId, '-p', pem, '--tenant', server.bootstrap.tenantId, '--allow-no-subscriptions', '-o', 'none'];
      const a = await az(args);
      const c = await coffer(cliHome(), [...args, '--server', server.url]);
      assert.deepEqual({ code: c.code, stderr: c.stderr }, { code: a.code, stderr: withoutTraceback(a.stderr) }, pem);
      assert.match(c.stderr, /Password was not given but private key is encrypted/);
    }
  });
});
