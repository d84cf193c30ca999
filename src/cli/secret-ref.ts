import { CliError } from './cli-error.js';
import { API, progress } from './command-kit.js';
import type { Session } from './session.js';

// Which secret a command names: --vault-name/--name[/--version] or --id, as
// az accepts them; plus az's way of showing secrets.

export interface SecretRefOptions {
  vaultName?: string;
  name?: string;
  version?: string;
  id?: string;
}

export interface SecretRef {
  vault: string;
  name: string;
  version: string | null;
}

/**
 * The vault an --id URL names. It must be one of the profile's server's vault URLs: another host's vault
 * that only shares a first label with one of ours is refused, not quietly read here.
 */
function vaultOfUrl(s: Session, id: string, url: URL, what: string): string {
  const vault = url.hostname.split('.')[0]!;
  if (`${url.protocol}//${url.host}`.toLowerCase() !== s.vaultUrl(vault).toLowerCase()) {
    throw new CliError(`--id '${id}' is not ${what} of this server's vaults (${s.vaultUrl(vault)})`, undefined, 2);
  }
  return vault;
}

/** az's validate_key_id and process_vault_and_hsm_name (CLIErrors: exit 1). */
const NO_VAULT = 'Please specify --vault-name or --hsm-name.';

/** A secret's collection in an --id: `deletedsecrets` for show-deleted, recover and purge (az's validate_key_id('deletedsecret')). */
export type SecretCollection = 'secrets' | 'deletedsecrets';

/**
 * An --id as az's validate_key_id reads it (the track-1 SDK's
 * KeyVaultIdentifier with format {vault}/{collection}/{name}/{version?}):
 * its ValueErrors are argparse validation errors, exit 2, in its words.
 */
function parseSecretId(s: Session, id: string, collection: SecretCollection): SecretRef {
  // _validate_string_argument strips the text; urlparse needs a scheme and a host.
  const uri = id.trim();
  let url: URL | undefined;
  try {
    url = new URL(uri);
  } catch {
    url = undefined;
  }
  if (!url?.hostname) throw new CliError(`'${uri}' is not not a valid URI`, undefined, 2);
  const mismatch = () => new CliError(`invalid id: The specified uri "${uri}", does to match the specified format "{vault}/{collection}/{name}/{version?}"`, undefined, 2);
  // Empty segments are dropped: .../secrets//name is the secret 'name'.
  const [kind, name, version, ...rest] = url.pathname.split('/').filter(Boolean);
  if (!kind) throw mismatch();
  if (kind !== collection) throw new CliError(`invalid id: The collection "${kind}" does not match the expected "${collection}"`, undefined, 2);
  if (!name || rest.length > 0) throw mismatch();
  return { vault: vaultOfUrl(s, id, url, 'a secret identifier'), name, version: version ?? null };
}

/** The secret a command names: --id (of `collection`), or --vault-name and --name (with --version, if the command has it). */
export function secretRef(s: Session, o: SecretRefOptions, collection: SecretCollection = 'secrets'): SecretRef {
  if (o.id && o.vaultName) throw new CliError('--vault-name and --id are mutually exclusive.');
  if (o.id) {
    // As az: an id without a version takes --version's (show, download, set-attributes).
    const ref = parseSecretId(s, o.id, collection);
    return { ...ref, version: ref.version ?? o.version ?? null };
  }
  if (!(o.vaultName && o.name)) throw new CliError('incorrect usage: --id ID | --vault-name/--hsm-name VAULT/HSM --name/-n NAME [--version VERSION]');
  return { vault: o.vaultName, name: o.name, version: o.version ?? null };
}

/** The vault a vault-level command names: --vault-name, or --id with the vault's URL (https://NAME.vault...). */
export function vaultOf(s: Session, o: { vaultName?: string; id?: string }): string {
  if (o.id) {
    let url: URL;
    try {
      url = new URL(o.id);
    } catch {
      throw new CliError(`--id '${o.id}' is not a vault URL`, undefined, 2);
    }
    return vaultOfUrl(s, o.id, url, 'the URL');
  }
  if (!o.vaultName) throw new CliError(NO_VAULT);
  return o.vaultName;
}

export const dataUrl = (s: Session, vault: string, path: string) => `${s.vaultUrl(vault)}${path}?api-version=${API.secrets}`;

interface Bundle {
  id: string;
  value?: string;
  contentType?: string;
  tags?: Record<string, string>;
  recoveryId?: string;
  deletedDate?: number;
  scheduledPurgeDate?: number;
  attributes: { enabled: boolean; nbf?: number; exp?: number; created: number; updated: number; recoverableDays?: number; recoveryLevel?: string };
}
export type SecretBundle = Bundle;

/** Follows nextLink to the end. */
export async function listAll(s: Session, url: string, resource: string, label: string): Promise<Bundle[]> {
  const out: Bundle[] = [];
  let next: string | null = url;
  while (next) {
    const page: { value: Bundle[]; nextLink?: string | null } = await s.call('GET', next, resource);
    out.push(...page.value);
    next = page.nextLink ?? null;
    progress(`${label}: ${out.length}`);
  }
  if (out.length > 0) progress(`${label}: ${out.length}\n`);
  return out;
}
