import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { run, withOutput } from '../command-kit.js';
import { readPublicCertificate, type PublicCertificate } from '../cli-certificates.js';
import type { Session } from '../session.js';

// `ad app credential` and `ad sp credential` (list, reset, delete), as az
// 2.45's role/custom.py: client secrets through addPassword/removePassword,
// certificates as Graph's keyCredentials, PATCHed whole (those read back,
// `key` null, plus the new one). An application and its service principal
// are one object in coffer; the commands read and write it through the path
// az uses.

/** az's warning after printing a new credential (role/custom.py). */
export const CREDENTIAL_WARNING =
  'The output includes credentials that you must protect. Be sure that you do not include these credentials in your code or check the credentials into your source control. For more information, see https://aka.ms/azadsp-cli';

const KEYVAULT_REFUSED =
  "coffer's vaults hold secrets only, not certificates: --keyvault is not supported. Use --create-cert (a local PEM file) or --cert with a certificate of your own.";

export interface GraphCredentialHolder {
  id: string;
  appId: string;
  passwordCredentials?: Array<{ keyId: string }>;
  keyCredentials?: Array<Record<string, unknown>>;
}

/** Where a kind of object lives in Graph, and how az finds one by --id. */
export interface CredentialTarget {
  collection: 'applications' | 'servicePrincipals';
  objectId(s: Session, id: string): Promise<string>;
}

const graphUrl = (s: Session, path: string) => `${s.profile.server}/v1.0${path}`;

export const readHolder = (s: Session, target: CredentialTarget, objectId: string) =>
  s.call<GraphCredentialHolder>('GET', graphUrl(s, `/${target.collection}/${objectId}`), s.managementResource);

/** Python's str() of an aware UTC datetime, as az's warnings print dates. */
const pyDate = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '+00:00');
/** az's _datetime_to_utc. */
const graphDate = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** az's credential dates: now until --end-date (without a zone, UTC), or --years (default 1) on. */
export function credentialDates(years: number | undefined, endDate: string | undefined): { start: Date; end: Date; years: number } {
  const start = new Date();
  if (years !== undefined && endDate !== undefined) throw new CliError('usage error: --years | --end-date');
  if (endDate === undefined) {
    const end = new Date(start);
    end.setUTCFullYear(end.getUTCFullYear() + (years ?? 1));
    return { start, end, years: years ?? 1 };
  }
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(endDate) || /^\d{4}-\d\d-\d\d$/.test(endDate) ? endDate : `${endDate}Z`;
  const end = new Date(zoned);
  if (Number.isNaN(end.getTime())) throw new CliError(`Unknown string format: ${endDate}`);
  return { start, end, years: (end.getTime() - start.getTime()) / (365 * 24 * 3600 * 1000) };
}

export interface CertificateOptions {
  cert?: string;
  createCert?: boolean;
  keyvault?: string;
}

/** az's validate_cert: the combinations allowed; coffer then refuses --keyvault. */
export function checkCertificateOptions(o: CertificateOptions): void {
  const ok = !(o.cert || o.createCert || o.keyvault) || (o.createCert && !o.cert && !o.keyvault) || (o.cert && !o.createCert && !o.keyvault) || (o.cert && o.keyvault);
  if (!ok) throw new CliError('Usage error: --cert STRING | --create-cert [--keyvault VAULT --cert NAME] | --password STRING | --keyvault VAULT --cert NAME');
  if (o.keyvault) throw new CliError(KEYVAULT_REFUSED);
  if (o.cert) readPublicCertificate(o.cert);
}

