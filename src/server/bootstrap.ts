import { randomUUID } from 'node:crypto';
import type { Store } from '../storage/store-types.js';
import type { DirectoryService } from '../identity/directory-service.js';
import { DEV_IDS } from '../identity/identity-types.js';
import { writeFileAtomic } from '../storage/atomic-file.js';

// First-start state of a deployment: tenant, subscription, deployment id and
// the administrator service principal. Dev mode uses the README's well-known
// values and adds a user for the portal; otherwise everything is random.

export interface Deployment {
  tenantId: string;
  subscriptionId: string;
  deploymentId: string;
  adminObjectId: string;
  adminAppId: string;
  /** Set when a new admin secret was made in this start (else null). */
  adminSecret: string | null;
  /** Dev mode's portal user (README's credentials), else null. */
  devUserObjectId: string | null;
}

/** Starting without --dev on a data dir created with it: its well-known credentials would work from anywhere. */
export class DevDataDirError extends Error {
  constructor() {
    super(
      'this data dir was created with --dev, and its well-known development credentials (README) would still sign in. ' +
        'Start it with --dev (loopback only), or start without --dev on a new data dir and move the secrets over with backup and restore.',
    );
    this.name = 'DevDataDirError';
  }
}

export async function ensureDeployment(
  store: Store,
  directory: DirectoryService,
  opts: { dev: boolean; needAdminSecret: boolean },
): Promise<Deployment> {
  const { settings } = store;
  const tenantId = await settings.setIfAbsent('tenantId', opts.dev ? DEV_IDS.tenantId : randomUUID());
  const subscriptionId = await settings.setIfAbsent('subscriptionId', opts.dev ? DEV_IDS.subscriptionId : randomUUID());
  const deploymentId = await settings.setIfAbsent('deploymentId', randomUUID());

  const existingAdmin = await settings.get('adminObjectId');
  if (opts.dev) {
    let admin = await directory.getByAppId(DEV_IDS.adminAppId);
    if (!admin) {
      admin = (await directory.createServicePrincipal({ displayName: 'coffer-admin', appId: DEV_IDS.adminAppId, objectId: DEV_IDS.adminObjectId, secret: DEV_IDS.adminSecret, years: 100 })).principal;
    } else if (!(await directory.authenticateClient(DEV_IDS.adminAppId, DEV_IDS.adminSecret, Math.floor(Date.now() / 1000))).ok) {
      await directory.addClientSecret(admin.objectId, { secret: DEV_IDS.adminSecret, years: 100, displayName: 'dev' });
    }
    if (!existingAdmin) await settings.set('adminObjectId', admin.objectId);
    const adminObjectId = existingAdmin ?? admin.objectId;
    const adminRow = await directory.get(adminObjectId);
    if (!(await directory.get(DEV_IDS.userObjectId))) {
      await directory.createUser({ upn: DEV_IDS.userName, displayName: 'coffer admin', password: DEV_IDS.userPassword, objectId: DEV_IDS.userObjectId });
    }
    return {
      tenantId,
      subscriptionId,
      deploymentId,
      adminObjectId,
      adminAppId: adminRow?.appId ?? DEV_IDS.adminAppId,
      adminSecret: adminObjectId === admin.objectId ? DEV_IDS.adminSecret : null,
      devUserObjectId: DEV_IDS.userObjectId,
    };
  }

  // A data dir made with --dev holds principals whose credentials are published in the README.
  if ((await directory.getByAppId(DEV_IDS.adminAppId)) || (await directory.get(DEV_IDS.userObjectId))) {
    throw new DevDataDirError();
  }
  if (!existingAdmin) {
    const { principal, credential } = await directory.createServicePrincipal({ displayName: 'coffer-admin', years: 2 });
    await settings.set('adminObjectId', principal.objectId);
    return { tenantId, subscriptionId, deploymentId, adminObjectId: principal.objectId, adminAppId: principal.appId!, adminSecret: credential.secret, devUserObjectId: null };
  }
  const admin = await directory.get(existingAdmin);
  if (!admin || !admin.appId) throw new Error(`the administrator principal ${existingAdmin} is missing from the store`);
  const adminSecret = opts.needAdminSecret ? (await directory.addClientSecret(admin.objectId, { years: 2, displayName: 'bootstrap' })).secret : null;
  return { tenantId, subscriptionId, deploymentId, adminObjectId: admin.objectId, adminAppId: admin.appId, adminSecret, devUserObjectId: null };
}

/** bootstrap.json: how to reach the deployment, and its administrator's credentials (a private file). */
export interface BootstrapInfo {
  tenantId: string;
  subscriptionId: string;
  authorityHost: string;
  managementEndpoint: string;
  vaultDnsSuffix: string;
  port: number;
  caCertFile: string;
  clientId: string;
  clientSecret: string | null;
  /** The administrator's object id (for access policies and role assignments). */
  objectId: string;
  dev: boolean;
}

/** Writes bootstrap.json for the deployment as this server serves it. */
export function writeBootstrapFile(file: string, d: Deployment, served: Omit<BootstrapInfo, 'tenantId' | 'subscriptionId' | 'clientId' | 'clientSecret' | 'objectId'>): void {
  const { dev, ...where } = served;
  const info: BootstrapInfo = { tenantId: d.tenantId, subscriptionId: d.subscriptionId, ...where, clientId: d.adminAppId, clientSecret: d.adminSecret, objectId: d.adminObjectId, dev };
  writeFileAtomic(file, JSON.stringify(info, null, 2) + '\n');
}
