import { CliError } from './cli-error.js';
import { pyRepr } from './py-repr.js';

// Python's OSError text for a file az opens, as az prints it: `[Errno 2] No such file or directory: 'x'`.

/** Linux's errno and strerror for the codes Node gives file operations. */
const ERRNO: Record<string, [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  EACCES: [13, 'Permission denied'],
  EEXIST: [17, 'File exists'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  ENOSPC: [28, 'No space left on device'],
  EROFS: [30, 'Read-only file system'],
  ENAMETOOLONG: [36, 'File name too long'],
  ELOOP: [40, 'Too many levels of symbolic links'],
};

/** The CliError az ends with when opening `path` failed; `exitCode` 2 where az opens it in an argument validator. */
export function fileError(err: unknown, path: string, exitCode = 1): CliError {
  const e = err as NodeJS.ErrnoException;
  const known = e.code ? ERRNO[e.code] : undefined;
  const text = known ? `[Errno ${known[0]}] ${known[1]}` : e.message;
  return new CliError(`${text}: ${pyRepr(path)}`, undefined, exitCode);
}
