import { config } from '../config';
import { call } from './http';
import type { DirectoryObject, Page } from './types';

// The Graph-shaped directory on this origin (users, groups, service principals).

const graph = <T>(method: string, path: string, body?: unknown) => call<T>('management', method, `${config().authority}${path}`, body);

export const searchDirectory = (q: string) => graph<Page<DirectoryObject>>('GET', `/coffer/directory/search?q=${encodeURIComponent(q)}`);

export async function getByIds(ids: string[]): Promise<Map<string, DirectoryObject>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const found = await graph<Page<DirectoryObject>>('POST', '/v1.0/directoryObjects/getByIds', { ids: unique });
  return new Map(found.value.map((o) => [o.id, o]));
}

export function kindOf(o: Pick<DirectoryObject, '@odata.type'>): 'User' | 'Group' | 'Service principal' {
  return o['@odata.type'] === '#microsoft.graph.user' ? 'User' : o['@odata.type'] === '#microsoft.graph.group' ? 'Group' : 'Service principal';
}

/** A second line for a principal: its sign-in name or application id. */
export const detailOf = (o: DirectoryObject) => o.userPrincipalName ?? (o.appId ? `Application ID ${o.appId}` : '');
