import { isIPv6 } from 'node:net';

// Every externally visible URL coffer hands out is built here, so the
// identity service, the management plane and the data plane agree on them.

export interface Urls {
  /** https://localhost:8443 — identity, management and portal host. */
  authority: string;
  managementEndpoint: string;
  /** The resource named in the data plane's 401 challenge. */
  vaultResource: string;
  vaultDnsSuffix: string;
  tenantAuthority(tenantId: string): string;
  issuer(tenantId: string): string;
  adfsIssuer: string;
  vaultUri(name: string): string;
  /** Audiences the data plane accepts. */
  vaultAudiences: readonly string[];
  /** Audiences the management plane accepts. */
  managementAudiences: readonly string[];
  /** The resource (audience) the token service issues tokens for, in the spelling the planes check; null if unknown. */
  canonicalResource(resource: string): string | null;
}

/** The `:port` part of a URL; none for 443. */
export const portSuffix = (port: number): string => (port === 443 ? '' : `:${port}`);

/** The audiences a client assertion may name (client-assertion.ts): this tenant's token endpoints (v2, v1, AD FS's) and its issuer, as Entra ID takes them. */
export function assertionAudiences(urls: Pick<Urls, 'authority' | 'tenantAuthority' | 'issuer'>, tenantId: string): string[] {
  const tenant = urls.tenantAuthority(tenantId);
  return [`${tenant}/oauth2/v2.0/token`, `${tenant}/oauth2/token`, `${urls.authority}/adfs/oauth2/token`, urls.issuer(tenantId)];
}

export function createUrls(opts: { publicHost: string; port: number; vaultDnsSuffix: string }): Urls {
  const port = portSuffix(opts.port);
  // An IPv6 address is bracketed in a URL.
  const host = isIPv6(opts.publicHost) ? `[${opts.publicHost}]` : opts.publicHost;
  const authority = `https://${host}${port}`;
  // The port is part of the resource when it is not 443: Python's SDK checks
  // that the vault's host:port ends with the resource's host:port.
  const vaultResource = `https://${opts.vaultDnsSuffix}${port}`;
  const withSlashes = (urls: string[]) => urls.flatMap((u) => [u.replace(/\/$/, ''), u.replace(/\/?$/, '/')]);
  const vaultAudiences = withSlashes([vaultResource, `https://${opts.vaultDnsSuffix}`]);
  const managementAudiences = withSlashes([
    authority,
    'https://management.core.windows.net',
    'https://management.azure.com',
  ]);
  // Resource URIs are matched in any case, as Entra ID does; the token carries the spelling the planes expect.
  const known = new Map([...vaultAudiences, ...managementAudiences].map((u) => [u.toLowerCase(), u]));
  return {
    authority,
    managementEndpoint: authority,
    vaultResource,
    vaultDnsSuffix: opts.vaultDnsSuffix,
    tenantAuthority: (tenantId) => `${authority}/${tenantId}`,
    issuer: (tenantId) => `${authority}/${tenantId}/v2.0`,
    adfsIssuer: `${authority}/adfs`,
    vaultUri: (name) => `https://${name.toLowerCase()}.${opts.vaultDnsSuffix}${port}/`,
    vaultAudiences,
    managementAudiences,
    canonicalResource: (resource) => known.get(resource.toLowerCase()) ?? null,
  };
}
