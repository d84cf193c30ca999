import { useState } from 'react';
import { changeAccessPolicy } from '../api/arm';
import { getByIds, kindOf } from '../api/directory';
import type { AccessPolicy, DirectoryObject } from '../api/types';
import { config } from '../config';
import { navigate } from '../router';
import { SelectField } from '../ui/select-field';
import { ErrorNotice, Loaded } from '../ui/feedback';
import { Tabs } from '../ui/tabs';
import { notify } from '../ui/toasts';
import { useAction } from '../ui/use-action';
import { useAsync } from '../ui/use-async';
import { DirectorySearch } from './directory-search';
import { vaultPage, type VaultContext } from './vault-shell';

// Create (or edit) an access policy: Permissions, Principal, Application
// (optional), Review + create — Azure's four-step wizard.

const SECRET_PERMISSIONS: { group: string; items: [string, string][] }[] = [
  {
    group: 'Secret Management Operations',
    items: [
      ['get', 'Get'],
      ['list', 'List'],
      ['set', 'Set'],
      ['delete', 'Delete'],
      ['recover', 'Recover'],
      ['backup', 'Backup'],
      ['restore', 'Restore'],
    ],
  },
  { group: 'Privileged Secret Operations', items: [['purge', 'Purge']] },
];
const ALL_SECRETS = SECRET_PERMISSIONS.flatMap((g) => g.items.map(([k]) => k));
/**
 * The boxes ticked for stored permissions. `all` (what `az keyvault create`
 * grants the creator) stands for every permission, so it ticks every box.
 */
function ticked(stored: string[] | undefined): string[] {
  const lower = (stored ?? []).map((s) => s.toLowerCase());
  return lower.includes('all') ? ALL_SECRETS : lower;
}
/**
 * The permissions to store: a policy that held `all` keeps it while every
 * box stays ticked (saving it unchanged changes nothing); otherwise the
 * ticked ones, in lower case as Azure stores them.
 */
function toStore(selected: string[], stored: string[] | undefined): string[] {
  const hadAll = (stored ?? []).some((s) => s.toLowerCase() === 'all');
  if (hadAll && ALL_SECRETS.every((p) => selected.includes(p))) return ['all'];
  return [...ALL_SECRETS.filter((p) => selected.includes(p)), ...selected.filter((p) => !ALL_SECRETS.includes(p) && p !== 'all')];
}
const TEMPLATES: Record<string, string[]> = {
  'Secret Management': ['get', 'list', 'set', 'delete', 'recover', 'backup', 'restore'],
  'Secret Reader': ['get', 'list'],
};
type Step = 'permissions' | 'principal' | 'application' | 'review';
/**
 * Where Next goes. From the principal straight to review, as the documented
 * flow reads ("Click Next to review the access policy"); the optional
 * Application step is reached by its tab.
 */
const NEXT: Record<Step, Step | undefined> = { permissions: 'principal', principal: 'review', application: 'review', review: undefined };
/** Where Previous goes: back the way Next came (Review to Principal, past the Application step Next skips). */
const PREVIOUS: Record<Step, Step> = { permissions: 'permissions', principal: 'permissions', application: 'principal', review: 'principal' };

