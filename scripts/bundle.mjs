#!/usr/bin/env node
// Links the compiled program (dist/src, from tsc) into a few files (dist/bundle/app) that bin/coffer.js runs:
// a start then reads a handful of files instead of resolving and reading some 900 modules, which took more than
// a third of every command's and every server start's time. Each command's and the server thread's own code
// stays in chunks of its own, loaded when it runs. tsc stays the type checker and the source of the source
// maps, which the bundle's maps point through to the TypeScript.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
// Two folders below dist, as dist/src/portal is: the portal's build is found at ../../portal from either.
const outdir = join(root, 'dist', 'bundle', 'app');
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: [join(root, 'dist/src/cli/main.js'), join(root, 'dist/src/cli/commands/server-thread-main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  // Whitespace and syntax only (names are kept, for stack traces): V8 keeps every script's source in the heap,
  // and the parse is shorter (4.4 MB of source become 3.1).
  minifyWhitespace: true,
  minifySyntax: true,
  // A native addon, a driver loaded only for a database URL (and its optional native half), and the
  // connector's clients: found in node_modules as before.
  external: ['better-sqlite3', 'pg', 'pg-native', 'mysql2', '@azure/*'],
  // CommonJS dependencies call require(): an ES module has none of its own.
  banner: { js: "import { createRequire as __cofferCreateRequire } from 'node:module'; const require = __cofferCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
