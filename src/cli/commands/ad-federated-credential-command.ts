import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { run, withOutput } from '../command-kit.js';
import { PyDict, type PyValue } from '../py-value.js';
import type { Session } from '../session.js';

// `ad app federated-credential` (list, create, show, update, delete), as az
// 2.45's role/custom.py app_federated_credential_*: Graph's
// /applications/{id}/federatedIdentityCredentials, the application found by
// --id as az's _resolve_application finds it, --parameters as az's
// validate_file_or_dict reads it (a JSON file's path, or JSON text: the
// `<json>` argument type, arg-types.ts).

/** The JSON Graph is sent: a dict, its lists and scalars (ints as numbers); anything else is not JSON. */
function toJson(v: PyValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof PyDict && v.otherKeys.size === 0) return Object.fromEntries([...v].map(([k, x]) => [k, toJson(x)]));
  throw new CliError('--parameters must be a JSON object: its values strings, numbers, lists and objects.');
}

export function registerFederatedCredentialCommands(app: Command, applicationId: (s: Session, id: string) => Promise<string>): void {
  const fic = app.command('federated-credential').description('Manage application federated identity credentials.');
  const base = async (s: Session, id: string) => `${s.profile.server}/v1.0/applications/${await applicationId(s, id)}/federatedIdentityCredentials`;
  const one = async (s: Session, id: string, fic: string) => `${await base(s, id)}/${encodeURIComponent(fic)}`;
  const ID_HELP = "Application's appId, identifierUri, or id (formerly known as objectId)";
  const FIC_HELP = 'ID or name of the federated identity credential';
  const PARAMS_HELP = 'Parameters for the federated identity credential: a JSON file path, or JSON text ({"name", "issuer", "subject", "audiences", "description"})';

  withOutput(fic.command('list').description('List application federated identity credentials.'))
    .addHelpText('after', '\nExamples:\n  coffer ad app federated-credential list --id APP_ID')
    .requiredOption('--id <id>', ID_HELP)
    .action(run<{ id: string }>(async (o, s) => (await s.call<{ value: unknown[] }>('GET', await base(s, o.id), s.managementResource)).value));
  withOutput(fic.command('create').description('Create application federated identity credential.'))
    .addHelpText('after', '\nExamples:\n  coffer ad app federated-credential create --id APP_ID --parameters credential.json\n  (credential.json: {"name": "github-main", "issuer": "https://token.actions.githubusercontent.com", "subject": "repo:octo/app:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]})')
    .requiredOption('--id <id>', ID_HELP)
    .requiredOption('--parameters <json>', PARAMS_HELP)
    .action(run<{ id: string; parameters: PyValue }>(async (o, s) => s.call('POST', await base(s, o.id), s.managementResource, toJson(o.parameters))));
  withOutput(fic.command('show').description('Show application federated identity credential.'))
    .addHelpText('after', '\nExamples:\n  coffer ad app federated-credential show --id APP_ID --federated-credential-id github-main')
    .requiredOption('--id <id>', ID_HELP)
    .requiredOption('--federated-credential-id <id>', FIC_HELP)
    .action(run<{ id: string; federatedCredentialId: string }>(async (o, s) => s.call('GET', await one(s, o.id, o.federatedCredentialId), s.managementResource)));
  withOutput(fic.command('update').description("Update application federated identity credential (its name cannot be changed)."))
    .addHelpText('after', '\nExamples:\n  coffer ad app federated-credential update --id APP_ID --federated-credential-id github-main --parameters \'{"subject": "repo:octo/app:environment:prod"}\'')
    .requiredOption('--id <id>', ID_HELP)
    .requiredOption('--federated-credential-id <id>', FIC_HELP)
    .requiredOption('--parameters <json>', PARAMS_HELP)
    .action(
      run<{ id: string; federatedCredentialId: string; parameters: PyValue }>(async (o, s) => {
        await s.call('PATCH', await one(s, o.id, o.federatedCredentialId), s.managementResource, toJson(o.parameters));
        return undefined;
      }),
    );
  withOutput(fic.command('delete').description('Delete application federated identity credential.'))
    .addHelpText('after', '\nExamples:\n  coffer ad app federated-credential delete --id APP_ID --federated-credential-id github-main')
    .requiredOption('--id <id>', ID_HELP)
    .requiredOption('--federated-credential-id <id>', FIC_HELP)
    .action(
      run<{ id: string; federatedCredentialId: string }>(async (o, s) => {
        await s.call('DELETE', await one(s, o.id, o.federatedCredentialId), s.managementResource);
        return undefined;
      }),
    );
}
