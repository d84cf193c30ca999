import { API } from './command-kit.js';
import type { Profile } from './profile.js';
import { CliError } from './cli-error.js';
import type { Session } from './session.js';

// Accounts as az keeps and prints them (core/_profile.py): one per
// subscription the identity sees; coffer's server has one.

/** A subscription as the server lists it (Subscriptions - Get/List). */
export interface Subscription {
  subscriptionId: string;
  displayName: string;
  state: string;
  tenantId: string;
  managedByTenants?: Array<{ tenantId: string }> | null;
}

const TENANT_LEVEL_ACCOUNT_NAME = 'N/A(tenant level account)';
export const tenantLevelAccount = (tenant: string): Subscription => ({ subscriptionId: tenant, displayName: TENANT_LEVEL_ACCOUNT_NAME, state: 'Enabled', tenantId: tenant });

/**
 * An account as az stores it and `account show` prints it (core/_profile.py _normalize_properties, in its
 * key order): homeTenantId is the subscription's tenantId, managedByTenants the subscription's, null when
 * the server sends none (_transform_subscription_for_multiapi); a tenant-level account has neither.
 */
export function accountView(profile: Profile, s: Subscription, isDefault = true) {
  const account: Record<string, unknown> = {
    id: s.subscriptionId,
    name: s.displayName,
    state: s.state,
    user: profile.login.type === 'servicePrincipal' ? { name: profile.login.clientId, type: 'servicePrincipal' } : { name: profile.login.username, type: 'user' },
    isDefault,
    tenantId: profile.tenantId,
    environmentName: 'coffer',
  };
  if (s.displayName !== TENANT_LEVEL_ACCOUNT_NAME) {
    account.homeTenantId = s.tenantId;
    account.managedByTenants = s.managedByTenants?.map((t) => ({ tenantId: t.tenantId })) ?? null;
  }
  return account;
}

/** An account as `login` and `account list` print it: environmentName renamed cloudName (profile/custom.py). */
export function listedAccount(profile: Profile, s: Subscription, isDefault: boolean) {
  const { environmentName, ...account } = accountView(profile, s, isDefault);
  return { ...account, cloudName: environmentName };
}

/** The profile's subscription, from the server (a tenant-level account has none to ask about). */
export const profileSubscription = (session: Session): Promise<Subscription> =>
  session.profile.subscriptionId === session.profile.tenantId
    ? Promise.resolve(tenantLevelAccount(session.profile.tenantId))
    : session.call<Subscription>('GET', `${session.profile.server}/subscriptions/${session.profile.subscriptionId}?api-version=${API.resources}`, session.managementResource);

/** az's message for a subscription the login does not have. */
export const subscriptionNotFound = (wanted: string) => `Subscription '${wanted}' not found. Check the spelling and casing and try again.`;

/** `--subscription` (and the account commands' -s/-n): the profile's subscription by id or name, in any case. */
export async function checkSubscription(session: Session, wanted: string, notFound: (wanted: string) => string = subscriptionNotFound): Promise<void> {
  if (wanted.toLowerCase() === session.profile.subscriptionId.toLowerCase()) return;
  const s = await profileSubscription(session);
  if (![s.subscriptionId.toLowerCase(), s.displayName.toLowerCase()].includes(wanted.toLowerCase())) throw new CliError(notFound(wanted));
}