/** A new keyCredential as az's _build_key_credentials writes it, with the dates fitted to the certificate (_validate_app_dates). */
export async function newKeyCredential(s: Session, o: CertificateOptions, start: Date, end: Date, displayName: string | null): Promise<{ credential: Record<string, unknown>; file?: string }> {
  let cert: PublicCertificate & { file?: string };
  if (o.cert) {
    cert = readPublicCertificate(o.cert);
    if (cert.notBefore > start) {
      s.warn(`Certificate is not valid until ${pyDate(cert.notBefore)}. Adjusting key credential start date to match.`);
      start = new Date(cert.notBefore.getTime() + 1000);
    }
    if (cert.notAfter < end) {
      s.warn(`Certificate expires ${pyDate(cert.notAfter)}. Adjusting key credential end date to match.`);
      end = new Date(cert.notAfter.getTime() - 1000);
    }
  } else {
    // Loaded only here: the X.509 library is a fifth of every other command's start.
    cert = await (await import('../cli-self-signed.js')).createSelfSignedCertificate(start, end);
  }
  const credential = {
    '@odata.type': '#microsoft.graph.keyCredential',
    displayName,
    endDateTime: graphDate(end),
    key: cert.key,
    keyId: crypto.randomUUID(),
    startDateTime: graphDate(start),
    type: 'AsymmetricX509Cert',
    usage: 'Verify',
  };
  return { credential, ...(cert.file ? { file: cert.file } : {}) };
}

/**
 * az's _reset_credential: unless appending, the client secrets are removed first, then the new one added (so a
 * refused addPassword leaves none, as in az).
 */
export async function resetPassword(s: Session, base: string, holder: GraphCredentialHolder, start: Date, end: Date, append: boolean, displayName: string | null): Promise<string> {
  if (!append) {
    for (const old of holder.passwordCredentials ?? []) await s.call('POST', graphUrl(s, `${base}/removePassword`), s.managementResource, { keyId: old.keyId });
  }
  const added = await s.call<{ secretText: string; keyId: string }>('POST', graphUrl(s, `${base}/addPassword`), s.managementResource, {
    passwordCredential: { displayName, endDateTime: graphDate(end), startDateTime: graphDate(start) },
  });
  return added.secretText;
}

interface ResetOptions extends CertificateOptions {
  id: string;
  append?: boolean;
  years?: number;
  endDate?: string;
  displayName?: string;
}

/** az's _reset_credential: a new client secret, or a certificate (the client secrets go unless --append). */
async function resetCredential(s: Session, target: CredentialTarget, o: ResetOptions) {
  checkCertificateOptions(o);
  const holder = await readHolder(s, target, await target.objectId(s, o.id));
  const { start, end } = credentialDates(o.years, o.endDate);
  const base = `/${target.collection}/${holder.id}`;
  const append = o.append === true;
  const displayName = o.displayName ?? null;
  let password: string | null = null;
  let file: string | undefined;
  if (!o.cert && !o.createCert) {
    password = await resetPassword(s, base, holder, start, end, append, displayName);
  } else {
    if (!append) {
      for (const old of holder.passwordCredentials ?? []) await s.call('POST', graphUrl(s, `${base}/removePassword`), s.managementResource, { keyId: old.keyId });
    }
    const made = await newKeyCredential(s, o, start, end, displayName);
    file = made.file;
    const keyCredentials = [...(append ? (holder.keyCredentials ?? []) : []), made.credential];
    await s.call('PATCH', graphUrl(s, base), s.managementResource, { keyCredentials });
  }
  s.warn(CREDENTIAL_WARNING);
  return { appId: holder.appId, password, ...(file ? { fileWithCertAndPrivateKey: file } : {}), tenant: s.profile.tenantId };
}

/**
 * create-for-rbac with a certificate (az's create_service_principal_for_rbac): a new application is created with
 * it (POST /applications), an existing one of that name gets it as its only one (PATCH); either way the client
 * secrets go. Answers the service principal's object id and the file of a created certificate.
 */
