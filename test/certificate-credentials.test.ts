import assert from 'node:assert/strict';
import { randomUUID, sign as cryptoSign } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ClientCertificateCredential } from '@azure/identity';
import { decodeJwt, importPKCS8, SignJWT } from 'jose';
import { adminToken, api, newServicePrincipal, setPolicy, type Principal } from './support/access-kit.js';
import { createVault, secretClient } from './support/clients.js';
import { cliHome, coffer } from './support/cli.js';
import { runPythonScript } from './support/python.js';
import { startTestServer, type TestServer } from './support/server-fixture.js';
import { makeCertificate, type TestCertificate } from './support/test-certificates.js';

// Certificate credentials: registered through Graph's keyCredentials, proven
// at the token endpoint with a client assertion (RFC 7523, as Entra ID takes
// it) by the SDKs (@azure/identity over MSAL Node, azure-identity over MSAL
// Python), and every way an assertion is refused, each with Entra ID's code.

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('certificate credentials (client assertions)', () => {
  let server: TestServer;
  let token: string;
  let tokenUrl: string;
  let sp: Principal;
  let other: Principal;
  let certs: Record<'rsa' | 'ec' | 'stranger' | 'others' | 'expired', TestCertificate>;

  const graph = (method: string, path: string, body?: unknown) => api(server, method, path, body, token);
  const appPath = async (appId: string) => `/v1.0/applications/${(await graph('GET', `/v1.0/applications?$filter=appId eq '${appId}'`)).body!.value[0].id}`;
  const keyCredential = (c: TestCertificate, extra: Record<string, unknown> = {}) => ({ type: 'AsymmetricX509Cert', usage: 'Verify', key: c.base64, ...extra });
  const listed = async (appId: string) => (await graph('GET', await appPath(appId))).body!.keyCredentials as Array<Record<string, unknown>>;

  async function assertion(c: TestCertificate, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, alg = 'RS256', signer = c): Promise<string> {
    const key = await importPKCS8(signer.keyPem, alg);
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ aud: tokenUrl, iss: sp.appId, sub: sp.appId, jti: randomUUID(), nbf: now, exp: now + 600, ...claims })
      .setProtectedHeader({ alg, typ: 'JWT', x5t: c.x5t, ...header })
      .sign(key);
  }

  const request = (fields: Record<string, string>, url = tokenUrl) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  const withAssertion = (jwt: string, extra: Record<string, string> = {}, url = tokenUrl) =>
    request({ grant_type: 'client_credentials', client_id: sp.appId, scope: `${server.url}/.default`, client_assertion_type: JWT_BEARER, client_assertion: jwt, ...extra }, url);
  async function refused(res: Response, code: number, text: RegExp, status = 401, error = 'invalid_client') {
    const body = (await res.json()) as { error: string; error_description: string; error_codes: number[] };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(body.error, error);
    assert.deepEqual(body.error_codes, [code]);
    assert.match(body.error_description, new RegExp(`^AADSTS${code}: `));
    assert.match(body.error_description, text);
  }

  before(async () => {
    server = await startTestServer();
    token = await adminToken(server);
    tokenUrl = `${server.url}/${server.bootstrap.tenantId}/oauth2/v2.0/token`;
    certs = {
      rsa: makeCertificate('cert-rsa'),
      ec: makeCertificate('cert-ec', { curve: 'prime256v1' }),
      stranger: makeCertificate('cert-stranger'),
      others: makeCertificate('cert-others'),
      expired: makeCertificate('cert-expired', {}, { expired: true }),
    };
    sp = await newServicePrincipal(server, 'cert-app');
    other = await newServicePrincipal(server, 'cert-other-app');
    const r = await graph('PATCH', await appPath(sp.appId), { keyCredentials: [keyCredential(certs.rsa), keyCredential(certs.ec, { displayName: 'ec one' }), keyCredential(certs.expired)] });
    assert.equal(r.status, 204, JSON.stringify(r.body));
    assert.equal((await graph('PATCH', `/v1.0/servicePrincipals/${other.id}`, { keyCredentials: [keyCredential(certs.others)] })).status, 204);
  });
  after(() => server?.stop());

  it('Graph shows key credentials as Graph does: no key, the SHA-1 thumbprint as customKeyIdentifier, the subject as displayName', async () => {
    const keys = await listed(sp.appId);
    const rsa = keys.find((k) => k.customKeyIdentifier === certs.rsa.sha1Hex)!;
    assert.ok(rsa, JSON.stringify(keys));
    assert.deepEqual(Object.keys(rsa).sort(), ['customKeyIdentifier', 'displayName', 'endDateTime', 'key', 'keyId', 'startDateTime', 'type', 'usage']);
    assert.equal(rsa.key, null);
    assert.equal(rsa.type, 'AsymmetricX509Cert');
    assert.equal(rsa.usage, 'Verify');
    assert.equal(rsa.displayName, 'CN=cert-rsa, O=coffer tests');
    assert.ok(Date.parse(rsa.endDateTime as string) - Date.parse(rsa.startDateTime as string) >= 29 * 86400_000, "the certificate's validity");
    assert.equal(keys.find((k) => k.customKeyIdentifier !== certs.rsa.sha1Hex && k.displayName === 'ec one')?.type, 'AsymmetricX509Cert');
    const spView = (await graph('GET', `/v1.0/servicePrincipals/${sp.id}`)).body!;
    assert.deepEqual(spView.keyCredentials, keys, 'the service principal shows the same credentials');
    // A list shows Graph's whole object too, credentials included (az ad sp list --query "[].keyCredentials").
    const inList = (await graph('GET', `/v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${sp.appId}'`)}`)).body!.value[0];
    assert.deepEqual(inList, spView);
    assert.equal(inList.passwordCredentials.length, spView.passwordCredentials.length);
    // Each change is in the audit trail (stored in the change's own transaction), without the certificate.
    const db = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
    try {
      const records = db.prepare("SELECT operation, http_status AS status, record FROM audit_events WHERE operation LIKE 'PATCH /v1.0/%'").all() as Array<{ operation: string; status: number; record: string }>;
      assert.deepEqual(records.map((r) => `${r.operation} ${r.status}`).sort(), ['PATCH /v1.0/applications/:id 204', 'PATCH /v1.0/servicePrincipals/:id 204']);
      assert.ok(records.every((r) => !r.record.includes(certs.rsa.base64.slice(0, 40))));
    } finally {
      db.close();
    }
  });

  it('@azure/identity ClientCertificateCredential gets a token and reads a secret (MSAL Node, its assertion reused)', async () => {
    const vault = await createVault(server, 'certvault');
    await secretClient(server, 'certvault').setSecret('by-cert', 'shown to a certificate');
    assert.equal((await setPolicy(server, vault.id!, 'add', sp.id, ['get'])).status, 200);
    const cred = new ClientCertificateCredential(server.bootstrap.tenantId, sp.appId, { certificatePath: certs.rsa.combinedPath }, { authorityHost: server.url, disableInstanceDiscovery: true });
    const management = await cred.getToken(`${server.url}/.default`);
    assert.equal(decodeJwt(management.token).appid, sp.appId);
    assert.equal(decodeJwt(management.token).oid, sp.id);
    assert.equal((await secretClient(server, 'certvault', cred).getSecret('by-cert')).value, 'shown to a certificate');
  });

  it("Python's azure-identity CertificateCredential (MSAL Python) gets tokens for two resources and reads a secret", async () => {
    const out = runPythonScript<{ management_token: boolean; value: string }>(server, 'certificate_credential.py', {
      COFFER_CERT_CLIENT_ID: sp.appId,
      COFFER_CERT_PATH: certs.rsa.combinedPath,
      COFFER_VAULT_URL: server.vaultUrl('certvault'),
      COFFER_SECRET_NAME: 'by-cert',
    });
    assert.deepEqual(out, { management_token: true, value: 'shown to a certificate' });
  });

  it('an assertion is taken at the v1 and AD FS token endpoints with their own audience, and again (not single-use)', async () => {
    const jwt = await assertion(certs.rsa);
    for (let i = 0; i < 2; i++) assert.equal((await withAssertion(jwt)).status, 200, 'the same assertion twice, as MSAL sends it');
    const v1 = `${server.url}/${server.bootstrap.tenantId}/oauth2/token`;
    const ok = await request({ grant_type: 'client_credentials', client_id: sp.appId, resource: server.url, client_assertion_type: JWT_BEARER, client_assertion: await assertion(certs.rsa, { aud: v1 }) }, v1);
    assert.equal(ok.status, 200);
    const adfs = `${server.url}/adfs/oauth2/token`;
    const res = await withAssertion(await assertion(certs.rsa, { aud: adfs }), {}, adfs);
    assert.equal(res.status, 200);
    // Without client_id: the assertion names the client (RFC 7523); x5t#S256 names the certificate.
    const bare = await request({ grant_type: 'client_credentials', scope: `${server.url}/.default`, client_assertion_type: JWT_BEARER, client_assertion: await assertion(certs.rsa, {}, { x5t: undefined, 'x5t#S256': certs.rsa.x5tS256 }) });
    assert.equal(bare.status, 200);
    assert.equal(decodeJwt(((await bare.json()) as { access_token: string }).access_token).appid, sp.appId);
    assert.equal((await withAssertion(await assertion(certs.rsa, {}, {}, 'PS256'))).status, 200, 'PS256');
    // An EC certificate (ES256; MSAL Node signs RS256 only), its thumbprint padded as MSAL Python sends it.
    assert.equal((await withAssertion(await assertion(certs.ec, {}, { x5t: `${certs.ec.x5t}=` }, 'ES256'))).status, 200, 'ES256');
    await refused(await withAssertion(await assertion(certs.rsa, {}, {}, 'ES256', certs.ec)), 700027, /did not match the expected signature value/);
  });

  it('refuses an unknown thumbprint, a wrong key, a tampered signature, and a certificate of another principal (AADSTS700027)', async () => {
    await refused(await withAssertion(await assertion(certs.stranger)), 700027, /The key was not found\., Thumbprint of key used by client: '[0-9A-F]{40}'/);
    await refused(await withAssertion(await assertion(certs.rsa, {}, {}, 'RS256', certs.stranger)), 700027, /The provided signature value did not match the expected signature value/);
    const good = await assertion(certs.rsa);
    const [h, p, s] = good.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: (claims.exp as number) + 86400 })).toString('base64url')}.${s}`;
    await refused(await withAssertion(tampered), 700027, /did not match the expected signature value/);
    await refused(await withAssertion(await assertion(certs.others)), 700027, /The key was not found/);
  });

  it('refuses an expired assertion (AADSTS700024), another audience (AADSTS700023), iss, sub and client_id that differ (AADSTS700021)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(await withAssertion(await assertion(certs.rsa, { nbf: now - 1200, exp: now - 600 })), 700024, /Client assertion is not within its valid time range/);
    await refused(await withAssertion(await assertion(certs.rsa, { exp: undefined })), 700024, /not within its valid time range/);
    await refused(await withAssertion(await assertion(certs.rsa, { nbf: now + 600, exp: now + 1200 })), 700024, /not within its valid time range/);
    // A bearer credential for a week: refused (RFC 7523 lets a server refuse an exp unreasonably far ahead); a day is taken.
    await refused(await withAssertion(await assertion(certs.rsa, { exp: now + 7 * 86400 })), 700024, /not within its valid time range/);
    assert.equal((await withAssertion(await assertion(certs.rsa, { exp: now + 86400 }))).status, 200);
    await refused(await withAssertion(await assertion(certs.rsa, { aud: 'https://login.microsoftonline.com/common/oauth2/v2.0/token' })), 700023, /audience claim does not match Realm issuer/);
    await refused(await withAssertion(await assertion(certs.rsa, { sub: other.appId })), 700021, /doesn't match 'client_id'/);
    await refused(await withAssertion(await assertion(certs.rsa), { client_id: other.appId }), 700021, /doesn't match 'client_id'/);
    // An external issuer's token: a federated credential's, of which this application has none (federated-credentials-token.test.ts).
    await refused(await withAssertion(await assertion(certs.rsa, { iss: 'https://token.actions.example/', sub: 'repo:x' })), 70021, /No matching federated identity record found for presented assertion\. Assertion Issuer: 'https:\/\/token\.actions\.example\/'/);
    // Signed, but odd: an audience list with a number in it, an exp past any date, an unknown critical header.
    await refused(await withAssertion(await assertion(certs.rsa, { aud: [123, 'https://elsewhere.example/'] })), 700023, /audience claim does not match/);
    await refused(await withAssertion(await assertion(certs.rsa, { exp: 1e20 })), 700024, /expiry time of assertion 100000000000000000000/);
    // jose will not sign an unknown critical header: signed by hand.
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const signingInput = `${b64({ alg: 'RS256', x5t: certs.rsa.x5t, crit: ['zzz'], zzz: 1 })}.${b64({ aud: tokenUrl, iss: sp.appId, sub: sp.appId, exp: now + 600 })}`;
    const crit = `${signingInput}.${cryptoSign('sha256', Buffer.from(signingInput), certs.rsa.keyPem).toString('base64url')}`;
    await refused(await withAssertion(crit), 50027, /JWT token is invalid or malformed/);
  });

  it('refuses alg none and HS256 (AADSTS5002738), and an expired certificate (AADSTS700027)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(JSON.stringify({ aud: tokenUrl, iss: sp.appId, sub: sp.appId, exp: now + 600 })).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', x5t: certs.rsa.x5t })).toString('base64url')}.${payload}.`;
    await refused(await withAssertion(none), 5002738, /'none' is not a supported signature algorithm/);
    // HMAC keyed with the certificate (public) bytes: whoever has the certificate could make one.
    const hs = await new SignJWT({ aud: tokenUrl, iss: sp.appId, sub: sp.appId, exp: now + 600 }).setProtectedHeader({ alg: 'HS256', x5t: certs.rsa.x5t }).sign(certs.rsa.der);
    await refused(await withAssertion(hs), 5002738, /'HS256' is not a supported signature algorithm/);
    await refused(await withAssertion(await assertion(certs.expired)), 700027, /The key used is expired\..*Found key 'Start=2020-01-01/);
  });

  it('a deleted credential and one planted in the database authenticate nothing; the planted one is listed nowhere and logged', async () => {
    const fresh = await newServicePrincipal(server, 'cert-deleted');
    const path = await appPath(fresh.appId);
    assert.equal((await graph('PATCH', path, { keyCredentials: [keyCredential(certs.stranger)] })).status, 204);
    const as = async (c: TestCertificate) => withAssertion(await assertion(c, { iss: fresh.appId, sub: fresh.appId }), { client_id: fresh.appId });
    assert.equal((await as(certs.stranger)).status, 200);
    // az ad app credential delete --cert: the list read back (key null), less the one deleted.
    assert.equal((await graph('PATCH', path, { keyCredentials: [] })).status, 204);
    await refused(await as(certs.stranger), 700027, /The key was not found/);

    // A row written straight into the database: copied from another principal's, its seal included.
    const db = new Database(join(server.dataDir, 'coffer.db'));
    try {
      const row = db.prepare('SELECT * FROM key_credentials WHERE object_id = ?').get(other.id) as Record<string, unknown>;
      db.prepare('INSERT INTO key_credentials (key_id, object_id, certificate, thumbprint_sha1, thumbprint_sha256, display_name, start_at, end_at, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        randomUUID(), fresh.id, row.certificate, row.thumbprint_sha1, row.thumbprint_sha256, 'planted', row.start_at, row.end_at, row.mac,
      );
      db.prepare('INSERT INTO key_credentials (key_id, object_id, certificate, thumbprint_sha1, thumbprint_sha256, display_name, start_at, end_at, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        randomUUID(), fresh.id, certs.rsa.der, certs.rsa.sha1Hex, 'x', 'planted bare', 0, 4_000_000_000, null,
      );
    } finally {
      db.close();
    }
    await refused(await as(certs.others), 700027, /The key was not found/);
    await refused(await as(certs.rsa), 700027, /The key was not found/);
    assert.deepEqual(await listed(fresh.appId), [], 'listed nowhere');
    assert.match(server.logs(), /a key credential in the database (does not match its seal|carries no seal)/);
    assert.doesNotMatch(server.logs(), new RegExp(certs.rsa.base64.slice(20, 60).replace(/[+/]/g, '.')), 'no certificate bytes in the log');
  });

  it('Graph refuses what is not a usable certificate, a private key, unsupported keys, too many, and client secrets in a PATCH', async () => {
    const path = await appPath(other.appId);
    const patch = (keyCredentials: unknown[]) => graph('PATCH', path, { keyCredentials });
    const bad = async (r: { status: number; body: Record<string, any> | null }, message: RegExp, code = 'KeyCredentialsInvalidValue') => {
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body!.error.code, code);
      assert.match(r.body!.error.message, message);
    };
    await bad(await patch([{ type: 'AsymmetricX509Cert', usage: 'Verify', key: Buffer.from('not a certificate').toString('base64') }]), /not a valid X\.509 certificate/);
    await bad(await patch([{ type: 'AsymmetricX509Cert', usage: 'Verify', key: 'not base64!' }]), /base64-encoded X\.509 certificate/);
    await bad(await patch([{ type: 'AsymmetricX509Cert', usage: 'Verify', key: null }]), /KeyValue cannot be null or empty/);
    await bad(await patch([{ type: 'AsymmetricX509Cert', usage: 'Verify', key: certs.rsa.keyPem }]), /holds a private key/);
    const pkcs8 = certs.rsa.keyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    await bad(await patch([{ type: 'AsymmetricX509Cert', usage: 'Verify', key: pkcs8 }]), /holds a private key/);
    await bad(await patch([keyCredential(makeCertificate('cert-small', { rsa: 1024 }))]), /1024 bits: at least 2048/);
    await bad(await patch([keyCredential(makeCertificate('cert-p521', { curve: 'secp521r1' }))]), /EC key on secp521r1/);
    await bad(await patch([keyCredential(certs.rsa, { usage: 'Encrypt' })]), /Acceptable values are Sign, Verify/);
    await bad(await patch([keyCredential(certs.rsa, { type: 'Symmetric' })]), /\(AsymmetricX509Cert\) only/);
    await bad(await patch(Array.from({ length: 21 }, () => keyCredential(certs.rsa))), /at most 20 key credentials/);
    await bad(await patch([keyCredential(certs.rsa), keyCredential(certs.rsa)]), /same certificate is given more than once/);
    await bad(await graph('PATCH', path, { passwordCredentials: [{ displayName: 'x' }] }), /must be generated using service actions/, 'Request_BadRequest');
    assert.equal((await listed(other.appId)).length, 1, 'nothing changed');
    // A stored credential given back with another certificate under its keyId.
    const [stored] = await listed(other.appId);
    await bad(await patch([{ ...stored, key: certs.rsa.base64 }]), /Update to existing credential with KeyId is not allowed/);
    // A keyId another principal's credential has: 400, not a 500.
    const [ofSp] = await listed(sp.appId);
    await bad(await patch([{ ...stored }, { ...keyCredential(certs.stranger), keyId: ofSp!.keyId }]), /keyId is already in use/);
    // Only the administrator writes the directory, as for addPassword.
    const asApp = (await (await request({ grant_type: 'client_credentials', client_id: sp.appId, scope: `${server.url}/.default`, client_assertion_type: JWT_BEARER, client_assertion: await assertion(certs.rsa) })).json()) as { access_token: string };
    const denied = await api(server, 'PATCH', path, { keyCredentials: [] }, asApp.access_token);
    assert.equal(denied.status, 403);
    assert.equal((await listed(other.appId)).length, 1);
  });

  it('two PATCHes at once: one applies, the other is 409 (each planned from what the other changed), so the list is one of theirs', async () => {
    const path = await appPath(other.appId);
    const patch = (keyCredentials: unknown[]) => graph('PATCH', path, { keyCredentials });
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all([patch([keyCredential(certs.rsa)]), patch([keyCredential(certs.ec)])]);
      const statuses = answers.map((a) => a.status).sort();
      assert.ok(statuses[0] === 204 && (statuses[1] === 204 || statuses[1] === 409), JSON.stringify(answers.map((a) => [a.status, a.body])));
      for (const a of answers) if (a.status === 409) assert.equal(a.body!.error.code, 'Request_Conflict');
      const now = await listed(other.appId);
      assert.equal(now.length, 1, `round ${round}: exactly one full list applied, not both`);
    }
    assert.equal((await patch([keyCredential(certs.others)])).status, 204);
  });

  it('a master key rotation seals every key credential again under the renewed key: it still signs in, after a restart too', async () => {
    const macs = () => {
      const db = new Database(join(server.dataDir, 'coffer.db'), { readonly: true });
      try {
        return (db.prepare('SELECT mac FROM key_credentials WHERE object_id = ?').all(sp.id) as Array<{ mac: string }>).map((r) => r.mac.split('.').slice(0, 2).join('.'));
      } finally {
        db.close();
      }
    };
    const before = macs();
    assert.ok(before.length >= 2 && before.every((m) => m === before[0]), before.join());
    const r = await coffer(cliHome(), ['admin', 'rotate-master-key', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const after = macs();
    assert.ok(after.every((m) => m !== before[0] && m === after[0]), `resealed under the next generation: ${before[0]} -> ${after.join()}`);
    assert.equal((await withAssertion(await assertion(certs.rsa))).status, 200);
    await server.restart();
    assert.equal((await withAssertion(await assertion(certs.rsa))).status, 200, 'after a restart');
    assert.equal((await listed(sp.appId)).length, before.length);
  });
});
