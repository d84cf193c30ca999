import type { SecretClient } from '@azure/keyvault-secrets';

// Each secrets operation as one HTTP call with a caller's real token, plus
// the admin steps that put the vault back in shape after an allowed
// destructive call. Every operation names its own secret, so a grant on
// "the secret itself" can be tested for each one.

export type OpName = 'get' | 'set' | 'list' | 'versions' | 'update' | 'delete' | 'getDeleted' | 'listDeleted' | 'recover' | 'purge' | 'backup' | 'restore';
export const OPS: OpName[] = ['get', 'set', 'list', 'versions', 'update', 'delete', 'getDeleted', 'listDeleted', 'recover', 'purge', 'backup', 'restore'];

/** The secret an operation names (null: it acts on the vault). */
export const SECRET_OF: Record<OpName, string | null> = {
  get: 's-get',
  set: 's-set',
  list: null,
  versions: 's-versions',
  update: 's-update',
  delete: 's-delete',
  getDeleted: 's-getdeleted',
  listDeleted: null,
  recover: 's-recover',
  purge: 's-purge',
  backup: 's-backup',
  restore: null,
};

export interface OpContext {
  vaultUrl: string;
  admin: SecretClient;
  restoreBlob: string;
}

export async function prepareVault(ctx: Omit<OpContext, 'restoreBlob'>): Promise<OpContext> {
  for (const name of ['s-get', 's-set', 's-versions', 's-update', 's-delete', 's-getdeleted', 's-recover', 's-purge', 's-backup', 'other']) {
    await ctx.admin.setSecret(name, `value of ${name}`);
  }
  for (const name of ['s-getdeleted', 's-recover', 's-purge']) await (await ctx.admin.beginDeleteSecret(name)).pollUntilDone();
  await ctx.admin.setSecret('restore-me', 'restorable');
  const blob = Buffer.from((await ctx.admin.backupSecret('restore-me'))!).toString('base64url');
  await (await ctx.admin.beginDeleteSecret('restore-me')).pollUntilDone();
  await ctx.admin.purgeDeletedSecret('restore-me');
  return { ...ctx, restoreBlob: blob };
}

const REQUEST: Record<OpName, (ctx: OpContext) => { method: string; path: string; body?: unknown }> = {
  get: () => ({ method: 'GET', path: '/secrets/s-get' }),
  set: () => ({ method: 'PUT', path: '/secrets/s-set', body: { value: 'new' } }),
  list: () => ({ method: 'GET', path: '/secrets' }),
  versions: () => ({ method: 'GET', path: '/secrets/s-versions/versions' }),
  update: () => ({ method: 'PATCH', path: '/secrets/s-update', body: { tags: { touched: 'yes' } } }),
  delete: () => ({ method: 'DELETE', path: '/secrets/s-delete' }),
  getDeleted: () => ({ method: 'GET', path: '/deletedsecrets/s-getdeleted' }),
  listDeleted: () => ({ method: 'GET', path: '/deletedsecrets' }),
  recover: () => ({ method: 'POST', path: '/deletedsecrets/s-recover/recover' }),
  purge: () => ({ method: 'DELETE', path: '/deletedsecrets/s-purge' }),
  backup: () => ({ method: 'POST', path: '/secrets/s-backup/backup' }),
  restore: (ctx) => ({ method: 'POST', path: '/secrets/restore', body: { value: ctx.restoreBlob } }),
};

/** Puts back what an allowed destructive operation changed. */
const RESET: Partial<Record<OpName, (admin: SecretClient) => Promise<void>>> = {
  delete: async (a) => void (await (await a.beginRecoverDeletedSecret('s-delete')).pollUntilDone()),
  recover: async (a) => void (await (await a.beginDeleteSecret('s-recover')).pollUntilDone()),
  purge: async (a) => {
    await a.setSecret('s-purge', 'again');
    await (await a.beginDeleteSecret('s-purge')).pollUntilDone();
  },
  restore: async (a) => {
    await (await a.beginDeleteSecret('restore-me')).pollUntilDone();
    await a.purgeDeletedSecret('restore-me');
  },
};

export async function runOp(ctx: OpContext, op: OpName, token: string, opts: { reset?: boolean } = {}): Promise<{ status: number; error?: { code: string; message: string; innererror?: { code: string } } }> {
  const { method, path, body } = REQUEST[op](ctx);
  const res = await fetch(`${ctx.vaultUrl}${path}?api-version=7.6`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as { error?: { code: string; message: string; innererror?: { code: string } } }) : {};
  if (res.status < 300 && opts.reset !== false) await RESET[op]?.(ctx.admin);
  return { status: res.status, error: parsed.error };
}
