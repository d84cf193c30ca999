import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { API, withOutput } from '../command-kit.js';
import { createHttpClient } from '../http-client.js';
import { checkOutputOptions, print } from '../output.js';
import { deleteProfile, readProfile, writeProfile, type Profile } from '../profile.js';
import { promptHidden } from '../prompt.js';
import { listedAccount, tenantLevelAccount, type Subscription } from '../accounts.js';
import { loginForm, parseAnswer, PUBLIC_CLIENT_ID, requestToken, tokenEndpoint, userLoginForm, type TokenAnswer } from '../session.js';
import type { HttpClient } from '../http-client.js';

// coffer login / logout, with az's flags (account commands: account-command.ts).

interface LoginOptions {
  servicePrincipal?: boolean;
  username?: string;
  password?: string;
  tenant?: string;
  server?: string;
  caFile?: string;
  bootstrap?: string;
  useDeviceCode?: boolean;
  useCertSnIssuer?: boolean;
  federatedToken?: string;
  allowNoSubscriptions?: boolean;
  output?: string;
  query?: string;
}

const DEFAULT_SERVER = 'https://localhost:8443';

async function login(opts: LoginOptions) {
  // As az signs in again to the cloud it last used: the server (and its CA file) of the last login, unless told another.
  const named = opts.server ?? (process.env.COFFER_SERVER || undefined);
  const last = named === undefined ? readProfile() : null;
  let server = (named ?? last?.server ?? DEFAULT_SERVER).replace(/\/+$/, '');
  // Stored in the profile: absolute, so commands run from another directory still find it.
  let caFile = opts.caFile ?? process.env.COFFER_CA_FILE ?? last?.caFile;
  if (caFile) caFile = resolve(caFile);
  let { username, password, tenant } = opts;
  let servicePrincipal = opts.servicePrincipal ?? false;
  if (opts.bootstrap) {
    const b = JSON.parse(readFileSync(opts.bootstrap, 'utf8')) as { authorityHost: string; tenantId: string; clientId: string; clientSecret: string | null; caCertFile: string };
    if (!b.clientSecret) throw new CliError(`${opts.bootstrap} holds no client secret`);
    server = opts.server ?? b.authorityHost;
    caFile ??= resolve(dirname(opts.bootstrap), b.caCertFile);
    tenant ??= b.tenantId;
    username ??= b.clientId;
    password ??= b.clientSecret;
    servicePrincipal = true;
  }
  // az's argument checks (profile/custom.py login), each a CLIError: exit 1.
  if (opts.useDeviceCode && (password || servicePrincipal || username)) throw new CliError("usage error: '--use-device-code' is not applicable with other arguments");
  if (opts.useCertSnIssuer && !servicePrincipal) throw new CliError("usage error: '--use-sn-issuer' is only applicable with a service principal");
  if (servicePrincipal && !username) throw new CliError('usage error: --service-principal --username NAME --password SECRET --tenant TENANT');
  if (username && !password && !opts.federatedToken) {
    if (!process.stdin.isTTY) throw new CliError('Please specify both username and password in non-interactive mode.');
    password = await promptHidden('Password: ');
  }
  // Without a username az signs in interactively (a browser, or a device code where none opens): here, a device code.
  const useDeviceCode = !username;
  const http = createHttpClient(caFile);
  if (!tenant) {
    // Like az, learn the tenant from the server when none is given.
    const res = await http.send('GET', `${server}/metadata/endpoints?api-version=2022-09-01`);
    if (res.status !== 200) throw new CliError('--tenant is required: the server did not describe itself');
    const discovery = await http.send('GET', `${server}/organizations/v2.0/.well-known/openid-configuration`);
    tenant = /\/([0-9a-f-]{36})\/v2\.0$/i.exec(discovery.json<{ issuer: string }>().issuer)?.[1];
    if (!tenant) throw new CliError('--tenant is required');
  }
  const scope = `${server}/.default`;
  const spLogin: Profile['login'] | null = servicePrincipal ? servicePrincipalLogin(username!, password, opts.useCertSnIssuer === true, opts.federatedToken) : null;
  const answer = useDeviceCode
    ? await deviceCodeLogin(http, server, tenant, scope)
    : spLogin
      ? await requestToken(http, server, tenant, await loginForm(spLogin, scope, tokenEndpoint(server, tenant)))
      : await requestToken(http, server, tenant, userLoginForm(username!, password!, scope));
  if (useDeviceCode) username = JSON.parse(Buffer.from(answer.access_token.split('.')[1]!, 'base64url').toString()).upn as string;
  const now = Math.floor(Date.now() / 1000);
  const metadata = parseAnswer<Array<{ suffixes: { keyVaultDns: string } }>>(await http.send('GET', `${server}/metadata/endpoints?api-version=2022-09-01`));
  const suffix = metadata[0]!.suffixes.keyVaultDns.replace(/^\./, '').replace(/:\d+$/, '');
  const subscriptions = parseAnswer<{ value: Subscription[] }>(
    await http.send('GET', `${server}/subscriptions?api-version=${API.resources}`, { headers: { authorization: `Bearer ${answer.access_token}` } }),
  ).value;
  // As az: with --allow-no-subscriptions, an identity that sees none gets a tenant-level account named after the tenant.
  const sub = subscriptions[0] ?? (opts.allowNoSubscriptions ? tenantLevelAccount(tenant) : undefined);
  if (!sub) throw new CliError(`No subscriptions found for ${username}.`);
  const profile: Profile = {
    server,
    tenantId: tenant,
    subscriptionId: sub.subscriptionId,
    vaultDnsSuffix: suffix,
    caFile,
    login: spLogin
      ? spLogin
      : { type: 'user', username: username!, clientId: PUBLIC_CLIENT_ID, refreshToken: answer.refresh_token ?? '' },
    tokens: { [server]: { token: answer.access_token, expiresOn: now + answer.expires_in } },
  };
  writeProfile(profile);
  // az login prints its accounts with environmentName renamed cloudName (profile/custom.py login); only the first is the default.
  return (subscriptions.length > 0 ? subscriptions : [sub]).map((s, i) => {
    return listedAccount(profile, s, i === 0);
  });
}

