import 'reflect-metadata'; // before @peculiar/x509
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { type TlsMaterial, describeTrust, ensureTlsMaterial } from '../src/tls/certificates.js';
import { decodeNameConstraints, NAME_CONSTRAINTS_OID, outsideConstraints } from '../src/tls/name-constraints.js';
import { startTestServer } from './support/server-fixture.js';

const NAMES = { dnsNames: ['localhost', '*.vault.localhost', 'vault.localhost'], ipAddresses: ['127.0.0.1', '::1'] };
const PYTHON = '/usr/bin/python3';
const DAY = 24 * 3600 * 1000;

const tempDir = () => mkdtempSync(join(tmpdir(), 'coffer-tls-'));
const mode = (file: string) => statSync(file).mode & 0o777;
const dirs = (dir: string) => ({ caDir: join(dir, 'ca'), certDir: join(dir, 'srv') });

// Resolves "ok <status>" or "error <code>"; no agent, so no pooled sockets or cached sessions.
function get(port: number, ca: string, opts: { host?: string; servername?: string } = {}): Promise<string> {
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve) => {
    const req = request({ host, port, ca, agent: false, servername: opts.servername, headers: { host: opts.servername ?? host } }, (res) => {
      res.resume();
      resolve(`ok ${res.statusCode}`);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
    req.end();
  });
}

function listen(m: TlsMaterial, host: string): Promise<Server> {
  const server = createServer({ key: m.key, cert: m.cert }, (_req, res) => res.end('ok'));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;

/** Writes a self-signed CA (as someone else, or an earlier coffer, made it) into caDir; returns its PEMs. */
async function plantCa(caDir: string, name: string, days: number, extensions: x509.Extension[]): Promise<{ certPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + days * DAY),
    keys: keys as unknown as CryptoKeyPair,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions,
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
  mkdirSync(caDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(caDir, 'ca-key.pem'), keyPem, { mode: 0o600 });
  writeFileSync(join(caDir, 'ca.pem'), cert.toString('pem'));
  return { certPem: cert.toString('pem'), keyPem };
}

