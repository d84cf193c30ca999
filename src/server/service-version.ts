import { readFileSync } from 'node:fs';

// coffer's version, from its package.json (found upwards from this module:
// src/server under tsx, dist/src/server once built), for the
// x-ms-keyvault-service-version header Key Vault sends on every answer.

function readVersion(): string {
  let dir = new URL('.', import.meta.url);
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'coffer' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: look further up
    }
    const parent = new URL('..', dir);
    if (parent.href === dir.href) return '0.0.0';
    dir = parent;
  }
}

export const SERVICE_VERSION = readVersion();
