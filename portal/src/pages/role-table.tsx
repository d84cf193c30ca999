import { useState } from 'react';
import type { RoleDefinition } from '../api/types';
import { SelectHeader } from '../ui/table-parts';

// Roles with a search box: IAM's Roles tab lists them, the Add role assignment
// wizard picks one (when `onPick` is given).

export function RoleTable({ roles, selected, onPick }: { roles: RoleDefinition[]; selected?: RoleDefinition | null; onPick?: (r: RoleDefinition) => void }) {
  const [filter, setFilter] = useState('');
  const q = filter.trim().toLowerCase();
  const shown = roles.filter((r) => !q || `${r.properties.roleName} ${r.properties.description} ${r.name}`.toLowerCase().includes(q));
  return (
    <>
      <label className="search">
        <span className="visually-hidden">Search roles</span>
        <input type="search" placeholder="Search by role name, description, permission, or ID" value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      <table>
        <caption className="visually-hidden">Roles</caption>
        <thead>
          <tr>
            {onPick && <SelectHeader />}
            <th scope="col">Name</th>
            <th scope="col">Description</th>
            <th scope="col">Type</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.id} className={selected?.id === r.id ? 'selected' : undefined} onClick={onPick && (() => onPick(r))}>
              {onPick && (
                <td>
                  <input type="radio" name="role" aria-label={`Select ${r.properties.roleName}`} checked={selected?.id === r.id} onChange={() => onPick(r)} />
                </td>
              )}
              <td>{r.properties.roleName}</td>
              <td>{r.properties.description}</td>
              <td>{r.properties.type === 'CustomRole' ? 'CustomRole' : 'BuiltInRole'}</td>
            </tr>
          ))}
          {shown.length === 0 && (
            <tr>
              <td colSpan={onPick ? 4 : 3} className="empty">
                No roles found.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </>
  );
}
