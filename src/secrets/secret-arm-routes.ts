import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Authorizer } from '../authorization/authorizer.js';
import { secretScope, vaultScope } from '../authorization/scopes.js';
import { armCursor, armNextLink, asArm, bodyObject, parseTop, subscriptionChecker, type ArmRequest } from '../server/arm-common.js';
import { errors, ServiceError } from '../server/errors.js';
import { requireCaller } from '../server/request-context.js';
import type { Urls } from '../server/urls.js';
import { StoreParentGoneError, type SecretVersionMeta, type VaultRow } from '../storage/store-types.js';
import { checkVaultName } from '../vaults/vault-input.js';
import type { VaultService } from '../vaults/vault-service.js';
import type { SecretService } from './secret-service.js';
import { checkSecretName, parseSetSecret, parseUpdateSecret, type SetSecretInput } from './secret-validation.js';
import { versionAttributes } from './secret-wire.js';

// Secrets as Resource Manager shows them (Microsoft.KeyVault/vaults/secrets:
// Secrets_Get, Secrets_List, Secrets_CreateOrUpdate, Secrets_Update): a secret's latest
// version, never its value. Control-plane actions, whatever the vault's
// permission model, as in Azure: Reader sees the properties, and a holder of
// vaults/secrets/write (Contributor, Key Vault Contributor) may set a value
// it can never read back, as templates (Bicep) do.

const SECRETS_PATH = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.KeyVault/vaults/:name/secrets';
const READ = 'Microsoft.KeyVault/vaults/secrets/read';
const WRITE = 'Microsoft.KeyVault/vaults/secrets/write';
const TYPE = 'Microsoft.KeyVault/vaults/secrets';
/** Secrets_List's page size when `$top` is absent, and its largest. */
const MAX_TOP = 25;

/** The resource Resource Manager shows for a secret's latest version (`vaultUri` as the data plane names the vault). */
function secretResource(vault: VaultRow, m: SecretVersionMeta, vaultUri: string) {
  const uri = `${vaultUri.replace(/\/$/, '')}/secrets/${m.name}`;
  const properties: Record<string, unknown> = { attributes: versionAttributes(m) };
  if (m.contentType !== null) properties.contentType = m.contentType;
  properties.secretUri = uri;
  properties.secretUriWithVersion = `${uri}/${m.version}`;
  return {
    id: secretScope(vault.subscriptionId, vault.resourceGroup, vault.name, m.name),
    name: m.name,
    type: TYPE,
    location: vault.location,
    tags: m.tags ?? {},
    properties,
  };
}