/**
 * As az 2.45's ServicePrincipalAuth.build_credential: a -p naming an existing file (after ~ is expanded) is a PEM
 * certificate with its private key, and the profile keeps its path (absolute here, so that a command run from
 * another folder finds it); anything else is a client secret. Without -p, the --federated-token (kept as az keeps it).
 */
function servicePrincipalLogin(clientId: string, secretOrCertificate: string | undefined, useCertSnIssuer: boolean, federatedToken: string | undefined): Profile['login'] {
  // As build_credential: a secret or certificate first, else the federated token.
  if (secretOrCertificate === undefined) return { type: 'servicePrincipal', clientId, clientAssertion: federatedToken ?? '' };
  const expanded = secretOrCertificate.replace(/^~(?=$|\/)/, homedir());
  let isFile = false;
  try {
    isFile = statSync(expanded).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) return { type: 'servicePrincipal', clientId, clientSecret: secretOrCertificate };
  return { type: 'servicePrincipal', clientId, certificatePath: resolve(expanded), ...(useCertSnIssuer ? { useCertSnIssuer: true } : {}) };
}

/** The device authorization grant: show the code, then poll until a person signs in. */
async function deviceCodeLogin(http: HttpClient, server: string, tenant: string, scope: string): Promise<TokenAnswer> {
  const start = parseAnswer<{ device_code: string; message: string; interval: number; expires_in: number }>(
    await http.send('POST', `${server}/${tenant}/oauth2/v2.0/devicecode`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: PUBLIC_CLIENT_ID, scope: `${scope} openid profile offline_access` }).toString(),
    }),
  );
  process.stderr.write(`${start.message}\n`);
  const deadline = Date.now() + start.expires_in * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, start.interval * 1000));
    try {
      return await requestToken(http, server, tenant, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: PUBLIC_CLIENT_ID, device_code: start.device_code });
    } catch (err) {
      if (!(err instanceof CliError) || err.code !== 'authorization_pending') throw err;
    }
  }
  throw new CliError('The device code expired before anyone signed in.', 'expired_token');
}

export function registerLoginCommands(program: Command): void {
  withOutput(
    program
      .command('login')
      .description('Log in to a coffer server.')
      .option('--service-principal', 'log in as a service principal (-u is its appId, -p its client secret or PEM certificate file)')
      .option('-u, --username <name>', 'user principal name, or the appId with --service-principal')
      .option('-p, --password <secret>', 'password, or with --service-principal the client secret or the path of a PEM file with the certificate and its private key')
      .option('--federated-token <token>', "with --service-principal: an external identity provider's token (a CI job's OIDC token) that a federated identity credential of the application trusts")
      .option('--use-cert-sn-issuer', 'with a certificate: send it (x5c) with each client assertion, for subject name / issuer authentication')
      .option('-t, --tenant <tenant>', 'tenant id')
      .option('--server <url>', `coffer server (env COFFER_SERVER; default ${DEFAULT_SERVER})`)
      .option('--ca-file <file>', 'CA certificate to trust (env COFFER_CA_FILE)')
      .option('--bootstrap <file>', "log in as the administrator from a server's bootstrap.json")
      .option('--use-device-code', 'sign in with a code entered in a browser (for people)')
      .option('--allow-no-subscriptions', 'log in even when the identity sees no subscription (a tenant-level account)')
      .addHelpText('after', '\nExamples:\n  coffer login --service-principal -u APP_ID -p SECRET --tenant TENANT_ID\n  coffer login --service-principal -u APP_ID -p ~/cert.pem --tenant TENANT_ID\n  coffer login --service-principal -u APP_ID --federated-token \"$JWT\" --tenant TENANT_ID\n  coffer login -u alice@example.com -p PASSWORD\n  coffer login -u alice@example.com   (asks for the password)\n  coffer login   (a device code, as --use-device-code)\n  coffer login --bootstrap ./data/bootstrap.json'),
  ).action(async (opts: LoginOptions) => {
    checkOutputOptions(opts);
    print(await login(opts), opts);
  });

  program
    .command('logout')
    .description('Log out: forget the profile and its cached tokens.')
    .action(() => {
      if (!deleteProfile()) throw new CliError('There are no active accounts.');
    });
}
