import { useSyncExternalStore, type ReactNode } from 'react';
import { session, type User } from './auth/session';
import { match, usePath, useVisit } from './router';
import { Loading } from './ui/feedback';
import { PageTitle, Shell } from './ui/layout';
import { AccessConfiguration } from './pages/access-configuration';
import { AccessPolicies } from './pages/access-policies';
import { AccessPolicyWizard } from './pages/access-policy-wizard';
import { AddRoleAssignment } from './pages/add-role-assignment';
import { CreateVault } from './pages/create-vault';
import { DeletedSecrets } from './pages/deleted-secrets';
import { AccessControl } from './pages/iam';
import { Overview } from './pages/overview';
import { SecretForm } from './pages/secret-form';
import { SecretVersion } from './pages/secret-version';
import { SecretVersions } from './pages/secret-versions';
import { Secrets } from './pages/secrets';
import { SignInPage } from './pages/sign-in';
import { VaultList } from './pages/vault-list';
import { VaultShell, vaultPage, type Heading, type Section, type VaultContext } from './pages/vault-shell';

// The portal's pages by path. Vault pages share the vault blade (VaultShell).

interface VaultRoute {
  pattern: string;
  section: Section;
  title: string;
  crumbs?: (p: Record<string, string>) => { label: string; to?: string }[];
  /** Instead of "<vault> | <title>", for pages of one secret. */
  heading?: (p: Record<string, string>) => Heading;
  render: (ctx: VaultContext, p: Record<string, string>, user: User) => ReactNode;
}

const V = '/portal/vaults/:rg/:name';
const VAULT_ROUTES: VaultRoute[] = [
  { pattern: V, section: 'overview', title: 'Overview', render: (c) => <Overview vault={c.vault} /> },
  { pattern: `${V}/secrets`, section: 'secrets', title: 'Secrets', render: (c) => <Secrets {...c} /> },
  { pattern: `${V}/create-secret`, section: 'secrets', title: 'Secrets', crumbs: () => [{ label: 'Create a secret' }], render: (c) => <SecretForm {...c} /> },
  { pattern: `${V}/deleted-secrets`, section: 'secrets', title: 'Secrets', crumbs: () => [{ label: 'Manage deleted secrets' }], render: (c) => <DeletedSecrets {...c} /> },
  {
    pattern: `${V}/secrets/:secret`,
    section: 'secrets',
    title: 'Secrets',
    crumbs: (p) => [{ label: p.secret! }],
    heading: (p) => ({ title: `${p.secret!} | Versions`, kind: 'Secret' }),
    render: (c, p) => <SecretVersions {...c} secret={p.secret!} />,
  },
  {
    pattern: `${V}/secrets/:secret/new-version`,
    section: 'secrets',
    title: 'Secrets',
    crumbs: (p) => [{ label: p.secret!, to: vaultPage(p.rg!, p.name!, `/secrets/${encodeURIComponent(p.secret!)}`) }, { label: 'Create a new version' }],
    heading: (p) => ({ title: p.secret!, kind: 'Secret' }),
    render: (c, p) => <SecretForm {...c} secret={p.secret!} />,
  },
  {
    pattern: `${V}/secrets/:secret/versions/:version`,
    section: 'secrets',
    title: 'Secrets',
    crumbs: (p) => [{ label: p.secret!, to: vaultPage(p.rg!, p.name!, `/secrets/${encodeURIComponent(p.secret!)}`) }, { label: p.version! }],
    heading: (p) => ({ title: p.secret!, kind: 'Secret version' }),
    render: (c, p) => <SecretVersion {...c} secret={p.secret!} version={p.version!} />,
  },
  { pattern: `${V}/access-configuration`, section: 'access-configuration', title: 'Access configuration', render: (c) => <AccessConfiguration {...c} /> },
  { pattern: `${V}/iam`, section: 'iam', title: 'Access control (IAM)', render: (c, _p, user) => <AccessControl {...c} user={user} /> },
  { pattern: `${V}/iam/add-role-assignment`, section: 'iam', title: 'Access control (IAM)', crumbs: () => [{ label: 'Add role assignment' }], render: (c) => <AddRoleAssignment {...c} /> },
  { pattern: `${V}/access-policies`, section: 'access-policies', title: 'Access policies', render: (c) => <AccessPolicies {...c} /> },
  { pattern: `${V}/access-policies/create`, section: 'access-policies', title: 'Access policies', crumbs: () => [{ label: 'Create an access policy' }], render: (c) => <AccessPolicyWizard {...c} /> },
  {
    pattern: `${V}/access-policies/:objectId/edit`,
    section: 'access-policies',
    title: 'Access policies',
    crumbs: () => [{ label: 'Edit access policy' }],
    render: (c, p) => <AccessPolicyWizard {...c} objectId={p.objectId!} />,
  },
  {
    pattern: `${V}/access-policies/:objectId/:applicationId/edit`,
    section: 'access-policies',
    title: 'Access policies',
    crumbs: () => [{ label: 'Edit access policy' }],
    render: (c, p) => <AccessPolicyWizard {...c} objectId={p.objectId!} applicationId={p.applicationId!} />,
  },
];

function Page({ user, path }: { user: User; path: string }) {
  if (match('/portal', path) || match('/portal/vaults', path)) return <VaultList user={user} />;
  if (match('/portal/create-vault', path)) return <CreateVault user={user} />;
  for (const route of VAULT_ROUTES) {
    const p = match(route.pattern, path);
    if (!p) continue;
    return (
      // Keyed by path: every page shows the vault as it is now, and no state leaks between pages.
      <VaultShell key={path} user={user} rg={p.rg!} name={p.name!} section={route.section} title={route.title} heading={route.heading?.(p)} extraCrumbs={route.crumbs?.(p)}>
        {(ctx) => route.render(ctx, p, user)}
      </VaultShell>
    );
  }
  return (
    <Shell user={user} crumbs={[{ label: 'Not found' }]}>
      <PageTitle title="Page not found" />
      <p>There is no portal page at this address.</p>
    </Shell>
  );
}

export function App() {
  const state = useSyncExternalStore(session.subscribe, session.get);
  const path = usePath();
  const visit = useVisit();
  if (state.status === 'starting') return <Loading label="Signing in" />;
  if (state.status === 'signed-out') return <SignInPage notice={state.notice} />;
  // Keyed by visit: a navigation, also to the page already shown, mounts the page afresh.
  return <Page key={visit} user={state.user} path={path} />;
}
