import { config } from '../config';
import type { Vault } from '../api/types';
import { resourceGroupOf } from '../api/arm';
import { copyText } from '../ui/format';
import { notify } from '../ui/toasts';

// A vault's Essentials, as on Azure's Overview blade.

export function Overview({ vault }: { vault: Vault }) {
  const p = vault.properties;
  const rows: [string, string][] = [
    ['Resource group', resourceGroupOf(vault.id)],
    ['Location', vault.location],
    ['Subscription ID', config().subscriptionId],
    ['Directory ID', p.tenantId],
    ['Vault URI', p.vaultUri],
    ['Sku (Pricing tier)', p.sku.name === 'premium' ? 'Premium' : 'Standard'],
    ['Permission model', p.enableRbacAuthorization ? 'Azure role-based access control' : 'Vault access policy'],
    ['Soft-delete', p.enableSoftDelete === false ? 'Disabled' : 'Enabled'],
    ['Days to retain deleted vaults', String(p.softDeleteRetentionInDays ?? 90)],
    ['Purge protection', p.enablePurgeProtection ? 'Enabled' : 'Disabled'],
  ];
  return (
    <section aria-labelledby="essentials">
      <h2 id="essentials">Essentials</h2>
      <dl className="essentials">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>
              {v}
              {k === 'Vault URI' && (
                <button type="button" className="link" aria-label="Copy vault URI" onClick={async () => notify((await copyText(v)) ? 'Vault URI copied to clipboard.' : 'Copy failed: select the URI and copy it.', 'success')}>
                  Copy
                </button>
              )}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
