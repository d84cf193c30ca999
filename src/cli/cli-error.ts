// Errors the CLI reports az-style: `ERROR: (Code) message` and a non-zero exit.
export class CliError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly exitCode = 1,
    /** Lines printed after the first, as azure-core's errors add them (`Code: ...`, `Message: ...`). */
    readonly details?: string,
    /** Whether `(Code)` is printed: az's Graph client prints the message alone (the code stays for the CLI's own checks). */
    readonly showCode = true,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage mistake: az's exit code 2 and its message form. */
export const usage = (message: string) => new CliError(`incorrect usage: ${message}`, undefined, 2);

export const formatCliError = (err: CliError): string =>
  (err.code && err.showCode ? `ERROR: (${err.code}) ${err.message}` : `ERROR: ${err.message}`) + (err.details ? `\n${err.details}` : '');

/** A Python exception az did not expect (a TypeError in its own code): the first two lines it prints, without the traceback. */
export const unexpectedError = (exception: string) => new CliError(`The command failed with an unexpected error. Here is the traceback:\nERROR: ${exception}`);

/** What az adds below any argument error that names --query, and below a query that fails. */
export const QUERY_REFERENCE = "To learn more about --query, please visit: 'https://docs.microsoft.com/cli/azure/query-azure-cli'";
