import { parseSecretId, secretsApi } from '../api/secrets';
import { Link, navigate } from '../router';
import { ErrorNotice } from '../ui/feedback';
import { PageFooter } from '../ui/table-parts';
import { formatTime } from '../ui/format';
import { Toolbar } from '../ui/layout';
import { usePagedList } from '../ui/paged-list';
import { vaultPage, type VaultContext } from './vault-shell';

// Objects > Secrets: the vault's secrets, page by page.

export function Secrets({ vault, rg }: VaultContext) {
  const api = secretsApi(vault.properties.vaultUri);
  const list = usePagedList((next) => api.list(next), [vault.properties.vaultUri]);
  const page = (path: string) => vaultPage(rg, vault.name, path);
  return (
    <>
      <Toolbar label="Secrets commands">
        <button type="button" onClick={() => navigate(page('/create-secret'))}>
          + Generate/Import
        </button>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
        <button type="button" onClick={() => navigate(page('/deleted-secrets'))}>
          Manage deleted secrets
        </button>
      </Toolbar>
      {list.error && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {!list.error && (
        <table>
          <caption className="visually-hidden">Secrets</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Expiration date</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((s) => {
              const { name } = parseSecretId(s.id);
              return (
                <tr key={s.id}>
                  <td>
                    <Link to={page(`/secrets/${encodeURIComponent(name)}`)}>{name}</Link>
                  </td>
                  <td>{s.contentType ?? ''}</td>
                  <td>{s.attributes.enabled === false ? 'Disabled' : 'Enabled'}</td>
                  <td>{formatTime(s.attributes.exp)}</td>
                </tr>
              );
            })}
            {!list.loading && list.items.length === 0 && (
              <tr>
                <td colSpan={4} className="empty">
                  There are no secrets available.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <PageFooter list={list} label="Loading secrets" />
    </>
  );
}
