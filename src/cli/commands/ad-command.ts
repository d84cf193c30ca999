import { Option, type Command } from 'commander';
import { andFilters, filterQuery, graphList, odataString } from '../graph-query.js';
import { graphObjectListTable } from '../table-views.js';
import { CliError } from '../cli-error.js';
import { run, withOutput } from '../command-kit.js';
import { withStatus } from '../status-notices.js';
import { asShown } from '../graph-errors.js';
import { GUID } from '../principal-lookup.js';
import { withAzNames } from '../abbreviations.js';
import type { Session } from '../session.js';
import { registerAdGroupCommands } from './ad-group-command.js';
import { registerAdAppCommands } from './ad-app-command.js';
import { authz, resolveRoleAt, withLeadingSlash } from './role-command.js';
import { CREDENTIAL_WARNING, checkCertificateOptions, rbacWithCertificate, registerCredentialCommands, resetPassword, withCertificateOptions, type CertificateOptions, type GraphCredentialHolder } from './ad-credential-command.js';

/** create-for-rbac's name argument as az 2.45 registers it (role/_params.py). */
const SP_NAME_FLAGS = '--display-name/--name/-n';

// coffer ad sp / ad user: the directory, through the Graph-shaped API.

interface GraphSp {
  id: string;
  appId: string;
  displayName: string;
  passwordCredentials?: Array<{ secretText: string; keyId: string }>;
}

const graph = (s: Session, path: string) => `${s.profile.server}/v1.0${path}`;

const servicePrincipals = async (s: Session, filter: string | null) =>
  graphList<GraphSp>(s, graph(s, `/servicePrincipals${filterQuery(filter)}`));

/**
 * az's _resolve_service_principal: by a service principal name (its appId, or an identifier URI), else a GUID
 * as its object id; never by display name. `notFound` is the exit code when there is none (3 for show).
 */
async function findSp(s: Session, id: string, notFound = 1): Promise<GraphSp> {
  const [hit] = await servicePrincipals(s, `servicePrincipalNames/any(c:c eq '${odataString(id)}')`);
  if (hit) return hit;
  // As az's _resolve_service_principal: a GUID is taken as an object id and asked for, so the answer is Graph's 404.
  if (GUID.test(id)) return asShown(s.call<GraphSp>('GET', graph(s, `/servicePrincipals/${id}`), s.managementResource), notFound);
  throw new CliError(`Service principal '${id}' doesn't exist`, undefined, notFound);
}

