import { useState } from 'react';
import { checkAccess } from '../api/arm';
import type { AccessReport, DirectoryObject, Grant } from '../api/types';
import type { User } from '../auth/session';
import { ErrorNotice, Loading } from '../ui/feedback';
import { useAction } from '../ui/use-action';
import { MemberPicker } from './directory-search';
import { describeGrant } from './iam-shared';

// Check access: what a principal may do with this vault, and which grant
// (role assignment or access policy, direct or through a group) allows it.

interface AccessRow {
  key: string;
  label: string;
  allowed: boolean;
  grants: Grant[];
  /** Grants of the permission model the vault does not use. */
  ignored: Grant[];
}

function AccessTable({ caption, first, rows, scope, mono }: { caption: string; first: string; rows: AccessRow[]; scope: string; mono?: boolean }) {
  const words = (grants: Grant[]) => grants.map((g) => describeGrant(g, scope)).join('; ');
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{first}</th>
          <th scope="col">Access</th>
          <th scope="col">Granted by</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <td className={mono ? 'mono' : undefined}>{r.label}</td>
            <td className={r.allowed ? 'allowed' : 'denied'}>{r.allowed ? 'Allowed' : 'Denied'}</td>
            <td>
              {words(r.grants) || '—'}
              {r.ignored.length > 0 && <div className="muted">Not in effect under this model: {words(r.ignored)}</div>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Report({ report, scope }: { report: AccessReport; scope: string }) {
  const model = report.vault?.permissionModel === 'accessPolicy' ? 'Vault access policy' : 'Azure role-based access control';
  return (
    <section aria-label={`Access of ${report.principal.displayName}`}>
      <h3>
        {report.principal.displayName} <span className="muted">({report.principal.type})</span>
      </h3>
      <p>
        Permission model of this vault: <strong>{model}</strong>. Only grants of this model count for secrets.
      </p>
      <AccessTable
        caption="Secret operations"
        first="Operation"
        rows={report.data.map((d) => ({ key: d.operation, label: d.operation, allowed: d.allowed, grants: d.grants, ignored: d.ignoredGrants }))}
        scope={scope}
      />
      <AccessTable
        caption="Management actions"
        first="Action"
        mono
        rows={report.management.map((m) => ({ key: m.action, label: m.action, allowed: m.allowed, grants: m.grants, ignored: [] }))}
        scope={scope}
      />
    </section>
  );
}

export function CheckAccessTab({ scope, user }: { scope: string; user: User }) {
  const [picking, setPicking] = useState(false);
  const [report, setReport] = useState<AccessReport | null>(null);
  const { busy, error, run } = useAction();
  const check = (principalId: string) =>
    run(async () => {
      setReport(null);
      setReport(await checkAccess(principalId, scope));
    });

  return (
    <>
      <p>Review the level of access a user, group or service principal has to this resource.</p>
      <div className="actions">
        <button type="button" onClick={() => check(user.objectId)}>
          View my access
        </button>
        <button type="button" onClick={() => setPicking(true)}>
          Check access
        </button>
      </div>
      {picking && (
        <MemberPicker
          single
          initial={[]}
          onClose={() => setPicking(false)}
          onDone={(picked: DirectoryObject[]) => {
            setPicking(false);
            if (picked[0]) void check(picked[0].id);
          }}
        />
      )}
      {busy && <Loading label="Checking access" />}
      {error && <ErrorNotice error={error} />}
      {report && <Report report={report} scope={scope} />}
    </>
  );
}
