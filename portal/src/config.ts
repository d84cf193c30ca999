// Deployment facts the server publishes for the portal (src/portal/portal-routes.ts).
export interface PortalConfig {
  tenantId: string;
  subscriptionId: string;
  /** https://host:port of the identity and management APIs (this origin). */
  authority: string;
  managementResource: string;
  vaultResource: string;
  vaultDnsSuffix: string;
  clientId: string;
}

let loaded: PortalConfig | null = null;

export async function loadConfig(): Promise<PortalConfig> {
  const res = await fetch('/portal/config.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`The portal configuration could not be loaded (HTTP ${res.status}).`);
  loaded = (await res.json()) as PortalConfig;
  return loaded;
}

export function config(): PortalConfig {
  if (!loaded) throw new Error('portal configuration used before it was loaded');
  return loaded;
}
