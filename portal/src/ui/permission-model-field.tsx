// The vault permission model choice, on "Create a key vault" and on
// Settings > Access configuration.

export function PermissionModelField({ rbac, onChange }: { rbac: boolean; onChange: (rbac: boolean) => void }) {
  return (
    <fieldset>
      <legend>Permission model</legend>
      <p className="help">Grant data plane access by using an Azure RBAC or Key Vault access policy.</p>
      <label className="inline">
        <input type="radio" name="permission-model" checked={rbac} onChange={() => onChange(true)} />
        Azure role-based access control (recommended)
      </label>
      <label className="inline">
        <input type="radio" name="permission-model" checked={!rbac} onChange={() => onChange(false)} />
        Vault access policy
      </label>
    </fieldset>
  );
}
