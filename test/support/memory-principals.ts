import type { PrincipalRow, PrincipalStore } from '../../src/storage/store-types.js';

/** A principal store in memory with what the directory service's sign-ins use (users and their passwords). */
export function memoryPrincipals(): PrincipalStore {
  const rows = new Map<string, PrincipalRow>();
  return {
    insert: async (row) => void rows.set(row.objectId, row),
    get: async (id) => rows.get(id) ?? null,
    getByAppId: async (appId) => [...rows.values()].find((r) => r.appId === appId) ?? null,
    getByUpn: async (upn) => [...rows.values()].find((r) => r.upn?.toLowerCase() === upn.toLowerCase()) ?? null,
    list: async () => [...rows.values()],
    delete: async (id) => rows.delete(id),
    addClientSecret: async () => {},
    listClientSecrets: async () => [],
    removeClientSecret: async () => false,
    listKeyCredentials: async () => [],
    allKeyCredentials: async () => [],
    changeKeyCredentials: async () => {},
    setKeyCredentialMac: async () => false,
    listFederatedCredentials: async () => [],
    allFederatedCredentials: async () => [],
    addFederatedCredential: async () => {},
    updateFederatedCredential: async () => false,
    removeFederatedCredential: async () => false,
    setFederatedCredentialMac: async () => false,
    replaceCredentialHash: async () => false,
    async setPassword(id, from, to) {
      const row = rows.get(id);
      if (row?.passwordHash !== from) return false;
      rows.set(id, { ...row, passwordHash: to });
      return true;
    },
  };
}
