import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { run } from '../command-kit.js';
import { azSecret, dataUrl, secretRef, type SecretBundle, type SecretRefOptions } from '../secret-ref.js';

// Secrets and files: set --file, backup, restore, download, with az's encodings.

const ENCODINGS = ['utf-8', 'base64', 'hex', 'ascii'];

function checkEncoding(encoding: string): string {
  if (!ENCODINGS.includes(encoding)) throw new CliError(`argument --encoding/-e: invalid choice: '${encoding}' (choose from ${ENCODINGS.map((e) => `'${e}'`).join(', ')})`, undefined, 2);
  return encoding;
}

/** The value az stores for a file: text as is; binary as base64 or hex text. */
export function readSecretFile(path: string, encoding: string): string {
  checkEncoding(encoding);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
  if (encoding === 'base64') return bytes.toString('base64');
  if (encoding === 'hex') return bytes.toString('hex');
  return bytes.toString(encoding === 'ascii' ? 'ascii' : 'utf8');
}

function writeNew(path: string, data: Buffer | string): void {
  if (existsSync(path)) throw new CliError(`File ${path} already exists. Please specify a different file path.`);
  // Secret material: readable by the owner only.
  writeFileSync(path, data, { mode: 0o600, flag: 'wx' });
}

type WithRef = (cmd: Command, versioned?: boolean) => Command;

export function registerSecretFileCommands(secret: Command, withRef: WithRef): void {
  withRef(secret.command('backup').description('Back up a secret (all versions) to a file, sealed for this deployment.'))
    .requiredOption('-f, --file <path>', 'file to write (must not exist)')
    .action(
      run<SecretRefOptions & { file: string }>(async (o, s) => {
        const ref = secretRef(o);
        const { value } = await s.call<{ value: string }>('POST', dataUrl(s, ref.vault, `/secrets/${encodeURIComponent(ref.name)}/backup`), s.vaultResource);
        writeNew(o.file, Buffer.from(value, 'base64url'));
        return undefined;
      }),
    );

  secret
    .command('restore')
    .description('Restore a secret from a backup file.')
    .requiredOption('--vault-name <vault>', 'vault name')
    .requiredOption('-f, --file <path>', 'backup file')
    .option('-o, --output <format>', 'output format')
    .option('--query <jmespath>', 'JMESPath query')
    .action(
      run<{ vaultName: string; file: string }>(async (o, s) => {
        let blob: Buffer;
        try {
          blob = readFileSync(o.file);
        } catch (err) {
          throw new CliError(`cannot read ${o.file}: ${(err as NodeJS.ErrnoException).code}`);
        }
        return azSecret(await s.call<SecretBundle>('POST', dataUrl(s, o.vaultName, '/secrets/restore'), s.vaultResource, { value: blob.toString('base64url') }));
      }),
    );

  withRef(secret.command('download').description("Download a secret's value to a file."), true)
    .requiredOption('-f, --file <path>', 'file to write (must not exist)')
    .option('-e, --encoding <encoding>', "utf-8, base64 (decode to binary), hex (decode to binary) or ascii (default: the secret's file-encoding tag, else utf-8)")
    .action(
      run<SecretRefOptions & { file: string; encoding?: string }>(async (o, s) => {
        const ref = secretRef(o);
        if (o.encoding !== undefined) checkEncoding(o.encoding);
        // az checks before it fetches the secret.
        if (existsSync(o.file)) throw new CliError(`File or directory named '${o.file}' already exists.`);
        const path = `/secrets/${encodeURIComponent(ref.name)}${ref.version ? `/${ref.version}` : ''}`;
        const { value = '', tags } = await s.call<SecretBundle>('GET', dataUrl(s, ref.vault, path), s.vaultResource);
        // As az: without --encoding, the encoding `secret set --file` recorded in the file-encoding tag.
        const encoding = checkEncoding(o.encoding ?? tags?.['file-encoding'] ?? 'utf-8');
        const data = encoding === 'base64' ? Buffer.from(value, 'base64') : encoding === 'hex' ? Buffer.from(value, 'hex') : Buffer.from(value, encoding === 'ascii' ? 'ascii' : 'utf8');
        writeNew(o.file, data);
        return undefined;
      }),
    );
}
