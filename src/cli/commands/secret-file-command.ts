import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { CliError } from '../cli-error.js';
import { withOutput } from '../command-kit.js';
import { fileError } from '../py-os-error.js';
import { secretRun } from '../secret-errors.js';
import { ENCODINGS, fileBytesFromSecret, secretValueFromFile } from '../secret-encoding.js';
import { asSecret } from '../output-models.js';
import { dataUrl, secretRef, vaultOf, type SecretBundle, type SecretRefOptions } from '../secret-ref.js';

// Secrets and files: set --file, backup, restore, download, with az's encodings.

/** The value az stores for a file (see secret-encoding.ts) under one of ENCODINGS; az reads it in a validator (exit 2). */
export function readSecretFile(path: string, encoding: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw fileError(err, path, 2);
  }
  return secretValueFromFile(bytes, path, encoding);
}

/** A file's bytes, or az's error for it. */
function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw fileError(err, path);
  }
}

/** As az's backup_secret: the file is written over if it exists (and kept readable by its owner only). */
function writeOver(path: string, data: Buffer): void {
  try {
    writeFileSync(path, data, { mode: 0o600 });
    chmodSync(path, 0o600);
  } catch (err) {
    throw fileError(err, path);
  }
}

function writeNew(path: string, data: Buffer | string): void {
  if (existsSync(path)) throw new CliError(`File ${path} already exists. Please specify a different file path.`);
  try {
    // Secret material: readable by the owner only.
    writeFileSync(path, data, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw fileError(err, path);
  }
}

type WithRef = (cmd: Command, versioned?: boolean) => Command;

export function registerSecretFileCommands(secret: Command, withRef: WithRef): void {
  withRef(secret.command('backup').description('Back up a secret (all versions) to a file, sealed for this deployment.'))
    .requiredOption('-f, --file <path>', 'file to write (written over if it exists)')
    .action(
      secretRun<SecretRefOptions & { file: string }>(async (o, s) => {
        const ref = secretRef(s, o);
        const { value } = await s.call<{ value: string }>('POST', dataUrl(s, ref.vault, `/secrets/${encodeURIComponent(ref.name)}/backup`), s.vaultResource);
        writeOver(o.file, Buffer.from(value, 'base64url'));
        return undefined;
      }),
    );

  withOutput(
    secret
      .command('restore')
      .description('Restore a secret from a backup file.')
      .option('--vault-name <vault>', 'vault name')
      .option('--id <url>', 'vault URL (instead of --vault-name)')
      .requiredOption('-f, --file <path>', 'backup file'),
  )
    .action(
      secretRun<{ vaultName?: string; id?: string; file: string }>(async (o, s) => {
        const vault = vaultOf(s, o);
        const blob = readBytes(o.file);
        return asSecret('bundle', await s.call<SecretBundle>('POST', dataUrl(s, vault, '/secrets/restore'), s.vaultResource, { value: blob.toString('base64url') }));
      }),
    );

  withRef(secret.command('download').description("Download a secret's value to a file."), true)
    .requiredOption('-f, --file <path>', 'file to write (must not exist)')
    .addOption(new Option('-e, --encoding <encoding>', "base64 and hex decode to binary, the others write the value as UTF-8 text (default: the secret's file-encoding tag, else utf-8)").choices(ENCODINGS))
    .action(
      secretRun<SecretRefOptions & { file: string; encoding?: string }>(async (o, s) => {
        const ref = secretRef(s, o);
        // az checks before it fetches the secret.
        if (existsSync(o.file)) throw new CliError(`File or directory named '${o.file}' already exists.`);
        const path = `/secrets/${encodeURIComponent(ref.name)}${ref.version ? `/${ref.version}` : ''}`;
        const { value = '', tags } = await s.call<SecretBundle>('GET', dataUrl(s, ref.vault, path), s.vaultResource);
        // As az: without --encoding, the encoding `secret set --file` recorded in the file-encoding tag.
        // Decoded before the file is made: a value that does not decode leaves no file behind.
        writeNew(o.file, fileBytesFromSecret(value, o.encoding ?? tags?.['file-encoding'] ?? 'utf-8'));
        return undefined;
      }),
    );
}
