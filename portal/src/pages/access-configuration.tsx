import { useState } from 'react';
import { setPermissionModel } from '../api/arm';
import { Link } from '../router';
import { ErrorNotice, Notice } from '../ui/feedback';
import { notify } from '../ui/toasts';
import { PermissionModelField } from '../ui/permission-model-field';
import { useAction } from '../ui/use-action';
import { vaultPage, type VaultContext } from './vault-shell';

// Settings > Access configuration: the vault's permission model.

export function AccessConfiguration({ vault, rg, reloadVault }: VaultContext) {
  const current = vault.properties.enableRbacAuthorization === true;
  const [rbac, setRbac] = useState(current);
  const { busy, error, run } = useAction();

  const apply = () =>
    run(async () => {
      await setPermissionModel(rg, vault.name, rbac);
      notify(`Successfully updated the permission model of key vault ${vault.name}.`);
      reloadVault();
    });

  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        void apply();
      }}
    >
      <PermissionModelField rbac={rbac} onChange={setRbac} />
      {rbac !== current && (
        <Notice kind="warning" title="Changing the permission model">
          {rbac
            ? 'Setting the permission model to Azure role-based access control will invalidate all access policies permissions. It can cause outages when equivalent Azure roles are not assigned.'
            : 'Setting the permission model to Vault access policy will invalidate all Azure role-based access control data plane permissions. It can cause outages when equivalent access policies are not assigned.'}
        </Notice>
      )}
      {error && <ErrorNotice error={error} />}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || rbac === current}>
          {busy ? 'Applying…' : 'Apply'}
        </button>
        <button type="button" disabled={busy || rbac === current} onClick={() => setRbac(current)}>
          Discard changes
        </button>
      </div>
      <p>
        {current ? (
          <Link to={vaultPage(rg, vault.name, '/iam')}>Go to access control (IAM)</Link>
        ) : (
          <Link to={vaultPage(rg, vault.name, '/access-policies')}>Go to access policies</Link>
        )}
      </p>
    </form>
  );
}
