import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that a crash or power loss leaves either the old file or
 * the new one, whole, and the new one durable before this returns: a temp
 * file written and fsynced, renamed over the old one, then the directory
 * fsynced (the rename itself is only durable then). The master key file
 * needs this most: commits that depend on the new key follow at once.
 */
export function writeFileAtomic(file: string, content: string, mode = 0o600): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeWhole(fd, Buffer.from(content));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode); // the umask may have narrowed or widened it
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * One write may take only part of the bytes (a disk that fills, a file size
 * limit): the rest is written until it all is or the next write fails
 * (ENOSPC, EFBIG). A short file renamed over the old one would have replaced
 * a whole key file with a cut one, and reported success.
 */
function writeWhole(fd: number, bytes: Buffer): void {
  for (let done = 0; done < bytes.length; ) {
    const n = writeSync(fd, bytes, done, bytes.length - done);
    if (n <= 0) throw Object.assign(new Error(`write took no bytes (${done} of ${bytes.length} written)`), { code: 'ENOSPC' });
    done += n;
  }
}

/**
 * A JSON record the data dir keeps (written by writeFileAtomic); null when the file does not exist. One that
 * does not parse (emptied, cut short) is refused naming the file, not with the parser's bare message.
 */
export function readRecordFile<T>(file: string): T | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${file} cannot be read as the record coffer keeps there (${(err as Error).message}): it was emptied or cut short; put it back from a copy of the data dir`);
  }
}