export async function rbacWithCertificate(
  s: Session,
  o: CertificateOptions,
  name: string,
  years: number,
  existing: { id: string; appId: string } | undefined,
  announce: () => Promise<void>,
): Promise<{ objectId: string; appId: string; file?: string }> {
  const start = new Date();
  const end = new Date(start);
  end.setUTCFullYear(end.getUTCFullYear() + years);
  const made = await newKeyCredential(s, o, start, end, null);
  await announce();
  let holder: GraphCredentialHolder;
  if (existing) {
    holder = await readHolder(s, { collection: 'servicePrincipals', objectId: async () => existing.id }, existing.id);
    await s.call('PATCH', graphUrl(s, `/servicePrincipals/${existing.id}`), s.managementResource, { keyCredentials: [made.credential] });
    for (const old of holder.passwordCredentials ?? []) await s.call('POST', graphUrl(s, `/servicePrincipals/${existing.id}/removePassword`), s.managementResource, { keyId: old.keyId });
    return { objectId: existing.id, appId: existing.appId, ...(made.file ? { file: made.file } : {}) };
  }
  const app = await s.call<GraphCredentialHolder>('POST', graphUrl(s, '/applications'), s.managementResource, { displayName: name, keyCredentials: [made.credential] });
  for (const old of app.passwordCredentials ?? []) await s.call('POST', graphUrl(s, `/applications/${app.id}/removePassword`), s.managementResource, { keyId: old.keyId });
  const filter = encodeURIComponent(`appId eq '${app.appId}'`);
  const sp = (await s.call<{ value: Array<{ id: string }> }>('GET', graphUrl(s, `/servicePrincipals?$filter=${filter}`), s.managementResource)).value[0];
  if (!sp) throw new CliError(`The service principal of application ${app.appId} was not found.`);
  return { objectId: sp.id, appId: app.appId, ...(made.file ? { file: made.file } : {}) };
}

/** The credential options of reset and create-for-rbac (az's arg groups Credential and keyCredential). */
export const withCertificateOptions = (cmd: Command): Command =>
  cmd
    .option('--cert <cert>', 'a PEM or DER (base64) public certificate, or @file (no private key)')
    .option('--create-cert', 'create a self-signed certificate; its PEM, with the private key, is written to your home folder (0600)')
    .option('--keyvault <vault>', 'in az, a vault to create or read the certificate in: coffer refuses it (its vaults hold no certificates)');

export function registerCredentialCommands(parent: Command, target: CredentialTarget, what: string): void {
  const credential = parent.command('credential').description(`${what}'s credentials: client secrets and certificates.`);
  withOutput(credential.command('list').description(`List ${what}'s client secrets, or its certificates with --cert (their metadata: never a secret).`))
    .requiredOption('--id <id>', 'appId, object id or name')
    .option('--cert', 'list certificate credentials')
    .action(
      run<{ id: string; cert?: boolean }>(async (o, s) => {
        // As az's _list_credentials: the object read whole, then one of its credential lists.
        const holder = await readHolder(s, target, await target.objectId(s, o.id));
        return (o.cert ? holder.keyCredentials : holder.passwordCredentials) ?? [];
      }),
    );
  withOutput(withCertificateOptions(credential.command('reset').description('Add a client secret or a certificate (with --append) or replace the client secrets (and, with a certificate, the certificates).')))
    .requiredOption('--id <id>', 'appId, object id or name')
    .option('--append', 'keep the existing credentials')
    .option('--years <int>', 'years the credential stays valid (default 1)')
    .option('--end-date <date>', "expiry, e.g. '2299-12-31' or '2299-12-31T11:59:59+00:00' (instead of --years)")
    .option('--display-name <name>', "the credential's friendly name")
    .action(run<ResetOptions>((o, s) => resetCredential(s, target, o)));
  withOutput(credential.command('delete').description('Delete a client secret, or a certificate with --cert.'))
    .requiredOption('--id <id>', 'appId, object id or name')
    .requiredOption('--key-id <id>', 'credential key id')
    .option('--cert', 'delete a certificate credential')
    .action(
      run<{ id: string; keyId: string; cert?: boolean }>(async (o, s) => {
        const holder = await readHolder(s, target, await target.objectId(s, o.id));
        const base = `/${target.collection}/${holder.id}`;
        if (!o.cert) {
          await s.call('POST', graphUrl(s, `${base}/removePassword`), s.managementResource, { keyId: o.keyId });
          return undefined;
        }
        // As az's _delete_credential: the list read back without the one named, PATCHed whole.
        const keys = holder.keyCredentials ?? [];
        if (!keys.some((k) => k.keyId === o.keyId)) throw new CliError(`No key credential found with keyId as '${o.keyId}' in graph object '${holder.id}'.`);
        await s.call('PATCH', graphUrl(s, base), s.managementResource, { keyCredentials: keys.filter((k) => k.keyId !== o.keyId) });
        return undefined;
      }),
    );
}
