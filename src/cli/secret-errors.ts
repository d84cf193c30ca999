import { CliError } from './cli-error.js';
import { run, type Action, type LogOptions } from './command-kit.js';
import type { OutputOptions, TableView } from './output.js';

// How az 2.45's `keyvault secret` commands report a vault's errors
// (keyvault/_command_type.py keyvault_exception_handler): the message
// alone, exit 1; only `secret show` prints a 404 as `(Code) message` and
// exits 3 (core/commands/arm.py show_exception_handler). A vault that is not
// there is, in Azure, a host name that does not resolve: az's words for it.

const NO_SUCH_VAULT =
  'Max retries exceeded attempting to connect to Vault. The Vault may not exist or you may need to flush your DNS cache and try again later.';

export function asAzDataPlaneError(err: unknown, show: boolean): unknown {
  // Usage mistakes (exit 2) and the CLI's own errors (no code) are az's already.
  if (!(err instanceof CliError) || !err.code || err.exitCode === 2) return err;
  if (err.code === 'VaultNotFound') return new CliError(NO_SUCH_VAULT);
  if (show && err.exitCode === 3) return err;
  return new CliError(err.message, err.code, 1, undefined, false);
}

/** `run` for a secret command: the vault's errors as az prints them (`show`: `keyvault secret show`). */
export function secretRun<O>(action: Action<O & OutputOptions & LogOptions>, table?: TableView, show = false) {
  return run<O>(
    (o, s) =>
      action(o, s).catch((err: unknown) => {
        throw asAzDataPlaneError(err, show);
      }),
    table,
  );
}
