import { useState } from 'react';
import { changeAccessPolicy } from '../api/arm';
import { getByIds, kindOf } from '../api/directory';
import type { AccessPolicy } from '../api/types';
import { Link, navigate } from '../router';
import { ErrorNotice, Loaded, Notice } from '../ui/feedback';
import { Toolbar } from '../ui/layout';
import { ConfirmDialog } from '../ui/panel';
import { notify } from '../ui/toasts';
import { SelectHeader } from '../ui/table-parts';
import { useAction } from '../ui/use-action';
import { useAsync } from '../ui/use-async';
import { vaultPage, type VaultContext } from './vault-shell';

// Access policies: who may do what with the vault's secrets under the vault
// access policy model. Rows are grouped by kind, as in Azure.

const policyKey = (p: AccessPolicy) => `${p.objectId}|${p.applicationId ?? ''}`;
/** `all` (what `az keyvault create` grants its creator) stands for every permission, not one. */
const count = (list: string[] | undefined) => (list?.some((p) => p.toLowerCase() === 'all') ? 'All' : `${list?.length ?? 0} selected`);

export function AccessPolicies({ vault, rg, reloadVault }: VaultContext) {
  const policies = vault.properties.accessPolicies;
  const [names, reloadNames] = useAsync(() => getByIds(policies.map((p) => p.objectId)), [vault]);
  const [selected, setSelected] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const { busy, error, run } = useAction();
  const rbac = vault.properties.enableRbacAuthorization === true;
  const chosen = policies.find((p) => policyKey(p) === selected) ?? null;
  const page = (path: string) => vaultPage(rg, vault.name, path);

  const remove = () =>
    run(async () => {
      if (!chosen) return;
      await changeAccessPolicy(rg, vault.name, 'remove', chosen);
      notify('Successfully deleted the access policy.');
      setSelected(null);
      reloadVault();
    }).then(() => setConfirming(false));

  return (
    <>
      {rbac && (
        <Notice kind="warning" title="Access policies are not in effect">
          This vault uses the Azure role-based access control permission model, so access policies grant nothing. Use{' '}
          <Link to={page('/iam')}>Access control (IAM)</Link>, or change the model in <Link to={page('/access-configuration')}>Access configuration</Link>.
        </Notice>
      )}
      <Toolbar label="Access policy commands">
        <button type="button" disabled={rbac} onClick={() => navigate(page('/access-policies/create'))}>
          + Create
        </button>
        <button
          type="button"
          disabled={rbac || !chosen}
          onClick={() => chosen && navigate(page(`/access-policies/${chosen.objectId}${chosen.applicationId ? `/${chosen.applicationId}` : ''}/edit`))}
        >
          Edit
        </button>
        <button type="button" className="danger-text" disabled={!chosen} onClick={() => setConfirming(true)}>
          Delete
        </button>
        <button type="button" onClick={reloadVault}>
          Refresh
        </button>
      </Toolbar>
      {error && <ErrorNotice error={error} />}
      <Loaded state={names} label="Loading access policies" onRetry={reloadNames}>
        {(directory) => {
          const kindLabel = (p: AccessPolicy) => {
            const o = directory.get(p.objectId);
            if (p.applicationId) return 'Compound identity';
            return !o ? 'Unknown' : kindOf(o) === 'Service principal' ? 'Application' : kindOf(o);
          };
          const groups = ['Application', 'User', 'Group', 'Compound identity', 'Unknown'].map((k) => ({ kind: k, rows: policies.filter((p) => kindLabel(p) === k) })).filter((g) => g.rows.length > 0);
          return (
            <table>
              <caption className="visually-hidden">Access policies</caption>
              <thead>
                <tr>
                  <SelectHeader />
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Key Permissions</th>
                  <th scope="col">Secret Permissions</th>
                  <th scope="col">Certificate Permissions</th>
                </tr>
              </thead>
              {groups.map((g) => (
                <tbody key={g.kind}>
                  <tr className="group-row">
                    <th scope="rowgroup" colSpan={6}>
                      {g.kind.toUpperCase()}
                    </th>
                  </tr>
                  {g.rows.map((p) => {
                    const o = directory.get(p.objectId);
                    const name = o?.displayName ?? p.objectId;
                    return (
                      <tr key={policyKey(p)} className={selected === policyKey(p) ? 'selected' : undefined}>
                        <td>
                          <input type="radio" name="policy" aria-label={`Select ${name}`} checked={selected === policyKey(p)} onChange={() => setSelected(policyKey(p))} />
                        </td>
                        <td>{name}</td>
                        <td>{o?.userPrincipalName ?? ''}</td>
                        <td>{count(p.permissions.keys)}</td>
                        <td title={(p.permissions.secrets ?? []).join(', ')}>{count(p.permissions.secrets)}</td>
                        <td>{count(p.permissions.certificates)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              ))}
              {policies.length === 0 && (
                <tbody>
                  <tr>
                    <td colSpan={6} className="empty">
                      No access policies.
                    </td>
                  </tr>
                </tbody>
              )}
            </table>
          );
        }}
      </Loaded>
      {confirming && chosen && (
        <ConfirmDialog title="Delete access policy" confirmLabel="Delete" danger busy={busy} onConfirm={remove} onCancel={() => setConfirming(false)}>
          <p>Do you want to delete the access policy of the selected principal? It loses the access the policy grants at once.</p>
        </ConfirmDialog>
      )}
    </>
  );
}
