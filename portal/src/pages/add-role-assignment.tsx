import { useState } from 'react';
import { createRoleAssignment, listRoleDefinitions } from '../api/arm';
import { kindOf } from '../api/directory';
import type { DirectoryObject, RoleDefinition } from '../api/types';
import { navigate } from '../router';
import { BatchOutcome, settleEach, type BatchResult } from '../ui/batch';
import { ErrorNotice, Loaded } from '../ui/feedback';
import { fromLocalInput } from '../ui/format';
import { Tabs } from '../ui/tabs';
import { notify } from '../ui/toasts';
import { useAction } from '../ui/use-action';
import { useAsync } from '../ui/use-async';
import { MemberPicker } from './directory-search';
import { isPrivileged } from './iam-shared';
import { RoleTable } from './role-table';
import { vaultPage, type VaultContext } from './vault-shell';

// Add role assignment: Role, Members, Review + assign, as in Azure's wizard.

type Step = 'role' | 'members' | 'review';

function RoleStep({ roles, role, onPick }: { roles: RoleDefinition[]; role: RoleDefinition | null; onPick: (r: RoleDefinition) => void }) {
  const [kind, setKind] = useState('job');
  return (
    <>
      <p>A role definition is a collection of permissions. You can use the built-in roles or you can create your own custom roles.</p>
      <Tabs
        label="Role kinds"
        active={kind}
        onSelect={setKind}
        tabs={[
          { id: 'job', label: 'Job function roles' },
          { id: 'privileged', label: 'Privileged administrator roles' },
        ]}
      />
      <RoleTable roles={roles.filter((r) => (kind === 'job') !== isPrivileged(r))} selected={role} onPick={onPick} />
    </>
  );
}