// A server certificate issued by the CA with a chosen lifetime, to exercise renewal.
async function plantServerCert(caDir: string, certDir: string, days: number): Promise<void> {
  const caKey = await webcrypto.subtle.importKey('pkcs8', createPrivateKey(readFileSync(join(caDir, 'ca-key.pem'))).export({ type: 'pkcs8', format: 'der' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const caCert = new x509.X509Certificate(readFileSync(join(caDir, 'ca.pem'), 'utf8'));
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'CN=planted',
    issuer: caCert.subjectName,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + days * DAY),
    publicKey: keys.publicKey as unknown as CryptoKey,
    signingKey: caKey as unknown as CryptoKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([...NAMES.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...NAMES.ipAddresses.map((value) => ({ type: 'ip' as const, value }))])],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  writeFileSync(join(certDir, 'server-key.pem'), createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(certDir, 'server.pem'), cert.toString('pem'));
}

describe('generated TLS material', () => {
  let dir: string;
  let m: TlsMaterial;
  let server: Server;
  let port: number;

  before(async () => {
    dir = tempDir();
    m = await ensureTlsMaterial({ ...dirs(dir), ...NAMES });
    server = await listen(m, '127.0.0.1');
    port = portOf(server);
  });
  after(() => server.close());

  it('writes private keys 0600 in 0700 directories', () => {
    assert.equal(m.generated, true);
    assert.equal(m.caFile, join(dir, 'ca', 'ca.pem'));
    assert.equal(m.keyFile, join(dir, 'srv', 'server-key.pem'));
    for (const f of [join(dir, 'ca', 'ca-key.pem'), m.keyFile]) assert.equal(mode(f), 0o600, f);
    for (const d of [join(dir, 'ca'), join(dir, 'srv')]) assert.equal(mode(d), 0o700, d);
    assert.equal(readFileSync(m.caFile, 'utf8'), m.ca);
  });

  it('has the CA and server extensions', () => {
    const ca = new x509.X509Certificate(m.ca);
    const srv = new x509.X509Certificate(m.cert);
    const bc = ca.getExtension(x509.BasicConstraintsExtension)!;
    assert.ok(bc.ca && bc.critical);
    assert.equal(ca.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.match(ca.subject, /CN=coffer local CA/);
    assert.equal(srv.getExtension(x509.BasicConstraintsExtension)!.ca, false);
    assert.deepEqual([...srv.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.serverAuth]);
    assert.equal(srv.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, ca.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
    const days = (srv.notAfter.getTime() - Date.now()) / DAY;
    assert.ok(days > 390 && days <= 397, `server validity ${days} days`);
    assert.ok(new X509Certificate(m.cert).checkIssued(new X509Certificate(m.ca)));
  });

  it('Node verifies the covered names against the CA', async () => {
    assert.equal(await get(port, m.ca, { servername: 'localhost' }), 'ok 200');
    assert.equal(await get(port, m.ca, { servername: 'myvault.vault.localhost' }), 'ok 200');
    assert.equal(await get(port, m.ca, { servername: 'vault.localhost' }), 'ok 200');
    assert.equal(await get(port, m.ca), 'ok 200', '127.0.0.1 as an IP SAN');
  });

  it('Node rejects an uncovered name and an unknown CA', async () => {
    assert.equal(await get(port, m.ca, { servername: 'evil.example.com' }), 'error ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(await get(port, m.ca, { servername: 'a.b.vault.localhost' }), 'error ERR_TLS_CERT_ALTNAME_INVALID', 'a wildcard spans one label');
    const other = await ensureTlsMaterial({ ...dirs(tempDir()), ...NAMES });
    assert.match(await get(port, other.ca, { servername: 'localhost' }), /^error (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
  });

  it("the CA's name constraints (critical) permit localhost, loopback and the names it was made for, and nothing else", async () => {
    const ext = new x509.X509Certificate(m.ca).getExtension(NAME_CONSTRAINTS_OID)!;
    assert.equal(ext.critical, true);
    const c = decodeNameConstraints(new Uint8Array(ext.value))!;
    assert.deepEqual(c.dns, ['localhost', 'vault.localhost']);
    const raw = Buffer.from(ext.value);
    for (const tag of [0x81, 0x86]) assert.ok(raw.includes(Buffer.from([tag, 8, ...Buffer.from('.invalid')])), `names of tag ${tag.toString(16)} (e-mail, URI) are confined to .invalid`);
    assert.deepEqual([...new x509.X509Certificate(m.ca).getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.serverAuth], 'a CA for servers only');
    // Embedded IPv4 forms are the addresses they name.
    assert.deepEqual(outsideConstraints({ dns: [], ip: [{ address: Buffer.from('00000000000000000000ffff0a000001', 'hex'), mask: Buffer.alloc(16, 0xff) }] }, [], ['::ffff:10.0.0.1']), []);
    assert.deepEqual(outsideConstraints(c, ['localhost', 'a.localhost', '*.vault.localhost', 'example.com', 'localhost.example.com'], ['127.9.9.9', '::1', '10.0.0.1', '::2']), [
      'example.com',
      'localhost.example.com',
      '10.0.0.1',
      '::2',
    ]);
  });

  it('clients refuse a certificate the CA signed for any other name: its key cannot impersonate other sites', async () => {
    const { issueServerCertificate } = await import('../src/tls/certificate-issuer.js');
    const caKey = createPrivateKey(readFileSync(join(dir, 'ca', 'ca-key.pem')));
    const rogue = await issueServerCertificate({ cert: new X509Certificate(m.ca), key: caKey }, ['evil.example.com', 'localhost'], ['10.9.9.9']);
    const server = createServer({ key: rogue.keyPem, cert: rogue.certPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      for (const servername of ['evil.example.com', 'localhost']) {
        // OpenSSL's X509_V_ERR_PERMITTED_VIOLATION, which Node 20 names UNSPECIFIED (Python names it below).
        assert.match(await get(portOf(server), m.ca, { servername }), /^error (PERMITTED_SUBTREE_VIOLATION|UNSPECIFIED)$/, servername);
      }
      if (existsSync(PYTHON)) {
        const script = [
          'import socket, ssl, sys',
          'ctx = ssl.create_default_context(cafile=sys.argv[1])',
          'try:',
          "    with socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=10) as s, ctx.wrap_socket(s, server_hostname='evil.example.com'):",
          "        print('ok')",
          'except ssl.SSLCertVerificationError as e:',
          "    print('fail', e.verify_message)",
        ].join('\n');
        const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, m.caFile, String(portOf(server))], { encoding: 'utf8' });
        assert.match(stdout.trim(), /^fail permitted subtree violation$/i);
      }
    } finally {
      server.close();
    }
  });

  it('Node verifies [::1] as an IP SAN', async (t) => {
    let v6: Server;
    try {
      v6 = await listen(m, '::1');
    } catch (err) {
      t.skip(`IPv6 loopback unavailable: ${(err as Error).message}`);
      return;
    }
    try {
      assert.equal(await get(portOf(v6), m.ca, { host: '::1' }), 'ok 200');
    } finally {
      v6.close();
    }
  });

  it("Python's ssl verifies against the CA file", async (t) => {
    if (!existsSync(PYTHON)) {
      t.skip(`${PYTHON} is missing`);
      return;
    }
    const script = [
      'import socket, ssl, sys',
      'ctx = ssl.create_default_context(cafile=sys.argv[1])',
      'for name in sys.argv[3:]:',
      '    try:',
      "        with socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=10) as s, ctx.wrap_socket(s, server_hostname=name) as tls:",
      "            print(name, 'ok', tls.version())",
      '    except ssl.SSLCertVerificationError as e:',
      "        print(name, 'fail', e.verify_message)",
    ].join('\n');
    // Asynchronous: the server answering Python runs in this process.
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', script, m.caFile, String(port), 'x.vault.localhost', 'localhost', 'evil.example.com'], { encoding: 'utf8' });
    const lines = stdout.trim().split('\n');
    assert.match(lines[0]!, /^x\.vault\.localhost ok TLSv1\.[23]$/);
    assert.match(lines[1]!, /^localhost ok /);
    assert.match(lines[2]!, /^evil\.example\.com fail .*mismatch/i);
  });
});

describe('reusing and renewing TLS material', () => {
  it('reuses valid material and tightens a loosened key', async () => {
    const opts = { ...dirs(tempDir()), ...NAMES };
    const first = await ensureTlsMaterial(opts);
    chmodSync(first.keyFile, 0o644);
    const second = await ensureTlsMaterial(opts);
    assert.equal(second.generated, false);
    assert.equal(second.cert, first.cert);
    assert.equal(second.key, first.key);
    assert.equal(second.ca, first.ca);
    assert.equal(mode(second.keyFile), 0o600);
  });

  it("tightens a loosened CA key, and never overwrites a CA that is not coffer's", async () => {
    const opts = { ...dirs(tempDir()), ...NAMES };
    await ensureTlsMaterial(opts);
    const caKeyFile = join(opts.caDir, 'ca-key.pem');
    chmodSync(caKeyFile, 0o644);
    await ensureTlsMaterial(opts);
    assert.equal(mode(caKeyFile), 0o600);

    // Someone else's CA, 10 days from expiry: coffer would renew its own, but this one is not its to replace.
    const { keyPem } = await plantCa(opts.caDir, 'CN=Example Corp CA', 10, [new x509.BasicConstraintsExtension(true, undefined, true)]);
    await assert.rejects(ensureTlsMaterial(opts), /is not coffer's and is about to expire/);
    assert.equal(readFileSync(caKeyFile, 'utf8'), keyPem, 'their key is untouched');
  });

  it('reissues the server certificate, keeping the CA, when the names change within what the CA may vouch for', async () => {
    const opts = { ...dirs(tempDir()), ...NAMES, dnsNames: [...NAMES.dnsNames, 'vault.example.com'], ipAddresses: [...NAMES.ipAddresses, '10.1.2.3'] };
    const first = await ensureTlsMaterial({ ...opts, dnsNames: NAMES.dnsNames, ipAddresses: NAMES.ipAddresses });
    // The CA was made for the first names: a later start serving others is refused, clearly, before anything is issued.
    await assert.rejects(ensureTlsMaterial(opts), /the CA in .* may only vouch for the names it was made for, not vault\.example\.com, 10\.1\.2\.3; remove its ca\.pem/);
    const within = await ensureTlsMaterial({ ...opts, ...dirs(tempDir()) });
    const widened = await ensureTlsMaterial({ ...opts, ...dirs(tempDir()), caDir: within.caFile.replace(/\/ca\.pem$/, ''), dnsNames: [...opts.dnsNames, '*.vault.example.com', 'kv.localhost'] });
    assert.equal(widened.generated, true);
    assert.notEqual(widened.cert, first.cert);
    assert.equal(widened.ca, within.ca);
    assert.equal(new X509Certificate(widened.cert).checkHost('kv.vault.example.com'), '*.vault.example.com', 'a subdomain of a name the CA was made for');
    assert.equal(new X509Certificate(within.cert).checkIP('10.1.2.3'), '10.1.2.3');
    const fewer = await ensureTlsMaterial({ ...opts, dnsNames: ['localhost'], ipAddresses: [] });
    assert.equal(fewer.generated, false, 'a certificate covering more names than needed is kept');
  });

  it('an IPv6 address with a dotted IPv4 tail is the address it names, in the certificate and in the CA constraints', async () => {
    const opts = { ...dirs(tempDir()), ...NAMES, ipAddresses: [...NAMES.ipAddresses, '::ffff:10.1.2.3'] };
    const first = await ensureTlsMaterial(opts);
    assert.equal(new X509Certificate(first.cert).checkIP('::ffff:10.1.2.3'), '::ffff:10.1.2.3');
    assert.equal(new X509Certificate(first.cert).checkIP('::ffff:a01:203'), '::ffff:a01:203');
    assert.equal((await ensureTlsMaterial(opts)).generated, false, 'reused: it covers the address');
    const c = decodeNameConstraints(new Uint8Array(new x509.X509Certificate(first.ca).getExtension(NAME_CONSTRAINTS_OID)!.value))!;
    assert.deepEqual(outsideConstraints(c, [], ['::ffff:10.1.2.3', '0:0:0:0:0:ffff:a01:203', '::ffff:10.1.2.4']), ['::ffff:10.1.2.4']);
  });

  it('a CA made by an earlier coffer (no name constraints) keeps working, and is reported so the server can warn', async () => {
    const opts = { ...dirs(tempDir()), ...NAMES };
    assert.equal((await ensureTlsMaterial(opts)).unconstrainedCa, false, 'a CA made now is constrained');
    const other = { ...dirs(tempDir()), ...NAMES };
    const old = await plantCa(other.caDir, 'CN=coffer local CA, O=coffer', 3000, [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ]);
    const m = await ensureTlsMaterial({ ...other, dnsNames: [...NAMES.dnsNames, 'anything.example'] });
    assert.equal(m.unconstrainedCa, true);
    assert.equal(m.ca, old.certPem, 'kept as it is');
    assert.equal(new X509Certificate(m.cert).checkHost('anything.example'), 'anything.example');
  });

  it('renews a server certificate expiring within 30 days', async () => {
    const opts = { ...dirs(tempDir()), ...NAMES };
    await ensureTlsMaterial(opts);
    await plantServerCert(opts.caDir, opts.certDir, 100);
    assert.equal((await ensureTlsMaterial(opts)).generated, false, 'the planted certificate is otherwise acceptable');
    await plantServerCert(opts.caDir, opts.certDir, 10);
    const renewed = await ensureTlsMaterial(opts);
    assert.equal(renewed.generated, true);
    assert.ok(Date.parse(new X509Certificate(renewed.cert).validTo) - Date.now() > 300 * DAY);
  });

  it('reissues when the CA changed or the key no longer matches', async () => {
    const dir = tempDir();
    const first = await ensureTlsMaterial({ ...dirs(dir), ...NAMES });
    const otherCa = await ensureTlsMaterial({ caDir: join(dir, 'ca2'), certDir: join(dir, 'srv'), ...NAMES });
    assert.equal(otherCa.generated, true);
    assert.notEqual(otherCa.ca, first.ca);
    assert.ok(new X509Certificate(otherCa.cert).verify(new X509Certificate(otherCa.ca).publicKey));

    const stray = await ensureTlsMaterial({ ...dirs(tempDir()), ...NAMES });
    writeFileSync(otherCa.keyFile, stray.key); // as if a crash fell between writing the key and the certificate
    const repaired = await ensureTlsMaterial({ caDir: join(dir, 'ca2'), certDir: join(dir, 'srv'), ...NAMES });
    assert.equal(repaired.generated, true);
    assert.ok(new X509Certificate(repaired.cert).checkPrivateKey(createPrivateKey(repaired.key)));
  });
});

describe('user-supplied certificate', () => {
  it('is used as-is and nothing is generated', async () => {
    const dir = tempDir();
    const a = await ensureTlsMaterial({ ...dirs(join(dir, 'a')), ...NAMES });
    const user = await ensureTlsMaterial({ caDir: join(dir, 'unused-ca'), certDir: join(dir, 'unused'), ...NAMES, userCertFile: a.certFile, userKeyFile: a.keyFile });
    assert.equal(user.cert, a.cert);
    assert.equal(user.key, a.key);
    assert.equal(user.certFile, a.certFile);
    assert.equal(user.generated, false);
    assert.equal(existsSync(join(dir, 'unused-ca')) || existsSync(join(dir, 'unused')), false);
  });

  it('fails clearly on a mismatched, unparsable, missing or half-given pair', async () => {
    const dir = tempDir();
    const a = await ensureTlsMaterial({ ...dirs(join(dir, 'a')), ...NAMES });
    const b = await ensureTlsMaterial({ ...dirs(join(dir, 'b')), ...NAMES });
    const base = { ...dirs(join(dir, 'x')), ...NAMES };
    await assert.rejects(ensureTlsMaterial({ ...base, userCertFile: a.certFile, userKeyFile: b.keyFile }), /private key in .*b\/srv\/server-key\.pem does not match the certificate/);
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    await assert.rejects(ensureTlsMaterial({ ...base, userCertFile: junk, userKeyFile: a.keyFile }), /junk\.pem does not hold a PEM certificate/);
    await assert.rejects(ensureTlsMaterial({ ...base, userCertFile: a.certFile, userKeyFile: junk }), /junk\.pem does not hold an unencrypted PEM private key/);
    await assert.rejects(ensureTlsMaterial({ ...base, userCertFile: a.certFile, userKeyFile: join(dir, 'nope.pem') }), /cannot read the TLS key .*nope\.pem: ENOENT/);
    await assert.rejects(ensureTlsMaterial({ ...base, userCertFile: a.certFile }), /given together/);
    assert.equal(existsSync(join(dir, 'x')), false);
  });
});

describe('--public-host given as an IP address', () => {
  async function serverCertificate(publicHost: string) {
    const server = await startTestServer({ args: ['--public-host', publicHost] });
    try {
      return { cert: new X509Certificate(readFileSync(join(server.dataDir, 'tls', 'server.pem'))), authority: server.bootstrap.authorityHost, port: server.port };
    } finally {
      await server.stop();
    }
  }

  it('an IPv4 address is an IP address entry of the generated certificate, not a DNS name', async () => {
    const { cert, authority, port } = await serverCertificate('127.0.0.2');
    assert.equal(cert.checkIP('127.0.0.2'), '127.0.0.2');
    assert.doesNotMatch(cert.subjectAltName ?? '', /DNS:127\.0\.0\.2/);
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(authority, `https://127.0.0.2:${port}`);
  });

  it('so is an IPv6 address, which URLs bracket', async () => {
    const { cert, authority, port } = await serverCertificate('2001:db8::10');
    assert.equal(cert.checkIP('2001:db8::10'), '2001:db8::10');
    assert.doesNotMatch(cert.subjectAltName ?? '', /DNS:2001/);
    assert.equal(authority, `https://[2001:db8::10]:${port}`);
  });
});

describe('describeTrust', () => {
  it('names the CA file for Node, Python/az and the Debian store', () => {
    const text = describeTrust('/d/ca.pem');
    assert.match(text, /NODE_EXTRA_CA_CERTS=\/d\/ca\.pem/);
    assert.match(text, /REQUESTS_CA_BUNDLE=\/d\/ca\.pem/);
    assert.match(text, /ca-certificates\.crt/);
    assert.match(text, /cp \/d\/ca\.pem \/usr\/local\/share\/ca-certificates\/coffer-ca\.crt && update-ca-certificates/);
  });
});