export function registerSecretArmRoutes(arm: FastifyInstance, deps: { subscriptionId: string; urls: Urls; authorizer: Authorizer; vaults: VaultService; secrets: SecretService }): void {
  const { authorizer, vaults, secrets, urls } = deps;
  const checkSubscription = subscriptionChecker(deps.subscriptionId);

  // The names checked first, then authorized at the URL's scope before anything is looked up, as the vault
  // routes are. The vault, the secret and the grant go into the request's audit record.
  async function vaultAt(req: ArmRequest, secret: string | null, action = READ): Promise<VaultRow> {
    checkSubscription(req.params.sub);
    const vaultName = await asArm(() => checkVaultName(req.params.name ?? ''));
    const scope = secret === null ? vaultScope(deps.subscriptionId, req.params.rg!, vaultName) : secretScope(deps.subscriptionId, req.params.rg!, vaultName, secret);
    const grant = await authorizer.authorizeManagement(requireCaller(req), action, scope);
    req.decision = { model: 'rbac', allowed: true, rbac: grant, policy: null };
    req.auditSecret = secret;
    const vault = await vaults.get(deps.subscriptionId, req.params.rg!, vaultName);
    // The grant was decided at the URL's resource group, which the stored row's must be, sealed.
    vaults.assertIntact(vault);
    req.vault = vault;
    return vault;
  }
  const asResource = (vault: VaultRow, m: SecretVersionMeta) => secretResource(vault, m, urls.vaultUri(vault.name));
  const notFound = (vault: VaultRow, name: string) => errors.resourceNotFound(TYPE, `${vault.name}/${name.slice(0, 127)}`, vault.resourceGroup);

  arm.get(SECRETS_PATH, async (req: ArmRequest) => {
    const vault = await vaultAt(req, null);
    const top = parseTop(req.query.$top, MAX_TOP);
    const page = await secrets.list(vault, top, await armCursor(req));
    const nextLink = armNextLink(req, urls.authority, top, page.next);
    return { value: page.items.map((s) => asResource(vault, s)), nextLink };
  });

  /** A new version; the vault purged (or deleted with soft delete off) since it was looked up is not found. */
  async function newVersion(req: ArmRequest, vault: VaultRow, name: string, input: SetSecretInput, auditStatus?: number): Promise<SecretVersionMeta> {
    try {
      return (await req.writeAudited((record) => secrets.set(vault, name, input, record?.()), auditStatus)).meta;
    } catch (err) {
      if (err instanceof StoreParentGoneError) throw errors.resourceNotFound('Microsoft.KeyVault/vaults', vault.name, vault.resourceGroup);
      throw err;
    }
  }

  /** The live secret's latest version, or Resource Manager's words for a secret that is not there. */
  async function latest(vault: VaultRow, name: string): Promise<SecretVersionMeta> {
    try {
      return await secrets.properties(vault, name);
    } catch (err) {
      if (err instanceof ServiceError && err.status < 500) throw notFound(vault, name);
      throw err;
    }
  }

  arm.get(`${SECRETS_PATH}/:secret`, async (req: ArmRequest) => {
    const name = await asArm(() => checkSecretName(req.params.secret ?? ''));
    const vault = await vaultAt(req, name);
    return asResource(vault, await latest(vault, name));
  });

  // Secrets_Update: what the patch leaves out keeps its value. With a value it is a new version that
  // carries the latest's content type, tags and attributes unless the patch names them; without one,
  // the latest version changes in place, as the data plane's UpdateSecret. A secret must exist.
  arm.patch(`${SECRETS_PATH}/:secret`, async (req: ArmRequest) => {
    const name = await asArm(() => checkSecretName(req.params.secret ?? ''));
    const vault = await vaultAt(req, name, WRITE);
    const body = bodyObject(req.body);
    const properties = bodyObject(body.properties);
    const patch = await asArm(() => parseUpdateSecret({ contentType: properties.contentType, attributes: properties.attributes, tags: body.tags }));
    const current = await latest(vault, name);
    if (properties.value === undefined) {
      return asResource(vault, await req.writeAudited((record) => secrets.update(vault, name, current.version, patch, record?.())));
    }
    const input = await asArm(() =>
      parseSetSecret({
        value: properties.value,
        contentType: patch.contentType !== undefined ? patch.contentType : current.contentType,
        tags: patch.tags !== undefined ? patch.tags : current.tags,
        attributes: { enabled: current.enabled, nbf: current.nbf, exp: current.exp, ...patch.attributes },
      }),
    );
    return asResource(vault, await newVersion(req, vault, name, input));
  });

  // A new version with the value given (required here; the data plane takes the rest of a secret's changes).
  arm.put(`${SECRETS_PATH}/:secret`, async (req: ArmRequest, reply: FastifyReply) => {
    const name = await asArm(() => checkSecretName(req.params.secret ?? ''));
    const vault = await vaultAt(req, name, WRITE);
    const body = bodyObject(req.body);
    const properties = bodyObject(body.properties);
    const input = await asArm(() => parseSetSecret({ value: properties.value, contentType: properties.contentType, attributes: properties.attributes, tags: body.tags }));
    const existed = await secrets.properties(vault, name).then(
      () => true,
      (err: unknown) => {
        if (err instanceof ServiceError && err.status === 404) return false;
        throw err;
      },
    );
    // The record travels with the write, so its status is the look-up's guess; the answer says what the
    // write did (the first version of a secret is its seq 1). When a concurrent PUT or purge made the guess
    // wrong, the answer's own status is recorded too (audit-hook's onSend).
    const meta = await newVersion(req, vault, name, input, existed ? 200 : 201);
    return reply.status(meta.seq === 1 ? 201 : 200).send(asResource(vault, meta));
  });
}
