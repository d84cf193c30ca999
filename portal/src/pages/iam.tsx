import { useEffect, useRef, useState } from 'react';
import { deleteRoleAssignment, listRoleAssignments, listRoleDefinitions } from '../api/arm';
import { getByIds, kindOf } from '../api/directory';
import type { User } from '../auth/session';
import { navigate } from '../router';
import { BatchOutcome, settleEach, type BatchResult } from '../ui/batch';
import { ErrorNotice, Loaded } from '../ui/feedback';
import { Toolbar } from '../ui/layout';
import { ConfirmDialog } from '../ui/panel';
import { Tabs } from '../ui/tabs';
import { notify } from '../ui/toasts';
import { SelectHeader } from '../ui/table-parts';
import { useAction } from '../ui/use-action';
import { useAsync } from '../ui/use-async';
import { CheckAccessTab } from './check-access';
import { describeScope } from './iam-shared';
import { RoleTable } from './role-table';
import { vaultPage, type VaultContext } from './vault-shell';

// Access control (IAM): role assignments that apply to the vault, the roles
// that exist, and "check access" for anyone.

async function loadAssignments(scope: string) {
  const [assignments, roles] = await Promise.all([listRoleAssignments(scope), listRoleDefinitions(scope, true)]);
  const principals = await getByIds(assignments.value.map((a) => a.properties.principalId));
  const roleNames = new Map(roles.value.map((r) => [r.id.toLowerCase(), r.properties.roleName]));
  return assignments.value.map((a) => ({
    id: a.id,
    principal: principals.get(a.properties.principalId) ?? null,
    principalId: a.properties.principalId,
    role: roleNames.get(a.properties.roleDefinitionId.toLowerCase()) ?? a.properties.roleDefinitionId,
    scope: a.properties.scope,
    endDateTime: a.properties.endDateTime ?? null,
  }));
}

type AssignmentRow = Awaited<ReturnType<typeof loadAssignments>>[number];
const rowName = (r: AssignmentRow) => `${r.principal?.displayName ?? `Identity not found (${r.principalId})`} (${r.role})`;

function RoleAssignmentsTab({ scope }: { scope: string }) {
  const [state, reload] = useAsync(() => loadAssignments(scope), [scope]);
  const [selected, setSelected] = useState<string[]>([]);
  const [confirming, setConfirming] = useState(false);
  const [outcome, setOutcome] = useState<BatchResult<AssignmentRow> | null>(null);
  const { busy, error, run } = useAction();

  // One request per assignment: a failure names its assignment and leaves it selected; the rest are removed.
  const remove = () =>
    run(async () => {
      const rows = state.status === 'ready' ? state.value.filter((r) => selected.includes(r.id)) : [];
      const result = await settleEach(rows, (r) => deleteRoleAssignment(r.id));
      if (result.done.length > 0) notify(`Removed ${result.done.length} role assignment${result.done.length === 1 ? '' : 's'}.`);
      setOutcome(result.failed.length > 0 ? result : null);
      setSelected(result.failed.map((f) => f.item.id));
      reload();
    }).then(() => setConfirming(false));

  return (
    <>
      <Toolbar label="Role assignment commands">
        <button type="button" className="danger-text" disabled={selected.length === 0} onClick={() => setConfirming(true)}>
          Remove
        </button>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </Toolbar>
      {error && <ErrorNotice error={error} />}
      {outcome && <BatchOutcome result={outcome} name={rowName} doneTitle="Removed" failedTitle="These role assignments were not removed" />}
      <Loaded state={state} label="Loading role assignments" onRetry={reload}>
        {(rows) => (
          <table>
            <caption className="visually-hidden">Role assignments</caption>
            <thead>
              <tr>
                <SelectHeader />
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Role</th>
                <th scope="col">Scope</th>
                <th scope="col">Ends</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const here = describeScope(r.scope, scope) === 'This resource';
                const name = r.principal?.displayName ?? `Identity not found (${r.principalId})`;
                return (
                  <tr key={r.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select ${name} ${r.role}`}
                        disabled={!here}
                        title={here ? undefined : 'Inherited role assignments are removed at the scope where they were made.'}
                        checked={selected.includes(r.id)}
                        onChange={(e) => setSelected((s) => (e.target.checked ? [...s, r.id] : s.filter((x) => x !== r.id)))}
                      />
                    </td>
                    <td>{name}</td>
                    <td>{r.principal ? kindOf(r.principal) : 'Unknown'}</td>
                    <td>{r.role}</td>
                    <td>{describeScope(r.scope, scope)}</td>
                    <td>{r.endDateTime ? new Date(r.endDateTime).toLocaleString() : 'Permanent'}</td>
                  </tr>
                );
              })}
              {rows.length === 0 && (
                <tr>
                  <td colSpan={6} className="empty">
                    No role assignments apply to this resource.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        )}
      </Loaded>
      {confirming && (
        <ConfirmDialog title="Remove role assignments" confirmLabel="Yes" danger busy={busy} onConfirm={remove} onCancel={() => setConfirming(false)}>
          <p>Do you want to remove the {selected.length} selected role assignment(s)?</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function RolesTab({ scope }: { scope: string }) {
  const [state, reload] = useAsync(() => listRoleDefinitions(scope), [scope]);
  return <Loaded state={state} label="Loading roles" onRetry={reload}>{({ value }) => <RoleTable roles={value} />}</Loaded>;
}

/**
 * The "+ Add" menu button (ARIA menu button pattern): Escape closes the menu
 * and returns focus to the button; a click outside, or focus leaving the
 * menu (Tab), closes it and leaves focus where the user put it.
 */
function AddMenu({ onAddRoleAssignment }: { onAddRoleAssignment: () => void }) {
  const [open, setOpen] = useState(false);
  const container = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const outside = (e: Event) => e.target instanceof Node && !container.current?.contains(e.target) && setOpen(false);
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    document.addEventListener('pointerdown', outside);
    document.addEventListener('focusin', outside);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', outside);
      document.removeEventListener('focusin', outside);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  return (
    <div className="menu-button" ref={container}>
      <button type="button" ref={button} aria-haspopup="menu" aria-expanded={open} aria-controls={open ? 'iam-add-menu' : undefined} onClick={() => setOpen((o) => !o)}>
        + Add
      </button>
      {open && (
        <ul role="menu" id="iam-add-menu" className="menu" aria-label="Add">
          <li role="none">
            <button type="button" role="menuitem" autoFocus onClick={onAddRoleAssignment}>
              Add role assignment
            </button>
          </li>
        </ul>
      )}
    </div>
  );
}

export function AccessControl({ vault, rg, user }: VaultContext & { user: User }) {
  const [tab, setTab] = useState('assignments');
  return (
    <>
      <Toolbar label="Access control commands">
        <AddMenu onAddRoleAssignment={() => navigate(vaultPage(rg, vault.name, '/iam/add-role-assignment'))} />
      </Toolbar>
      <Tabs
        label="Access control"
        active={tab}
        onSelect={setTab}
        tabs={[
          { id: 'check', label: 'Check access' },
          { id: 'assignments', label: 'Role assignments' },
          { id: 'roles', label: 'Roles' },
        ]}
      />
      <div role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
        {tab === 'assignments' && <RoleAssignmentsTab scope={vault.id} />}
        {tab === 'roles' && <RolesTab scope={vault.id} />}
        {tab === 'check' && <CheckAccessTab scope={vault.id} user={user} />}
      </div>
    </>
  );
}
