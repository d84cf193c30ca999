import { useState } from 'react';
import { getArmSecret } from '../api/arm';
import { parseSecretId, secretsApi, type SecretsApi } from '../api/secrets';
import type { SecretItem } from '../api/types';
import { Link, navigate } from '../router';
import { ErrorNotice, Loaded } from '../ui/feedback';
import { useAction } from '../ui/use-action';
import { formatTime } from '../ui/format';
import { Toolbar } from '../ui/layout';
import { ConfirmDialog } from '../ui/panel';
import { notify } from '../ui/toasts';
import { useAsync } from '../ui/use-async';
import { vaultPage, type VaultContext } from './vault-shell';

// One secret: its current and older versions, a new version, delete.

const newestFirst = (a: SecretItem, b: SecretItem) => (b.attributes.created ?? 0) - (a.attributes.created ?? 0);

/** Every version (pages come in version id order, so all of them are needed to order them). */
async function allVersions(api: SecretsApi, secret: string): Promise<SecretItem[]> {
  const items: SecretItem[] = [];
  let next: string | undefined;
  do {
    const page = await api.versions(secret, next);
    items.push(...page.value);
    next = page.nextLink ?? undefined;
  } while (next);
  return items;
}

/**
 * Which version is current, from Resource Manager's view of the secret (as
 * the Azure portal asks it): reading the secret on the data plane would read,
 * and audit, its value. null when the caller may not read that view.
 */
async function currentVersion(rg: string, vault: string, secret: string): Promise<string | null> {
  try {
    return parseSecretId((await getArmSecret(rg, vault, secret)).properties.secretUriWithVersion).version || null;
  } catch {
    return null;
  }
}

/**
 * The current version first, the others newest first. Without Resource
 * Manager's answer the newest is current, but creation times have one-second
 * resolution: versions created in the same second as the newest are shown
 * as such rather than guessed between.
 */
function splitVersions(items: SecretItem[], current: string | null): { newest: SecretItem[]; older: SecretItem[] } {
  const sorted = [...items].sort(newestFirst);
  const known = current === null ? undefined : sorted.find((v) => parseSecretId(v.id).version === current);
  if (known) return { newest: [known], older: sorted.filter((v) => v !== known) };
  const top = sorted[0]?.attributes.created;
  const newest = sorted.filter((v) => v.attributes.created === top);
  return { newest, older: sorted.slice(newest.length) };
}

export function SecretVersions({ vault, rg, secret }: VaultContext & { secret: string }) {
  const api = secretsApi(vault.properties.vaultUri);
  const [state, reload] = useAsync(
    async () => {
      const [items, current] = await Promise.all([allVersions(api, secret), currentVersion(rg, vault.name, secret)]);
      return { items, current };
    },
    [vault.properties.vaultUri, secret],
  );
  const [confirming, setConfirming] = useState(false);
  const { busy, error, run } = useAction();
  const page = (path: string) => vaultPage(rg, vault.name, path);
  const base = `/secrets/${encodeURIComponent(secret)}`;
  // Vaults made through the API may have soft-delete off: a delete there is final.
  const softDelete = vault.properties.enableSoftDelete !== false;

  const remove = () =>
    run(async () => {
      await api.delete(secret);
      notify(softDelete ? `Successfully deleted secret ${secret}. It can be recovered from Manage deleted secrets until it is purged.` : `Successfully deleted secret ${secret}.`);
      navigate(page('/secrets'));
    }).then(() => setConfirming(false));

  const row = (v: SecretItem) => {
    const { version } = parseSecretId(v.id);
    return (
      <tr key={v.id}>
        <td>
          <Link to={page(`${base}/versions/${version}`)}>{version}</Link>
        </td>
        <td>{v.attributes.enabled === false ? 'Disabled' : 'Enabled'}</td>
        <td>{formatTime(v.attributes.nbf)}</td>
        <td>{formatTime(v.attributes.exp)}</td>
      </tr>
    );
  };

  return (
    <>
      <Toolbar label="Secret commands">
        <button type="button" onClick={() => navigate(page(`${base}/new-version`))}>
          + New Version
        </button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
        <button type="button" className="danger-text" onClick={() => setConfirming(true)}>
          Delete
        </button>
      </Toolbar>
      {error && <ErrorNotice error={error} />}
      <Loaded state={state} label="Loading versions" onRetry={reload}>
        {({ items, current }) => {
          const { newest, older } = splitVersions(items, current);
          const group = (title: string, rows: SecretItem[], note?: string) => (
            <tbody>
              <tr className="group-row">
                <th scope="rowgroup" colSpan={4}>
                  {title}
                </th>
              </tr>
              {note && (
                <tr>
                  <td colSpan={4} className="muted">
                    {note}
                  </td>
                </tr>
              )}
              {rows.map(row)}
            </tbody>
          );
          return (
            <table>
              <caption className="visually-hidden">Versions of {secret}</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Status</th>
                  <th scope="col">Activation date</th>
                  <th scope="col">Expiration date</th>
                </tr>
              </thead>
              {newest.length === 1 && group('Current version', newest)}
              {newest.length > 1 && group('Newest versions', newest, 'These versions were created in the same second: one of them is the current version.')}
              {older.length > 0 && group('Older versions', older)}
            </table>
          );
        }}
      </Loaded>
      {confirming && (
        <ConfirmDialog title="Delete secret" confirmLabel="Delete" danger busy={busy} onConfirm={remove} onCancel={() => setConfirming(false)}>
          <p>
            Are you sure you want to delete the secret <strong>{secret}</strong>?{' '}
            {softDelete ? "Soft-delete keeps it recoverable until the vault's retention period ends." : 'Soft-delete is off for this vault: the secret will be permanently deleted.'}
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
