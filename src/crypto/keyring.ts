import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { IntegrityError, open, seal } from './envelope.js';

// The master keyring lives outside the database: a 0600 JSON file in the data
// dir, or keys supplied through the environment. A key's id is derived from
// the key itself, so the same key has the same id wherever it comes from.

export interface Keyring {
  readonly primaryId: string;
  has(id: string): boolean;
  /** Wraps with the primary key; returns the sealed blob and the key id used. */
  wrap(plaintext: Buffer, aad: string): { sealed: Buffer; keyId: string };
  unwrap(keyId: string, sealed: Buffer, aad: string): Buffer;
  ids(): string[];
}

interface KeyringFile {
  primary: string;
  keys: Record<string, string>;
}

export const keyIdOf = (key: Buffer): string =>
  createHash('sha256').update('coffer-master-key-id').update(key).digest('hex').slice(0, 16);

/** 32 bytes in base64 (standard or URL-safe alphabet), with or without its padding. */
const STRICT_BASE64_32 = /^(?:[A-Za-z0-9+/]{43}=?|[A-Za-z0-9_-]{43})$/;

export function parseMasterKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  // Strictly: Node's base64 decoder skips characters outside the alphabet, so 43 letters of a password would pass.
  const hex = /^[0-9a-fA-F]{64}$/.test(trimmed);
  const key = hex ? Buffer.from(trimmed, 'hex') : STRICT_BASE64_32.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new Error(`${origin}: a master key must be 32 bytes, given as 64 hex digits or base64`);
  }
  // 32 random bytes hold about 30 distinct values; fewer than 16 happens by chance about never, and is text or a pattern.
  if (new Set(key).size < 16) throw new Error(`${origin}: the master key does not look random; generate one with \`openssl rand -base64 32\``);
  return key;
}

export function createKeyring(primary: Buffer, others: Buffer[] = []): Keyring {
  const keys = new Map<string, Buffer>();
  for (const k of [primary, ...others]) keys.set(keyIdOf(k), k);
  const primaryId = keyIdOf(primary);
  const keyFor = (id: string): Buffer => {
    const key = keys.get(id);
    if (!key) throw new IntegrityError(`master key ${id} is not in the keyring`);
    return key;
  };
  return {
    primaryId,
    has: (id) => keys.has(id),
    wrap: (plaintext, aad) => ({ sealed: seal(keyFor(primaryId), plaintext, aad), keyId: primaryId }),
    unwrap: (id, sealed, aad) => open(keyFor(id), sealed, aad),
    ids: () => [...keys.keys()],
  };
}

function writeKeyringFile(file: string, primary: Buffer, others: Buffer[]): void {
  const body: KeyringFile = { primary: keyIdOf(primary), keys: {} };
  for (const k of [primary, ...others]) body.keys[keyIdOf(k)] = k.toString('base64');
  // Durable before it returns: a rotation's commits that depend on the new key follow at once.
  writeFileAtomic(file, JSON.stringify(body, null, 2) + '\n');
}

function readKeyringFile(file: string): { primary: Buffer; others: Buffer[] } {
  let parsed: KeyringFile;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyringFile;
  } catch (err) {
    throw new Error(`master key file ${file} is unreadable: ${(err as Error).message}`);
  }
  const entries = Object.entries(parsed.keys ?? {}).map(([id, b64]) => {
    const key = parseMasterKey(b64, `master key file ${file}`);
    if (keyIdOf(key) !== id) throw new Error(`master key file ${file}: key ${id} does not match its id`);
    return key;
  });
  const primary = entries.find((k) => keyIdOf(k) === parsed.primary);
  if (!primary) throw new Error(`master key file ${file}: primary key ${parsed.primary} is missing`);
  return { primary, others: entries.filter((k) => k !== primary) };
}

export interface KeyringSource {
  /** A master key given directly (env or flag); takes precedence over the file. */
  masterKey?: string;
  /** Older keys still needed to unwrap data not yet rewrapped. */
  previousKeys?: string[];
  file: string;
}

/** Loads the keyring, creating a fresh key file on first start. */
export function loadKeyring(source: KeyringSource): { keyring: Keyring; created: boolean } {
  if (source.masterKey) {
    const primary = parseMasterKey(source.masterKey, 'COFFER_MASTER_KEY');
    const others = (source.previousKeys ?? []).map((k) => parseMasterKey(k, 'COFFER_PREVIOUS_MASTER_KEYS'));
    return { keyring: createKeyring(primary, others), created: false };
  }
  if (!existsSync(source.file)) {
    const primary = randomBytes(32);
    writeKeyringFile(source.file, primary, []);
    return { keyring: createKeyring(primary), created: true };
  }
  // A key file readable by others (copied in, or a umask) is made private again before it is used.
  if ((statSync(source.file).mode & 0o077) !== 0) chmodSync(source.file, 0o600);
  const { primary, others } = readKeyringFile(source.file);
  return { keyring: createKeyring(primary, others), created: false };
}

/**
 * Step one of a file-based rotation: a new primary is added while the old keys
 * stay, so every wrapped key remains readable while it is rewrapped.
 */
export function addPrimaryToFile(file: string): Keyring {
  const { primary, others } = readKeyringFile(file);
  const next = randomBytes(32);
  writeKeyringFile(file, next, [primary, ...others]);
  return createKeyring(next, [primary, ...others]);
}

/** Final step of a rotation: keys no longer used are dropped from the file. */
export function retainOnlyInFile(file: string, keepIds: string[]): void {
  const { primary, others } = readKeyringFile(file);
  const keep = others.filter((k) => keepIds.includes(keyIdOf(k)));
  writeKeyringFile(file, primary, keep);
}
