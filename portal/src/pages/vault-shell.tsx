import type { ReactNode } from 'react';
import { getVault } from '../api/arm';
import type { Vault } from '../api/types';
import type { User } from '../auth/session';
import { Link } from '../router';
import { Loaded } from '../ui/feedback';
import { PageTitle, Shell } from '../ui/layout';
import { useAsync } from '../ui/use-async';

// A key vault's blade: its resource menu on the left, the section on the right.

export type Section = 'overview' | 'iam' | 'access-policies' | 'secrets' | 'access-configuration';

const MENU: { group: string | null; items: { id: Section; label: string; path: string }[] }[] = [
  {
    group: null,
    items: [
      { id: 'overview', label: 'Overview', path: '' },
      { id: 'iam', label: 'Access control (IAM)', path: '/iam' },
      { id: 'access-policies', label: 'Access policies', path: '/access-policies' },
    ],
  },
  { group: 'Objects', items: [{ id: 'secrets', label: 'Secrets', path: '/secrets' }] },
  { group: 'Settings', items: [{ id: 'access-configuration', label: 'Access configuration', path: '/access-configuration' }] },
];

export const vaultPage = (rg: string, name: string, path = '') => `/portal/vaults/${encodeURIComponent(rg)}/${encodeURIComponent(name)}${path}`;

export interface VaultContext {
  vault: Vault;
  rg: string;
  reloadVault: () => void;
}

/** A page's own heading, for pages of one object inside the vault (a secret): Azure heads them with the object, not the vault. */
export interface Heading {
  title: string;
  kind: string;
}

export function VaultShell(props: {
  user: User;
  rg: string;
  name: string;
  section: Section;
  title: string;
  heading?: Heading;
  extraCrumbs?: { label: string; to?: string }[];
  children: (ctx: VaultContext) => ReactNode;
}) {
  const { rg, name } = props;
  const [state, reload] = useAsync(() => getVault(rg, name), [rg, name]);
  const sectionLabel = MENU.flatMap((g) => g.items).find((i) => i.id === props.section)!;
  const heading = props.heading ?? { title: `${name} | ${props.title}`, kind: 'Key vault' };
  return (
    <Shell
      user={props.user}
      crumbs={[{ label: 'Key vaults', to: '/portal/' }, { label: name, to: vaultPage(rg, name) }, { label: sectionLabel.label, to: vaultPage(rg, name, sectionLabel.path) }, ...(props.extraCrumbs ?? [])]}
    >
      <div className="blade">
        <nav className="resource-menu" aria-label="Key vault menu">
          {MENU.map((g, i) => (
            <div key={i} className="menu-group">
              {g.group && <h2 className="menu-heading">{g.group}</h2>}
              <ul>
                {g.items.map((item) => (
                  <li key={item.id}>
                    <Link to={vaultPage(rg, name, item.path)} aria-current={item.id === props.section ? 'page' : undefined}>
                      {item.label}
                    </Link>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </nav>
        <section className="blade-content" aria-label={props.heading?.title ?? props.title}>
          <PageTitle title={heading.title} kind={heading.kind} />
          <Loaded state={state} label="Loading key vault" onRetry={reload}>
            {(vault) => props.children({ vault, rg, reloadVault: reload })}
          </Loaded>
        </section>
      </div>
    </Shell>
  );
}
