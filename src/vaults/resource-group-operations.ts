import { errors } from '../server/errors.js';
import { createKeyedQueue } from '../server/one-at-a-time.js';
import type { ResourceGroupStore } from '../storage/store-types.js';
import { normalLocation, type locationChecker } from './locations.js';
import type { VaultService } from './vault-service.js';

// Resource group reads and PUTs (their deletion, which deletes their vaults, is the vault service's).

type GroupOperations = Pick<VaultService, 'ensureResourceGroup' | 'getResourceGroup' | 'findResourceGroup' | 'listResourceGroups'>;

export function resourceGroupOperations(resourceGroups: ResourceGroupStore, locations: ReturnType<typeof locationChecker>): GroupOperations {
  // One PUT at a time per group: of two PUTs of a new group sent together, one creates it (201) and the other finds it (200).
  const exclusive = createKeyedQueue();
  return {
    ensureResourceGroup: (row, audit) =>
      exclusive(`${row.subscriptionId}/${row.name.toLowerCase()}`, async () => {
        // A group created meanwhile by another cluster member (the queue is this member's) is updated; one deleted
        // meanwhile (by a DELETE, which does not wait for this queue) is created again: each answered as if in turn.
        for (let attempt = 0; attempt < 3; attempt++) {
          const existing = await resourceGroups.get(row.subscriptionId, row.name);
          if (!existing) {
            locations.group(row.location);
            const created = await resourceGroups.create({ ...row, location: normalLocation(row.location) }, audit?.(201));
            if (created) return { group: created, created: true };
            continue;
          }
          // A group keeps the location it was made in (a deployment's earlier --location, say); any other must be one Resource Manager has.
          if (normalLocation(row.location) !== normalLocation(existing.location)) {
            locations.group(row.location);
            throw errors.invalidResourceGroupLocation(row.location, existing.location);
          }
          const group = await resourceGroups.update({ ...existing, tags: row.tags }, audit?.(200));
          if (group) return { group, created: false };
        }
        throw errors.resourceGroupChangedMeanwhile(row.name);
      }),
    async getResourceGroup(subscriptionId, name) {
      const rg = await resourceGroups.get(subscriptionId, name);
      if (!rg) throw errors.resourceGroupNotFound(name);
      return rg;
    },
    findResourceGroup: (subscriptionId, name) => resourceGroups.get(subscriptionId, name),
    listResourceGroups: (s) => resourceGroups.list(s),
  };
}
