import { useState } from 'react';
import { listVaults, resourceGroupOf } from '../api/arm';
import type { User } from '../auth/session';
import { Link, navigate } from '../router';
import { Loaded } from '../ui/feedback';
import { PageTitle, Shell, Toolbar } from '../ui/layout';
import { useAsync } from '../ui/use-async';
import { vaultPage } from './vault-shell';

// Key vaults: every vault the signed-in user can see, with a filter.

export function VaultList({ user }: { user: User }) {
  const [state, reload] = useAsync(() => listVaults(), []);
  const [filter, setFilter] = useState('');
  return (
    <Shell user={user} crumbs={[{ label: 'Key vaults' }]}>
      <PageTitle title="Key vaults" />
      <Toolbar label="Key vaults commands">
        <button type="button" onClick={() => navigate('/portal/create-vault')}>
          + Create
        </button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </Toolbar>
      <div className="filters">
        <label className="search">
          <span className="visually-hidden">Filter for any field</span>
          <input type="search" placeholder="Filter for any field..." value={filter} onChange={(e) => setFilter(e.target.value)} />
        </label>
      </div>
      <Loaded state={state} label="Loading key vaults" onRetry={reload}>
        {({ value }) => {
          const q = filter.trim().toLowerCase();
          const shown = value.filter((v) => !q || [v.name, resourceGroupOf(v.id), v.location].some((f) => f.toLowerCase().includes(q)));
          if (value.length === 0) return <p className="empty">No key vaults to display. Create one, or ask an owner for access to an existing one.</p>;
          return (
            <table>
              <caption className="visually-hidden">Key vaults</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Resource group</th>
                  <th scope="col">Location</th>
                  <th scope="col">Permission model</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((v) => (
                  <tr key={v.id}>
                    <td>
                      <Link to={vaultPage(resourceGroupOf(v.id), v.name)}>{v.name}</Link>
                    </td>
                    <td>{resourceGroupOf(v.id)}</td>
                    <td>{v.location}</td>
                    <td>{v.properties.enableRbacAuthorization ? 'Azure role-based access control' : 'Vault access policy'}</td>
                  </tr>
                ))}
                {shown.length === 0 && (
                  <tr>
                    <td colSpan={4} className="empty">
                      No key vaults match “{filter}”.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          );
        }}
      </Loaded>
    </Shell>
  );
}
