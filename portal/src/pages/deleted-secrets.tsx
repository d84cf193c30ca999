import { useState } from 'react';
import { parseSecretId, secretsApi } from '../api/secrets';
import { ErrorNotice, Notice } from '../ui/feedback';
import { formatTime } from '../ui/format';
import { Toolbar } from '../ui/layout';
import { ConfirmDialog } from '../ui/panel';
import { notify } from '../ui/toasts';
import { PageFooter, SelectHeader } from '../ui/table-parts';
import { useAction } from '../ui/use-action';
import { usePagedList } from '../ui/paged-list';
import type { VaultContext } from './vault-shell';

// Manage deleted secrets: recover, or purge for good.

export function DeletedSecrets({ vault }: VaultContext) {
  const api = secretsApi(vault.properties.vaultUri);
  const list = usePagedList((next) => api.listDeleted(next), [vault.properties.vaultUri]);
  const [selected, setSelected] = useState<string | null>(null);
  const [purging, setPurging] = useState(false);
  const { busy, error, run } = useAction();

  const act = (kind: 'recover' | 'purge') =>
    run(async () => {
      if (!selected) return;
      if (kind === 'recover') await api.recover(selected);
      else await api.purge(selected);
      notify(kind === 'recover' ? `Successfully recovered secret ${selected}.` : `Successfully purged secret ${selected}.`);
      setSelected(null);
      list.reload();
    }).then(() => setPurging(false));

  return (
    <>
      <h2>Manage deleted secrets</h2>
      <Toolbar label="Deleted secrets commands">
        <button type="button" disabled={!selected || busy} onClick={() => act('recover')}>
          Recover
        </button>
        <button type="button" className="danger-text" disabled={!selected || busy || vault.properties.enablePurgeProtection === true} onClick={() => setPurging(true)}>
          Purge
        </button>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </Toolbar>
      {vault.properties.enablePurgeProtection && <Notice kind="info">Purge protection is enabled: deleted secrets are purged only when their retention period ends.</Notice>}
      {error && <ErrorNotice error={error} />}
      {list.error ? (
        <ErrorNotice error={list.error} onRetry={list.reload} />
      ) : (
        <table>
          <caption className="visually-hidden">Deleted secrets</caption>
          <thead>
            <tr>
              <SelectHeader />
              <th scope="col">Name</th>
              <th scope="col">Deletion date</th>
              <th scope="col">Scheduled purge date</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((d) => {
              const { name } = parseSecretId(d.id);
              return (
                <tr key={d.id} className={selected === name ? 'selected' : undefined}>
                  <td>
                    <input type="radio" name="deleted-secret" aria-label={`Select ${name}`} checked={selected === name} onChange={() => setSelected(name)} />
                  </td>
                  <td>{name}</td>
                  <td>{formatTime(d.deletedDate)}</td>
                  <td>{formatTime(d.scheduledPurgeDate)}</td>
                </tr>
              );
            })}
            {!list.loading && list.items.length === 0 && (
              <tr>
                <td colSpan={4} className="empty">
                  There are no deleted secrets.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <PageFooter list={list} label="Loading deleted secrets" />
      {purging && selected && (
        <ConfirmDialog title="Purge secret" confirmLabel="Purge" danger busy={busy} onConfirm={() => act('purge')} onCancel={() => setPurging(false)}>
          <p>
            Purging <strong>{selected}</strong> deletes it and all its versions permanently. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
