#!/usr/bin/env node
// The one test command (`npm test`, called by .ci/run). It installs the system
// packages the tests drive (idempotently), builds, makes a test CA that every
// test server and client trusts, then runs every test/*.test.ts file with
// Node's test runner, which ends with its pass/fail counts.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const tmp = join(root, '.test-tmp');
mkdirSync(tmp, { recursive: true });

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with ${r.status}`);
}

function has(check) {
  return spawnSync('sh', ['-c', check], { stdio: 'ignore' }).status === 0;
}

// System packages from Debian, installed only when missing.
const debianPackages = [
  { pkg: 'python3-azure', check: '/usr/bin/python3 -c "import azure.keyvault.secrets, azure.identity"' },
  { pkg: 'azure-cli', check: 'test -x /usr/bin/az' },
  { pkg: 'mariadb-server', check: 'test -x /usr/sbin/mariadbd' },
  { pkg: 'postgresql', check: 'ls /usr/lib/postgresql/*/bin/postgres' },
  // The portal's browser tests drive Debian's Chromium through playwright-core.
  { pkg: 'chromium', check: 'test -x /usr/bin/chromium' },
];
const missing = debianPackages.filter((p) => !has(p.check)).map((p) => p.pkg);
if (missing.length > 0) {
  if (process.getuid?.() !== 0) {
    console.error(`missing system packages (${missing.join(', ')}); run as root or install them with apt-get`);
    process.exit(1);
  }
  console.log(`installing ${missing.join(', ')} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  sh('apt-get', ['update', '-qq'], { env });
  sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

// The server (tsc) and the portal (Vite).
sh('npm', ['run', 'build', '--silent'], { cwd: root });
// The tests and the portal are TypeScript too: typecheck them with the sources.
sh('npx', ['tsc', '-p', 'tsconfig.test.json'], { cwd: root });
sh('npx', ['tsc', '-p', 'portal/tsconfig.json'], { cwd: root });

// One CA for the whole run: servers issue their certificates from it. Its name
// constraints permit localhost, loopback and the one other address a test serves at.
const caDir = join(tmp, 'ca');
execFileSync(process.execPath, [
  '--input-type=module',
  '-e',
  `const m = await import(${JSON.stringify(join(root, 'dist/src/tls/certificates.js'))});
   await m.ensureTlsMaterial({ caDir: ${JSON.stringify(caDir)}, certDir: ${JSON.stringify(join(tmp, 'ca-probe'))}, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '2001:db8::10'] });`,
]);
const systemBundle = '/etc/ssl/certs/ca-certificates.crt';
const bundle = join(tmp, 'ca-bundle.pem');
writeFileSync(bundle, (existsSync(systemBundle) ? readFileSync(systemBundle, 'utf8') : '') + '\n' + readFileSync(join(caDir, 'ca.pem'), 'utf8'));

// az builds its command index at its first run in a profile (about 1.6 s of CPU, the rest of its runs about 0.5 s):
// the tests' fresh profiles start with the one built here (test/support/az-cli.ts). az builds it again if it is stale.
const azTemplate = join(tmp, 'az-template');
if (!existsSync(join(azTemplate, 'commandIndex.json'))) {
  spawnSync('/usr/bin/az', ['cloud', 'list', '-o', 'none'], { stdio: 'ignore', env: { ...process.env, AZURE_CONFIG_DIR: azTemplate, AZURE_CORE_COLLECT_TELEMETRY: 'false' } });
}

const files = readdirSync(join(root, 'test'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => !process.env.TEST_ONLY || process.env.TEST_ONLY.split(',').some((only) => f.includes(only)))
  .sort()
  .map((f) => join('test', f));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const env = {
  ...process.env,
  // Node adds these to its own CAs (only the run's CA is needed: each process parses every certificate the file
  // holds as it first makes a TLS client, about 40 ms for the system's list); Python's requests takes its list whole.
  NODE_EXTRA_CA_CERTS: join(caDir, 'ca.pem'),
  REQUESTS_CA_BUNDLE: bundle,
  COFFER_TEST_CA_DIR: caDir,
  COFFER_TEST_CA_BUNDLE: bundle,
  COFFER_TEST_AZ_TEMPLATE: azTemplate,
};
// Two files at a time on two cores. Three took 10 % less time (1,131 s against 1,249 s in session 39), but
// the busier machine failed two timing-bound tests; TEST_CONCURRENCY overrides it.
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--import', './test/support/loopback-dns.ts', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=./scripts/duration-reporter.mjs', `--test-reporter-destination=${join(tmp, 'durations.txt')}`, ...files],
  { cwd: root, env, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
