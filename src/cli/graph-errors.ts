import { CliError } from './cli-error.js';

/**
 * az's `show` commands (show_exception_handler) print a 404 as its message
 * alone and exit 3; Graph's 404 is `Request_ResourceNotFound`. Other
 * commands that look an object up exit 1 (`exitCode`).
 */
export const asShown = <T>(answer: Promise<T>, exitCode = 3): Promise<T> =>
  answer.catch((err: unknown) => {
    throw err instanceof CliError && err.code === 'Request_ResourceNotFound' ? new CliError(err.message, undefined, exitCode) : err;
  });