export function AddRoleAssignment({ vault, rg }: VaultContext) {
  const [roles, reloadRoles] = useAsync(() => listRoleDefinitions(vault.id), [vault.id]);
  const [step, setStep] = useState<Step>('role');
  const [role, setRole] = useState<RoleDefinition | null>(null);
  const [members, setMembers] = useState<DirectoryObject[]>([]);
  const [picking, setPicking] = useState(false);
  const [description, setDescription] = useState('');
  const [timeBound, setTimeBound] = useState(false);
  const [endsAt, setEndsAt] = useState('');
  const [outcome, setOutcome] = useState<BatchResult<DirectoryObject> | null>(null);
  const { busy, error, run } = useAction();
  const back = vaultPage(rg, vault.name, '/iam');
  const ready = role !== null && members.length > 0 && (!timeBound || endsAt !== '');
  const order: Step[] = ['role', 'members', 'review'];

  // One request per member, so one refusal (say, RoleAssignmentExists) neither
  // hides the others' results nor stops them. Members assigned leave the
  // selection; the failed ones stay for another try.
  const assign = () =>
    run(async () => {
      if (!role) return;
      const end = timeBound ? fromLocalInput(endsAt) : undefined;
      const endDateTime = end === undefined ? undefined : new Date(end * 1000).toISOString();
      const result = await settleEach(members, (m) => createRoleAssignment(vault.id, role.id, m.id, { description, endDateTime }));
      const names = result.done.map((m) => m.displayName).join(', ');
      if (result.done.length > 0) notify(`Added role assignment: ${names} ${result.done.length === 1 ? 'was' : 'were'} assigned the role ${role.properties.roleName} for ${vault.name}.`);
      if (result.failed.length === 0) return navigate(back);
      setOutcome(result);
      setMembers(result.failed.map((f) => f.item));
    });

  // "Review + assign" moves to the review tab first, and assigns from there.
  const reviewOrAssign = () => (step === 'review' ? void assign() : setStep('review'));

  return (
    <>
      <h2>Add role assignment</h2>
      <Tabs
        label="Add role assignment steps"
        active={step}
        onSelect={(s) => setStep(s as Step)}
        tabs={[
          { id: 'role', label: 'Role' },
          { id: 'members', label: 'Members', disabled: role === null },
          { id: 'review', label: 'Review + assign', disabled: !ready },
        ]}
      />
      <div role="tabpanel" aria-labelledby={`tab-${step}`} className="tabpanel">
        {step === 'role' && <Loaded state={roles} label="Loading roles" onRetry={reloadRoles}>{({ value }) => <RoleStep roles={value} role={role} onPick={setRole} />}</Loaded>}
        {step === 'members' && (
          <div className="form">
            <p>
              Selected role: <strong>{role?.properties.roleName}</strong>
            </p>
            <fieldset>
              <legend>Assign access to</legend>
              <label className="inline">
                <input type="radio" name="assign-to" defaultChecked />
                User, group, or service principal
              </label>
              <label className="inline">
                <input type="radio" name="assign-to" disabled />
                Managed identity (not available in coffer)
              </label>
            </fieldset>
            <fieldset>
              <legend>Members</legend>
              <button type="button" className="link" onClick={() => setPicking(true)}>
                + Select members
              </button>
              {members.length > 0 && (
                <table>
                  <caption className="visually-hidden">Selected members</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Type</th>
                      <th scope="col">
                        <span className="visually-hidden">Remove</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {members.map((m) => (
                      <tr key={m.id}>
                        <td>{m.displayName}</td>
                        <td>{kindOf(m)}</td>
                        <td>
                          <button type="button" className="link" aria-label={`Remove ${m.displayName}`} onClick={() => setMembers(members.filter((x) => x.id !== m.id))}>
                            Remove
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </fieldset>
            <label>
              Description
              <input value={description} maxLength={1024} onChange={(e) => setDescription(e.target.value)} placeholder="Optional" />
            </label>
            <fieldset>
              <legend>Assignment duration</legend>
              <label className="inline">
                <input type="radio" name="duration" checked={!timeBound} onChange={() => setTimeBound(false)} />
                Permanent
              </label>
              <label className="inline">
                <input type="radio" name="duration" checked={timeBound} onChange={() => setTimeBound(true)} />
                Time bound
              </label>
              {timeBound && (
                <label>
                  Assignment end
                  <input type="datetime-local" required value={endsAt} onChange={(e) => setEndsAt(e.target.value)} />
                </label>
              )}
            </fieldset>
          </div>
        )}
        {step === 'review' && role && (
          <dl className="essentials">
            <div>
              <dt>Role</dt>
              <dd>{role.properties.roleName}</dd>
            </div>
            <div>
              <dt>Scope</dt>
              <dd className="mono">{vault.id}</dd>
            </div>
            <div>
              <dt>Members</dt>
              <dd>{members.map((m) => `${m.displayName} (${kindOf(m)})`).join(', ')}</dd>
            </div>
            <div>
              <dt>Description</dt>
              <dd>{description || 'No description'}</dd>
            </div>
            <div>
              <dt>Duration</dt>
              <dd>{timeBound ? `Until ${new Date(endsAt).toLocaleString()}` : 'Permanent'}</dd>
            </div>
          </dl>
        )}
      </div>
      {error && <ErrorNotice error={error} />}
      {outcome && (
        <BatchOutcome
          result={outcome}
          name={(m) => m.displayName}
          doneTitle={`Assigned the role ${role?.properties.roleName ?? ''}`}
          failedTitle="These members were not assigned; they stay selected"
        />
      )}
      <div className="wizard-footer">
        <button type="button" className="primary" disabled={!ready || busy} onClick={reviewOrAssign}>
          Review + assign
        </button>
        <button type="button" disabled={step === 'role'} onClick={() => setStep(order[order.indexOf(step) - 1]!)}>
          Previous
        </button>
        <button type="button" disabled={step === 'review' || (step === 'role' && !role) || (step === 'members' && !ready)} onClick={() => setStep(order[order.indexOf(step) + 1]!)}>
          Next
        </button>
        <button type="button" onClick={() => navigate(back)}>
          Cancel
        </button>
      </div>
      {picking && (
        <MemberPicker
          initial={members}
          onClose={() => setPicking(false)}
          onDone={(picked) => {
            setMembers(picked);
            setPicking(false);
          }}
        />
      )}
    </>
  );
}
