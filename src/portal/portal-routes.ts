import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Urls } from '../server/urls.js';
import { PORTAL_CLIENT_ID } from '../identity/identity-types.js';

// Serves the web portal (a static React build in dist/portal) on the bare
// host under /portal/, plus the few deployment facts it needs to sign in.
// Files are read once at start: the build is small and immutable.

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface Asset {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/**
 * Whether the folder holds Vite's build of the portal, whose index.html loads
 * its script from assets/, and not the portal's sources (portal/index.html
 * loads /src/main.tsx, which only Vite's dev server can serve).
 */
export function isPortalBuild(dir: string): boolean {
  const index = join(dir, 'index.html');
  if (!existsSync(index) || !existsSync(join(dir, 'assets'))) return false;
  return /<script[^>]*\ssrc="[^"]*\/assets\/[^"]+\.js"/.test(readFileSync(index, 'utf8'));
}

/**
 * The build folder, dist/portal, from this module's folder: dist/src/portal
 * when built, src/portal when run from sources (tsx), where ../../portal is
 * the portal's sources.
 */
export function findPortalBuild(moduleDir = import.meta.dirname): string | null {
  const candidates = [resolve(moduleDir, '..', '..', 'portal'), resolve(moduleDir, '..', '..', 'dist', 'portal')];
  return candidates.find(isPortalBuild) ?? null;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const file = join(folder, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const path = relative(dir, file).split(sep).join('/');
        // Vite names built assets by content hash, so they never change.
        assets.set(path, { body: readFileSync(file), type: TYPES[extname(name)] ?? 'application/octet-stream', immutable: path.startsWith('assets/') });
      }
    }
  };
  walk(dir);
  return assets;
}

export function registerPortalRoutes(app: FastifyInstance, deps: { urls: Urls; tenantId: string; subscriptionId: string; buildDir: string | null }): void {
  const assets = deps.buildDir ? loadAssets(deps.buildDir) : new Map<string, Asset>();
  const vaultOrigins = `https://*.${deps.urls.vaultDnsSuffix}${new URL(deps.urls.authority).port ? `:${new URL(deps.urls.authority).port}` : ''}`;
  const csp = [
    "default-src 'self'",
    `connect-src 'self' ${vaultOrigins}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

  const send = (reply: FastifyReply, asset: Asset) =>
    reply
      .header('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('Content-Security-Policy', csp)
      .header('X-Content-Type-Options', 'nosniff')
      .header('X-Frame-Options', 'DENY')
      .header('Referrer-Policy', 'no-referrer')
      // A page the portal links to cannot reach back through window.opener (reverse tabnabbing), nor the portal into it.
      .header('Cross-Origin-Opener-Policy', 'same-origin')
      .type(asset.type)
      .send(asset.body);

  const config = {
    tenantId: deps.tenantId,
    subscriptionId: deps.subscriptionId,
    authority: deps.urls.authority,
    managementResource: deps.urls.managementEndpoint,
    vaultResource: deps.urls.vaultResource,
    vaultDnsSuffix: deps.urls.vaultDnsSuffix,
    clientId: PORTAL_CLIENT_ID,
  };

  app.get('/', async (_req, reply) => reply.redirect('/portal/', 302));
  app.get('/portal/config.json', async (_req, reply) => reply.header('Cache-Control', 'no-cache').send(config));
  const serve = async (req: FastifyRequest, reply: FastifyReply) => {
    const index = assets.get('index.html');
    if (!index) {
      return reply.status(404).type('text/plain; charset=utf-8').send('The portal is not built. Run `npm run build` (npm ci does it).');
    }
    const path = req.url.split('?')[0]!.replace(/^\/portal\/?/i, '');
    let name: string;
    try {
      name = decodeURIComponent(path);
    } catch {
      return reply.status(400).type('text/plain; charset=utf-8').send('Bad request');
    }
    // Files are looked up by name in memory: no path ever reaches the file system.
    const asset = assets.get(name);
    if (asset) return send(reply, asset);
    // Missing files under assets/ are real 404s; every other path is a portal page.
    if (path.startsWith('assets/')) return reply.status(404).type('text/plain; charset=utf-8').send('Not found');
    return send(reply, index);
  };
  // '/portal' and '/portal/' (trailing slashes are ignored), then every path under it.
  app.get('/portal', serve);
  app.get('/portal/*', serve);
}
