import { useState } from 'react';
import { checkAccess } from '../api/arm';
import type { AccessReport, DirectoryObject } from '../api/types';
import type { User } from '../auth/session';
import { ErrorNotice, Loading } from '../ui/feedback';
import { useAction } from '../ui/use-action';
import { MemberPicker } from './directory-search';
import { describeGrant } from './iam-shared';

// Check access: what a principal may do with this vault, and which grant
// (role assignment or access policy, direct or through a group) allows it.

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
      <table>
        <caption>Secret operations</caption>
        <thead>
          <tr>
            <th scope="col">Operation</th>
            <th scope="col">Access</th>
            <th scope="col">Granted by</th>
          </tr>
        </thead>
        <tbody>
          {report.data.map((d) => (
            <tr key={d.operation}>
              <td>{d.operation}</td>
              <td className={d.allowed ? 'allowed' : 'denied'}>{d.allowed ? 'Allowed' : 'Denied'}</td>
              <td>
                {d.grants.map((g) => describeGrant(g, scope)).join('; ') || '—'}
                {d.ignoredGrants.length > 0 && <div className="muted">Not in effect under this model: {d.ignoredGrants.map((g) => describeGrant(g, scope)).join('; ')}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <caption>Management actions</caption>
        <thead>
          <tr>
            <th scope="col">Action</th>
            <th scope="col">Access</th>
            <th scope="col">Granted by</th>
          </tr>
        </thead>
        <tbody>
          {report.management.map((m) => (
            <tr key={m.action}>
              <td className="mono">{m.action}</td>
              <td className={m.allowed ? 'allowed' : 'denied'}>{m.allowed ? 'Allowed' : 'Denied'}</td>
              <td>{m.grants.map((g) => describeGrant(g, scope)).join('; ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
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
