import type { Command } from 'commander';

// Examples for every command's --help, in one table so none is forgotten
// (test/cli-help.test.ts checks that every command has some).

const EXAMPLES: Record<string, string[]> = {
  server: ['coffer server --dev', 'coffer server --port 443 --host 0.0.0.0 --data-dir /var/lib/coffer --vault-dns-suffix vault.example.com'],
  logout: ['coffer logout'],
  'account show': ['coffer account show', 'coffer account show --query tenantId -o tsv'],
  'account list': ['coffer account list -o table'],
  'account set': ['coffer account set --subscription SUBSCRIPTION_ID'],
  'account list-locations': ['coffer account list-locations -o table', `coffer account list-locations --query "[?metadata.geographyGroup=='Europe'].name" -o tsv`],
  'account get-access-token': [
    'coffer account get-access-token',
    'coffer account get-access-token --resource https://vault.localhost:8443 --query accessToken -o tsv',
    'coffer account get-access-token --scope https://localhost:8443//.default',
  ],
  'group create': ['coffer group create --name my-rg --location local'],
  'group show': ['coffer group show --name my-rg'],
  'group exists': ['coffer group exists --name my-rg'],
  'group update': ['coffer group update --name my-rg --tags team=data'],
  'group list': ['coffer group list -o table'],
  'group delete': ['coffer group delete --name my-rg', 'coffer group delete --name my-rg --yes'],
  'keyvault show': ['coffer keyvault show --name my-vault', 'coffer keyvault show --name my-vault --query properties.vaultUri -o tsv'],
  'keyvault list': ['coffer keyvault list -o table', 'coffer keyvault list --resource-group my-rg'],
  'keyvault update': ['coffer keyvault update --name my-vault --enable-rbac-authorization true', 'coffer keyvault update --name my-vault --enable-purge-protection true'],
  'keyvault delete': ['coffer keyvault delete --name my-vault'],
  'keyvault list-deleted': ['coffer keyvault list-deleted -o table'],
  'keyvault network-rule add': ['coffer keyvault network-rule add --name my-vault --ip-address 203.0.113.7 198.51.100.0/24'],
  'keyvault network-rule remove': ['coffer keyvault network-rule remove --name my-vault --ip-address 203.0.113.7'],
  'keyvault network-rule list': ['coffer keyvault network-rule list --name my-vault --query "ipRules[].value" -o tsv'],
  'keyvault show-deleted': ['coffer keyvault show-deleted --name my-vault', 'coffer keyvault show-deleted --name my-vault --location local --query properties.scheduledPurgeDate -o tsv'],
  'keyvault recover': ['coffer keyvault recover --name my-vault'],
  'keyvault purge': ['coffer keyvault purge --name my-vault --location local'],
  'keyvault secret show': ['coffer keyvault secret show --vault-name my-vault --name apono-mysql-user', 'coffer keyvault secret show --id https://my-vault.vault.localhost:8443/secrets/apono-mysql-user/VERSION --query value -o tsv'],
  'keyvault secret list': ['coffer keyvault secret list --vault-name my-vault -o table'],
  'keyvault secret list-versions': ['coffer keyvault secret list-versions --vault-name my-vault --name apono-mysql-user'],
  'keyvault secret list-deleted': ['coffer keyvault secret list-deleted --vault-name my-vault'],
  'keyvault secret show-deleted': ['coffer keyvault secret show-deleted --vault-name my-vault --name apono-mysql-user'],
  'keyvault secret set-attributes': ['coffer keyvault secret set-attributes --vault-name my-vault --name apono-mysql-user --enabled false', 'coffer keyvault secret set-attributes --vault-name my-vault --name db --expires 2027-01-01T00:00:00Z --tags owner=data'],
  'keyvault secret delete': ['coffer keyvault secret delete --vault-name my-vault --name apono-mysql-user'],
  'keyvault secret recover': ['coffer keyvault secret recover --vault-name my-vault --name apono-mysql-user'],
  'keyvault secret purge': ['coffer keyvault secret purge --vault-name my-vault --name apono-mysql-user'],
  'keyvault secret backup': ['coffer keyvault secret backup --vault-name my-vault --name apono-mysql-user --file apono.bak'],
  'keyvault secret restore': ['coffer keyvault secret restore --vault-name my-vault --file apono.bak'],
  'keyvault secret download': ['coffer keyvault secret download --vault-name my-vault --name tls-key --file key.pem', 'coffer keyvault secret download --vault-name my-vault --name blob --file blob.bin --encoding base64'],
  'keyvault delete-policy': ['coffer keyvault delete-policy --name my-vault --spn apono-connector', 'coffer keyvault delete-policy --name my-vault --object-id OBJECT_ID'],
  'role assignment list': ['coffer role assignment list --scope /subscriptions/SUB/resourceGroups/my-rg/providers/Microsoft.KeyVault/vaults/my-vault --all -o table', 'coffer role assignment list --assignee apono-connector --all'],
  'role assignment delete': ['coffer role assignment delete --assignee apono-connector --role "Key Vault Secrets User" --scope SCOPE', 'coffer role assignment delete --ids ASSIGNMENT_ID'],
  'role definition list': ['coffer role definition list --name "Key Vault Secrets User"', 'coffer role definition list --custom-role-only -o table'],
  'role definition create': ['coffer role definition create --role-definition @role.json', 'coffer role definition create --role-definition \'{"Name": "Secret Reader", "DataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"], "AssignableScopes": ["/subscriptions/SUB"]}\''],
  'role definition update': ['coffer role definition update --role-definition @role.json'],
  'ad signed-in-user show': ['coffer ad signed-in-user show --query id -o tsv'],
  'account clear': ['coffer account clear'],
  'role definition delete': ['coffer role definition delete --name "Secret Reader"'],
  'ad sp list': ['coffer ad sp list --display-name apono -o table', 'coffer ad sp list --spn APP_ID', 'coffer ad sp list --all --query "[].appId" -o tsv'],
  'ad sp show': ['coffer ad sp show --id apono-connector'],
  'ad sp delete': ['coffer ad sp delete --id APP_ID'],
  'ad group member check': ['coffer ad group member check --group connectors --member-id OBJECT_ID'],
  'ad user get-member-groups': ['coffer ad user get-member-groups --id alice@coffer.local'],
  'ad app list': ['coffer ad app list --display-name apono', 'coffer ad app list --app-id APP_ID'],
  'ad app show': ['coffer ad app show --id APP_ID'],
  'ad sp credential list': ['coffer ad sp credential list --id apono-connector', 'coffer ad sp credential list --id APP_ID --cert'],
  'ad sp credential reset': ['coffer ad sp credential reset --id apono-connector', 'coffer ad sp credential reset --id APP_ID --append --years 2', 'coffer ad sp credential reset --id APP_ID --cert @cert.pem --append'],
  'ad sp credential delete': ['coffer ad sp credential delete --id APP_ID --key-id KEY_ID --cert'],
  'ad app credential list': ['coffer ad app credential list --id APP_ID --cert'],
  'ad app credential reset': ['coffer ad app credential reset --id APP_ID --create-cert', 'coffer ad app credential reset --id APP_ID --cert @cert.pem --append --end-date 2027-12-31'],
  'ad app credential delete': ['coffer ad app credential delete --id APP_ID --key-id KEY_ID', 'coffer ad app credential delete --id APP_ID --key-id KEY_ID --cert'],
  'ad user create': ['coffer ad user create --user-principal-name alice@example.com --display-name Alice --password "Correct horse battery staple 7"'],
  'ad user list': ['coffer ad user list -o table', 'coffer ad user list --upn alice@example.com'],
  'ad user show': ['coffer ad user show --id alice@example.com'],
  'ad user update': ['coffer ad user update --id alice@example.com --password "Another horse battery staple 8"'],
  'ad user delete': ['coffer ad user delete --id alice@example.com'],
  'ad group create': ['coffer ad group create --display-name connectors --mail-nickname connectors'],
  'ad group list': ['coffer ad group list -o table'],
  'ad group member add': ['coffer ad group member add --group connectors --member-id OBJECT_ID'],
  'ad group member list': ['coffer ad group member list --group connectors -o table'],
  'ad group member remove': ['coffer ad group member remove --group connectors --member-id OBJECT_ID'],
  'ad group show': ['coffer ad group show --group connectors', 'coffer ad group show --group GROUP_OBJECT_ID --query id -o tsv'],
  'ad group delete': ['coffer ad group delete --group connectors'],
  hosts: ['coffer hosts   (as root; or: sudo npx coffer hosts)', 'coffer hosts --vault my-vault --suffix vault.localhost --print'],
  'admin rotate-master-key': ['coffer admin rotate-master-key --data-dir ./data'],
  'admin rotate-signing-key': ['coffer admin rotate-signing-key --data-dir ./data'],
  'admin backup': ['coffer admin backup --data-dir ./data --file /backups/coffer-$(date +%F).db'],
  'admin restore': ['coffer admin restore --data-dir ./data --file /backups/coffer-2026-12-01.db   (with the server stopped)'],
};

/** Adds the table's examples to every command that does not carry its own. */
export function addExamples(program: Command): void {
  const visit = (cmd: Command, path: string[]) => {
    const key = path.join(' ');
    const lines = EXAMPLES[key];
    if (lines) cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`);
    for (const sub of cmd.commands) visit(sub, [...path, sub.name()]);
  };
  for (const sub of program.commands) visit(sub, [sub.name()]);
}