export function registerAdCommands(program: Command): void {
  const ad = program.command('ad').description('Manage the directory: service principals and users.');
  const sp = ad.command('sp').description('Service principals.');

  const createForRbac = withOutput(withCertificateOptions(sp.command('create-for-rbac').description('Create a service principal with a client secret (with --name of an existing one: reset its secret), and optionally assign it a role.')))
    // One argument in az (options_list --display-name, --name, -n), so argparse names it so.
    .addOption(withAzNames(new Option('--display-name <name>', 'same as --name'), SP_NAME_FLAGS))
    .addOption(withAzNames(new Option('-n, --name <name>', 'display name (default: coffer-sp-TIMESTAMP); an existing service principal with this name is reused and its secret reset, as in az'), SP_NAME_FLAGS))
    .option('--years <int>', 'years the secret stays valid (default 1)')
    .option('--role <role>', 'role to assign at each of --scopes')
    .option('--scopes <scopes...>', 'space-separated scopes for --role')
    .option('--skip-assignment [bool]', "deprecated in az, a no-op: no role is assigned without --role")
    .option('--sdk-auth [bool]', "deprecated in az: print the credentials as the SDKs' auth file (JSON, with the server's endpoints)")
    .addHelpText('after', '\nExamples:\n  coffer ad sp create-for-rbac --name apono-connector\n  coffer ad sp create-for-rbac --name apono-connector --role "Key Vault Secrets User" --scopes SCOPE\n  coffer ad sp create-for-rbac --name apono-connector --create-cert')
    .action(
      run<CertificateOptions & { name?: string; displayName?: string; years?: number; role?: string; scopes?: string[]; skipAssignment?: boolean; sdkAuth?: boolean }>(async (o, s) => {
        const sdkAuth = o.sdkAuth ?? false;
        o.name ??= o.displayName;
        checkCertificateOptions(o);
        if (!o.role !== !o.scopes) throw new CliError('Usage error: To create role assignments, specify both --role and --scopes.');
        // Before anything is created (az finds out only at the first assignment), at the first scope as az looks.
        const role = o.role ? await resolveRoleAt(s, o.role, o.scopes![0]!) : null;
        const name = o.name ?? `coffer-sp-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
        // az's `years = years or 1`: none, or 0, is a year.
        const years = o.years || 1;
        // As az: "patch existing app with the same displayName to make the command idempotent".
        const existing = o.name
          ? (await servicePrincipals(s, `displayName eq '${odataString(o.name)}'`))[0]
          : undefined;
        let principal: GraphSp;
        let password: string | undefined;
        let certFile: string | undefined;
        // az's create_application says so once the credential's dates are settled (their warnings come first).
        const announce = async () => {
          if (!existing) return;
          const [app] = await graphList<{ id: string }>(s, graph(s, `/applications?$filter=${encodeURIComponent(`appId eq '${odataString(existing.appId)}'`)}`));
          if (app) s.warn(`Found an existing application instance: (id) ${app.id}. We will patch it.`);
        };
        if (o.cert || o.createCert) {
          const made = await rbacWithCertificate(s, o, name, years, existing, announce);
          principal = { id: made.objectId, appId: made.appId, displayName: name };
          certFile = made.file;
        } else if (existing) {
          await announce();
          principal = existing;
          // az's create-for-rbac: a new secret named rbac for `years`, the others removed.
          const base = `/servicePrincipals/${existing.id}`;
          const holder = await s.call<GraphCredentialHolder>('GET', graph(s, base), s.managementResource);
          const start = new Date();
          password = await resetPassword(s, base, holder, start, new Date(start.getTime() + years * 365 * 24 * 3600 * 1000), false, 'rbac');
        } else {
          principal = await s.call<GraphSp>('POST', graph(s, '/servicePrincipals'), s.managementResource, { displayName: name, years });
          password = principal.passwordCredentials?.[0]?.secretText;
        }
        for (const scope of role ? (o.scopes ?? []) : []) {
          s.warn(`Creating '${o.role}' role assignment under scope '${scope}'`);
          const properties = { roleDefinitionId: role!.id, principalId: principal.id, principalType: 'ServicePrincipal' };
          try {
            await s.call('PUT', authz(s, scope, `roleAssignments/${crypto.randomUUID()}`), s.managementResource, { properties });
          } catch (err) {
            if (!(err instanceof CliError) || err.code !== 'RoleAssignmentExists') throw err;
            s.warn('  Role assignment already exists.\n');
          }
        }
        s.warn(CREDENTIAL_WARNING);
        if (sdkAuth) {
          // az's get_sp_auth_info: printed as JSON whatever --output says; the endpoints are this server's.
          const server = s.profile.server;
          const file = {
            clientId: principal.appId,
            ...(password ? { clientSecret: password } : { clientCertificate: certFile ?? null }),
            subscriptionId: (o.scopes?.[0] && withLeadingSlash(o.scopes[0]).split('/')[2]) || s.profile.subscriptionId,
            tenantId: s.profile.tenantId,
            activeDirectoryEndpointUrl: server,
            resourceManagerEndpointUrl: `${server}/`,
            activeDirectoryGraphResourceId: `${server}/`,
            sqlManagementEndpointUrl: server,
            galleryEndpointUrl: server,
            managementEndpointUrl: s.managementResource,
          };
          process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
          return undefined;
        }
        if (certFile) s.warn(`Please copy ${certFile} to a safe place. When you run 'coffer login', provide the file path in the --password argument`);
        // In az 2.45's order (its dict's, which --query and -o tsv show): the certificate's file last.
        return { appId: principal.appId, password: password ?? null, displayName: principal.displayName, tenant: s.profile.tenantId, ...(certFile ? { fileWithCertAndPrivateKey: certFile } : {}) };
      }),
    );
  // az's deprecated arguments: their notices (status-notices.ts).
  withStatus(createForRbac, 'deprecated', '--skip-assignment', '--sdk-auth');
  withOutput(sp.command('list').description('List service principals (the first 100 without a filter or --all, as az).'))
    .option('--display-name <name>', 'only those whose display name starts with this')
    .option('--spn <name>', 'only the one with this service principal name (its appId)')
    .option('--filter <odata>', "an OData filter, e.g. \"displayName eq 'x'\"")
    .option('--all', 'list them all')
    .action(
      run<{ displayName?: string; spn?: string; filter?: string; all?: boolean }>(async (o, s) => {
        // az's list_service_principals: the filters joined by "and".
        const filter = andFilters([o.filter, o.spn && `servicePrincipalNames/any(c:c eq '${odataString(o.spn)}')`, o.displayName && `startswith(displayName,'${odataString(o.displayName)}')`]);
        const all = await servicePrincipals(s, filter);
        if (filter !== null || o.all) return all;
        if (all.length > 100) s.warn("The result is not complete. You can still use '--all' to get all of them with long latency expected, or provide a filter through command arguments");
        return all.slice(0, 100);
      }, graphObjectListTable),
    );
  withOutput(sp.command('show').description('Show a service principal.'))
    .requiredOption('--id <id>', 'appId, object id or display name')
    // As az: found by a filter, then read whole (a list item leaves out the client secrets' metadata).
    .action(run<{ id: string }>(async (o, s) => s.call('GET', graph(s, `/servicePrincipals/${(await findSp(s, o.id, 3)).id}`), s.managementResource)));
  withOutput(sp.command('delete').description('Delete a service principal.'))
    .requiredOption('--id <id>', 'appId, object id or display name')
    .action(
      run<{ id: string }>(async (o, s) => {
        await s.call('DELETE', graph(s, `/servicePrincipals/${(await findSp(s, o.id)).id}`), s.managementResource);
        return undefined;
      }),
    );
  registerCredentialCommands(sp, { collection: 'servicePrincipals', objectId: async (s, id) => (await findSp(s, id)).id }, "A service principal");

  // az's `ad signed-in-user show` (Graph's /me): the user signed in; a service principal's login gets Graph's refusal.
  withOutput(ad.command('signed-in-user').description('The signed-in user.').command('show').description('Show the signed-in user.')).action(
    run(async (_o, s) => s.call('GET', graph(s, '/me'), s.managementResource)),
  );
  const user = ad.command('user').description('Users.');
  withOutput(user.command('create').description('Create a user.'))
    .requiredOption('--user-principal-name <upn>', 'e.g. alice@example.com')
    .requiredOption('--display-name <name>', 'display name')
    .requiredOption('--password <password>', 'initial password (8 to 256 characters, three of: lowercase, uppercase, digits, symbols)')
    .option('--mail-nickname <nickname>', "mail alias (default: the user principal name's part before @); coffer does not keep it")
    .option('--force-change-password-next-sign-in [bool]', 'coffer has no password change at sign-in: only false is accepted')
    .option('--immutable-id <id>', "az's on-premises immutable id; coffer does not keep it")
    .action(
      run<{ userPrincipalName: string; displayName: string; password: string; mailNickname?: string; forceChangePasswordNextSignIn?: boolean; immutableId?: string }>((o, s) =>
        // As az's create_user: the account enabled, a mail nickname, and the password change flag (false unless given).
        s.call('POST', graph(s, '/users'), s.managementResource, {
          accountEnabled: true,
          displayName: o.displayName,
          mailNickname: o.mailNickname ?? o.userPrincipalName.split('@')[0],
          passwordProfile: { forceChangePasswordNextSignIn: o.forceChangePasswordNextSignIn ?? false, password: o.password },
          userPrincipalName: o.userPrincipalName,
          ...(o.immutableId !== undefined ? { onPremisesImmutableId: o.immutableId } : {}),
        }),
      ),
    );
  withOutput(user.command('list').description('List users.'))
    .option('--upn <upn>', 'only the user with this user principal name')
    .option('--display-name <name>', 'only those whose display name starts with this')
    .option('--filter <odata>', "an OData filter, e.g. \"startswith(userPrincipalName,'a')\"")
    .action(
      run<{ upn?: string; displayName?: string; filter?: string }>(async (o, s) => {
        // az's list_users: the filters joined by "and".
        const filter = andFilters([o.filter, o.upn && `userPrincipalName eq '${odataString(o.upn)}'`, o.displayName && `startswith(displayName,'${odataString(o.displayName)}')`]);
        return graphList(s, graph(s, `/users${filterQuery(filter)}`));
      }),
    );
  // az names a user by user principal name or object id, straight in the URL (Graph takes both).
  const userUrl = (s: Session, id: string) => graph(s, `/users/${encodeURIComponent(id)}`);
  withOutput(user.command('show').description('Show a user.'))
    .requiredOption('--id <upn-or-object-id>', 'user principal name or object id')
    .action(run<{ id: string }>((o, s) => asShown(s.call('GET', userUrl(s, o.id), s.managementResource))));
  withOutput(user.command('get-member-groups').description('List the groups a user is in (directly or through other groups).'))
    .requiredOption('--id <upn-or-object-id>', 'user principal name or object id')
    .option('--security-enabled-only [bool]', 'only security groups (every coffer group is one)')
    .action(
      run<{ id: string; securityEnabledOnly?: boolean }>(async (o, s) => {
        // As az's get_user_member_groups: the ids, then their display names through getByIds (none if that fails).
        const securityEnabledOnly = o.securityEnabledOnly ?? false;
        const ids = (await s.call<{ value: string[] }>('POST', `${userUrl(s, o.id)}/getMemberGroups`, s.managementResource, { securityEnabledOnly })).value;
        const names = new Map<string, string>();
        if (ids.length > 0) {
          const types = ['user', 'group', 'servicePrincipal', 'directoryObjectPartnerReference'];
          const stubs = await s.call<{ value: Array<{ id: string; displayName: string }> }>('POST', graph(s, '/directoryObjects/getByIds'), s.managementResource, { ids, types }).catch(() => ({ value: [] }));
          for (const stub of stubs.value) names.set(stub.id, stub.displayName);
        }
        return ids.map((id) => ({ id, displayName: names.get(id) ?? null }));
      }),
    );
  withOutput(user.command('update').description("Reset a user's password (their refresh tokens are revoked with it)."))
    .requiredOption('--id <upn-or-object-id>', 'user principal name or object id')
    .option('--password <password>', 'the new password (8 to 256 characters, three of: lowercase, uppercase, digits, symbols)')
    .option('--force-change-password-next-sign-in [bool]', 'coffer has no password change at sign-in: only false is accepted')
    .option('--display-name <name>', "az's argument; coffer's directory refuses a change of it")
    .option('--account-enabled [bool]', "az's argument; coffer's directory refuses a change of it")
    .option('--mail-nickname <nickname>', "az's argument; coffer's directory refuses a change of it")
    .action(
      run<{ id: string; password?: string; forceChangePasswordNextSignIn?: boolean; displayName?: string; accountEnabled?: boolean; mailNickname?: string }>(async (o, s) => {
        // As az's update_user: only what is given goes in the body (an empty one too); the directory answers for the rest.
        const body: Record<string, unknown> = {};
        if (o.displayName !== undefined) body.displayName = o.displayName;
        if (o.accountEnabled !== undefined) body.accountEnabled = o.accountEnabled;
        if (o.mailNickname !== undefined) body.mailNickname = o.mailNickname;
        const passwordProfile: Record<string, unknown> = {};
        if (o.password !== undefined) passwordProfile.password = o.password;
        if (o.forceChangePasswordNextSignIn !== undefined) passwordProfile.forceChangePasswordNextSignIn = o.forceChangePasswordNextSignIn;
        if (Object.keys(passwordProfile).length > 0) body.passwordProfile = passwordProfile;
        await s.call('PATCH', userUrl(s, o.id), s.managementResource, body);
        return undefined;
      }),
    );
  withOutput(user.command('delete').description('Delete a user (their role assignments go with them).'))
    .requiredOption('--id <upn-or-object-id>', 'user principal name or object id')
    .action(
      run<{ id: string }>(async (o, s) => {
        await s.call('DELETE', userUrl(s, o.id), s.managementResource);
        return undefined;
      }),
    );

  registerAdGroupCommands(ad);
  registerAdAppCommands(ad);
}
