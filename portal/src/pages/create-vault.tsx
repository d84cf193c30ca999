import { useState, type FormEvent } from 'react';
import { checkVaultName, createResourceGroup, createVault, listResourceGroups, resourceGroupExists } from '../api/arm';
import type { User } from '../auth/session';
import { navigate } from '../router';
import { SelectField } from '../ui/select-field';
import { ErrorNotice, Loaded } from '../ui/feedback';
import { PageTitle, Shell } from '../ui/layout';
import { notify } from '../ui/toasts';
import { PermissionModelField } from '../ui/permission-model-field';
import { useAction } from '../ui/use-action';
import { useAsync } from '../ui/use-async';
import { vaultPage } from './vault-shell';

// Create a key vault: resource group, name, region, recovery options and
// permission model, as on Azure's "Create a key vault" page.

const NEW_GROUP = '__new__';
/**
 * Azure's resource group names: letters and digits (Unicode, as .NET's \w),
 * underscores, hyphens, periods and parentheses, not ending in a period.
 * Browsers compile pattern attributes with the v flag, where - ( ) must be
 * escaped inside a class; an invalid pattern would be ignored.
 */
const RESOURCE_GROUP_PATTERN = String.raw`[\p{L}\p{Mn}\p{Nd}\p{Pc}\-.\(\)]*[\p{L}\p{Mn}\p{Nd}\p{Pc}\-\(\)]`;

export function CreateVault({ user }: { user: User }) {
  const [groups, reloadGroups] = useAsync(() => listResourceGroups(), []);
  const [group, setGroup] = useState('');
  const [newGroup, setNewGroup] = useState('');
  const [name, setName] = useState('');
  const [location, setLocation] = useState('local');
  const [retention, setRetention] = useState(90);
  const [purgeProtection, setPurgeProtection] = useState(false);
  const [rbac, setRbac] = useState(true);
  const { busy, error, run } = useAction();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const available = await checkVaultName(name);
      if (!available.nameAvailable) throw new Error(available.message ?? `The vault name '${name}' is not available.`);
      const rg = group === NEW_GROUP || group === '' ? newGroup.trim() : group;
      if (!rg) throw new Error('Choose a resource group or name a new one.');
      if (group === NEW_GROUP || group === '') {
        // A PUT of an existing group would replace its tags: Azure's form refuses the name instead.
        if (await resourceGroupExists(rg)) throw new Error('A resource group with the same name already exists in the selected subscription.');
        await createResourceGroup(rg, location);
      }
      await createVault({ resourceGroup: rg, name, location, rbac, retentionDays: retention, purgeProtection, creatorObjectId: user.objectId });
      notify(`Deployment succeeded: key vault ${name} was created.`);
      navigate(vaultPage(rg, name));
    });
  };

  return (
    <Shell user={user} crumbs={[{ label: 'Key vaults', to: '/portal/' }, { label: 'Create a key vault' }]}>
      <PageTitle title="Create a key vault" />
      <Loaded state={groups} label="Loading resource groups" onRetry={reloadGroups}>
        {({ value }) => (
          <form className="form" onSubmit={submit}>
            <fieldset>
              <legend>Project details</legend>
              <SelectField label="Resource group" value={group} onChange={(e) => setGroup(e.target.value)}>
                  <option value="">{value.length ? 'Select a resource group' : 'No resource groups yet: create one'}</option>
                  {value.map((g) => (
                    <option key={g.id} value={g.name}>
                      {g.name}
                    </option>
                  ))}
                  <option value={NEW_GROUP}>Create new…</option>
                </SelectField>
              {(group === NEW_GROUP || group === '') && (
                <label>
                  New resource group name
                  <input value={newGroup} onChange={(e) => setNewGroup(e.target.value)} maxLength={90} pattern={RESOURCE_GROUP_PATTERN} aria-describedby="resource-group-help" />
                </label>
              )}
              {(group === NEW_GROUP || group === '') && (
                <p id="resource-group-help" className="help">
                  Up to 90 characters: letters, digits, underscores, hyphens, periods and parentheses, not ending in a period.
                </p>
              )}
            </fieldset>
            <fieldset>
              <legend>Instance details</legend>
              <label>
                Key vault name
                <input required value={name} onChange={(e) => setName(e.target.value)} minLength={3} maxLength={24} pattern="[a-zA-Z][a-zA-Z0-9\-]*[a-zA-Z0-9]" aria-describedby="vault-name-help" />
              </label>
              <p id="vault-name-help" className="help">
                3–24 characters: letters, digits and dashes, starting with a letter.
              </p>
              <label>
                Region
                <input required value={location} onChange={(e) => setLocation(e.target.value)} />
              </label>
              <SelectField label="Pricing tier" value="standard" disabled>
                  <option value="standard">Standard</option>
                </SelectField>
            </fieldset>
            <fieldset>
              <legend>Recovery options</legend>
              {/* The vault API can still turn soft-delete off at creation (Azure no longer can); this page always turns it on. */}
              <p className="help">Soft-delete will be enabled on this key vault: the vault and its secrets, once deleted, can be recovered until the retention period ends.</p>
              <label>
                Days to retain deleted vaults
                <input type="number" min={7} max={90} value={retention} onChange={(e) => setRetention(Number(e.target.value))} />
              </label>
              <label className="inline">
                <input type="checkbox" checked={purgeProtection} onChange={(e) => setPurgeProtection(e.target.checked)} />
                Enable purge protection (enforce a mandatory retention period for deleted vaults and vault objects)
              </label>
            </fieldset>
            <PermissionModelField rbac={rbac} onChange={setRbac} />
            {error && <ErrorNotice error={error} />}
            <div className="actions">
              <button type="submit" className="primary" disabled={busy}>
                {busy ? 'Creating…' : 'Create'}
              </button>
              <button type="button" onClick={() => navigate('/portal/')}>
                Cancel
              </button>
            </div>
          </form>
        )}
      </Loaded>
    </Shell>
  );
}
