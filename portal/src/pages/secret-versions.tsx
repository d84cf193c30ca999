import { useState } from 'react';
import { parseSecretId, secretsApi } from '../api/secrets';
import type { SecretItem } from '../api/types';
import { Link, navigate } from '../router';
import { ErrorNotice } from '../ui/feedback';
import { PageFooter } from '../ui/table-parts';
import { useAction } from '../ui/use-action';
import { formatTime } from '../ui/format';
import { Toolbar } from '../ui/layout';
import { ConfirmDialog } from '../ui/panel';
import { notify } from '../ui/toasts';
import { usePagedList } from '../ui/paged-list';
import { useAsync } from '../ui/use-async';
import { vaultPage, type VaultContext } from './vault-shell';

// One secret: its current and older versions, a new version, delete.

const newestFirst = (a: SecretItem, b: SecretItem) => (b.attributes.created ?? 0) - (a.attributes.created ?? 0);

export function SecretVersions({ vault, rg, secret }: VaultContext & { secret: string }) {
  const api = secretsApi(vault.properties.vaultUri);
  const list = usePagedList((next) => api.versions(secret, next), [vault.properties.vaultUri, secret]);
  const [confirming, setConfirming] = useState(false);
  const { busy, error, run } = useAction();
  const page = (path: string) => vaultPage(rg, vault.name, path);
  const base = `/secrets/${encodeURIComponent(secret)}`;
  // Which version is current: creation times have one-second resolution, so
  // ask the vault (as Azure's portal does, a Get; the value is not kept). A
  // caller without Get falls back to the newest creation time.
  const [latest] = useAsync(() => api.get(secret).then((b) => parseSecretId(b.id).version, () => null), [vault.properties.vaultUri, secret]);
  const currentId = latest.status === 'ready' ? latest.value : null;
  const sorted = [...list.items].sort(newestFirst);
  const versions = currentId ? [...sorted.filter((v) => parseSecretId(v.id).version === currentId), ...sorted.filter((v) => parseSecretId(v.id).version !== currentId)] : sorted;

  const remove = () =>
    run(async () => {
      await api.delete(secret);
      notify(`Successfully deleted secret ${secret}. It can be recovered from Manage deleted secrets until it is purged.`);
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
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
        <button type="button" className="danger-text" onClick={() => setConfirming(true)}>
          Delete
        </button>
      </Toolbar>
      {error && <ErrorNotice error={error} />}
      {list.error ? (
        <ErrorNotice error={list.error} />
      ) : (
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
          {versions.length > 0 && latest.status !== 'loading' && (
            <>
              <tbody>
                <tr className="group-row">
                  <th scope="rowgroup" colSpan={4}>
                    Current version
                  </th>
                </tr>
                {row(versions[0]!)}
              </tbody>
              {versions.length > 1 && (
                <tbody>
                  <tr className="group-row">
                    <th scope="rowgroup" colSpan={4}>
                      Older versions
                    </th>
                  </tr>
                  {versions.slice(1).map(row)}
                </tbody>
              )}
            </>
          )}
        </table>
      )}
      <PageFooter list={list} label="Loading versions" />
      {confirming && (
        <ConfirmDialog title="Delete secret" confirmLabel="Delete" danger busy={busy} onConfirm={remove} onCancel={() => setConfirming(false)}>
          <p>
            Are you sure you want to delete the secret <strong>{secret}</strong>? Soft-delete keeps it recoverable until the vault's retention period ends.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
