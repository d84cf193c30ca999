import { CliError } from './cli-error.js';
import type { Session } from './session.js';
import { filterQuery, graphList, odataString as quote } from './graph-query.js';

// Resolves what users type for a principal (object id, appId, UPN, display
// name) to a directory object, as az's --assignee and --spn/--upn do.

export interface DirectoryObject {
  id: string;
  displayName: string;
  kind: 'User' | 'Group' | 'ServicePrincipal';
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function query(s: Session, collection: string, filter: string): Promise<Array<{ id: string; displayName: string }>> {
  return graphList(s, `${s.profile.server}/v1.0/${collection}${filterQuery(filter)}`);
}

const KINDS: Array<[string, DirectoryObject['kind']]> = [
  ['servicePrincipals', 'ServicePrincipal'],
  ['users', 'User'],
  ['groups', 'Group'],
];

export async function resolvePrincipal(s: Session, text: string, only?: DirectoryObject['kind']): Promise<DirectoryObject> {
  const kinds = KINDS.filter(([, k]) => !only || k === only);
  const attempts: Array<[string, DirectoryObject['kind'], string]> = [];
  for (const [collection, kind] of kinds) {
    if (GUID.test(text)) attempts.push([collection, kind, `id eq '${text}'`]);
    if (GUID.test(text) && kind === 'ServicePrincipal') attempts.push([collection, kind, `appId eq '${text}'`]);
    if (text.includes('@') && kind === 'User') attempts.push([collection, kind, `userPrincipalName eq '${quote(text)}'`]);
    attempts.push([collection, kind, `displayName eq '${quote(text)}'`]);
  }
  for (const [collection, kind, filter] of attempts) {
    const hits = await query(s, collection, filter);
    if (hits.length > 1) throw new CliError(`Found more than one principal matching '${text}'; use its object id.`);
    if (hits.length === 1) return { id: hits[0]!.id, displayName: hits[0]!.displayName, kind };
  }
  throw new CliError(`Cannot find user or service principal in graph database for '${text}'. If the assignee is an appId, make sure the corresponding service principal is created.`);
}