function Wizard({ vault, rg, existing, known }: VaultContext & { existing: AccessPolicy | null; known: Map<string, DirectoryObject> }) {
  const [step, setStep] = useState<Step>('permissions');
  const [secrets, setSecrets] = useState<string[]>(() => ticked(existing?.permissions.secrets));
  // An edited policy keeps its principal, found in the directory or not (deleted since: shown by its object id).
  const [principal, setPrincipal] = useState<DirectoryObject | null>(existing ? (known.get(existing.objectId) ?? null) : null);
  const chosen = principal ?? (existing ? { id: existing.objectId, displayName: existing.objectId } : null);
  const [application, setApplication] = useState<DirectoryObject | null>(null);
  const { busy, error, run } = useAction();
  const back = vaultPage(rg, vault.name, '/access-policies');
  const hasPermissions = secrets.length > 0;
  const canReview = hasPermissions && chosen !== null;
  const toggle = (perm: string) => setSecrets((s) => (s.includes(perm) ? s.filter((x) => x !== perm) : [...s, perm]));

  const submit = () =>
    run(async () => {
      if (!chosen) return;
      const policy: AccessPolicy = {
        tenantId: config().tenantId,
        objectId: chosen.id,
        ...(existing?.applicationId ? { applicationId: existing.applicationId } : application?.appId ? { applicationId: application.appId } : {}),
        permissions: { ...(existing?.permissions ?? {}), secrets: toStore(secrets, existing?.permissions.secrets) },
      };
      await changeAccessPolicy(rg, vault.name, existing ? 'replace' : 'add', policy);
      notify(existing ? `Successfully updated the access policy of ${chosen.displayName}.` : `Successfully created an access policy for ${chosen.displayName}.`);
      navigate(back);
    });

  const enabled: Record<Step, boolean> = { permissions: true, principal: hasPermissions, application: canReview, review: canReview };
  const nextStep = NEXT[step];
  // An edit has only Permissions and Review (its principal stays).
  const previous = existing && step === 'review' ? 'permissions' : PREVIOUS[step];
  return (
    <>
      <h2>{existing ? 'Edit access policy' : 'Create an access policy'}</h2>
      <Tabs
        label="Access policy steps"
        active={step}
        onSelect={(s) => setStep(s as Step)}
        tabs={[
          { id: 'permissions', label: '1 Permissions' },
          { id: 'principal', label: '2 Principal', disabled: !enabled.principal || existing !== null },
          { id: 'application', label: '3 Application (optional)', disabled: !enabled.application || existing !== null },
          { id: 'review', label: existing ? '4 Review + save' : '4 Review + create', disabled: !enabled.review },
        ]}
      />
      <div role="tabpanel" aria-labelledby={`tab-${step}`} className="tabpanel form">
        {step === 'permissions' && (
          <>
            <SelectField label="Configure from a template" value="" onChange={(e) => e.target.value && setSecrets(TEMPLATES[e.target.value] ?? [])}>
                <option value="">Select a template</option>
                {Object.keys(TEMPLATES).map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </SelectField>
            <fieldset>
              <legend>Secret permissions</legend>
              <label className="inline">
                <input type="checkbox" checked={ALL_SECRETS.every((p) => secrets.includes(p))} onChange={(e) => setSecrets(e.target.checked ? ALL_SECRETS : [])} />
                Select all
              </label>
              {SECRET_PERMISSIONS.map((g) => (
                <fieldset key={g.group}>
                  <legend>{g.group}</legend>
                  {g.items.map(([value, label]) => (
                    <label key={value} className="inline">
                      <input type="checkbox" checked={secrets.includes(value)} onChange={() => toggle(value)} />
                      {label}
                    </label>
                  ))}
                </fieldset>
              ))}
            </fieldset>
            <p className="help">coffer stores secrets only: key and certificate permissions of existing policies are kept as they are.</p>
          </>
        )}
        {step === 'principal' && (
          <>
            <DirectorySearch label="Principal" selected={principal ? [principal] : []} onToggle={(o) => setPrincipal((p) => (p?.id === o.id ? null : o))} />
            <p>Selected item: {principal ? <strong>{principal.displayName}</strong> : 'none'}</p>
          </>
        )}
        {step === 'application' && (
          <>
            <p className="help">Optional: limit the policy to this principal when it signs in through one application (a compound identity).</p>
            <DirectorySearch label="Application" only="#microsoft.graph.servicePrincipal" selected={application ? [application] : []} onToggle={(o) => setApplication((a) => (a?.id === o.id ? null : o))} />
            <p>Selected item: {application ? <strong>{application.displayName}</strong> : 'none'}</p>
          </>
        )}
        {step === 'review' && chosen && (
          <dl className="essentials">
            <div>
              <dt>Secret permissions</dt>
              <dd>{secrets.join(', ')}</dd>
            </div>
            <div>
              <dt>Principal</dt>
              <dd>
                {chosen.displayName} ({principal ? kindOf(principal) : 'Unknown'})
              </dd>
            </div>
            <div>
              <dt>Application</dt>
              <dd>{existing?.applicationId ?? application?.displayName ?? 'None'}</dd>
            </div>
          </dl>
        )}
      </div>
      {error && <ErrorNotice error={error} />}
      <div className="wizard-footer">
        <button type="button" disabled={step === 'permissions'} onClick={() => setStep(previous)}>
          Previous
        </button>
        {step === 'review' ? (
          <button type="button" className="primary" disabled={!canReview || busy} onClick={submit}>
            {existing ? 'Save' : 'Create'}
          </button>
        ) : (
          <button type="button" className="primary" disabled={!nextStep || !enabled[existing ? 'review' : nextStep]} onClick={() => setStep(existing ? 'review' : nextStep!)}>
            Next
          </button>
        )}
        <button type="button" onClick={() => navigate(back)}>
          Cancel
        </button>
      </div>
    </>
  );
}

export function AccessPolicyWizard(props: VaultContext & { objectId?: string; applicationId?: string }) {
  const existing = props.objectId
    ? (props.vault.properties.accessPolicies.find((p) => p.objectId.toLowerCase() === props.objectId!.toLowerCase() && (p.applicationId ?? '') === (props.applicationId ?? '')) ?? null)
    : null;
  const [known, reload] = useAsync(() => getByIds(existing ? [existing.objectId] : []), [existing?.objectId]);
  if (props.objectId && !existing) return <ErrorNotice error={new Error('This access policy no longer exists.')} />;
  return <Loaded state={known} onRetry={reload}>{(k) => <Wizard {...props} existing={existing} known={k} />}</Loaded>;
}
