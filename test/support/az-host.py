# Debian's azure-cli, unchanged, run in one long-lived Python process: each
# request is one az command line, run as /usr/bin/az runs it (azure/cli/__main__.py:
# get_default_cli().invoke(args), telemetry, the survey prompt, sys.exit's
# exit code), the way azure-cli's own tests drive it in-process. A process
# costs about 0.9 s of CPU per command in imports; here only the first pays.
#
# What a new process would start without is reset before each command: the
# logging handlers (bound to the streams and verbosity of the command that
# made them), the token, HTTP and service principal caches az keeps for the
# process (read from the profile again, as a new process does), knack's table
# keys az's graph commands change, warnings already shown, os.environ, the
# working directory, sys.argv and the streams.
#
# Protocol: one JSON object per line on stdin, {"args": [...], "cwd": "..."};
# one per line back, {"code": n, "stdout": "...", "stderr": "..."}. Stray
# writes to file descriptor 1 go to stderr, away from the answers.
import io
import json
import logging
import os
import sys
import traceback
import uuid
import warnings

answers = os.fdopen(os.dup(1), 'w', encoding='utf-8')
os.dup2(2, 1)
requests = os.fdopen(os.dup(0), 'r', encoding='utf-8')
os.dup2(os.open(os.devnull, os.O_RDONLY), 0)

import azure.cli.core  # noqa: E402
from azure.cli.core import get_default_cli, telemetry  # noqa: E402
from azure.cli.core.auth.identity import Identity  # noqa: E402
from azure.cli.core.commands import progress  # noqa: E402
from azure.cli.core.intercept_survey import prompt_survey_message  # noqa: E402
from knack.completion import ARGCOMPLETE_ENV_NAME  # noqa: E402
from knack.output import _TableOutput  # noqa: E402

# azure.cli is a namespace package: its __main__.py sits beside azure.cli.core.
MAIN = os.path.join(os.path.dirname(os.path.dirname(azure.cli.core.__file__)), '__main__.py')

# az's `ad app|sp list -o table` removes 'id' from this class-wide list (its second one in a process fails).
TABLE_SKIP_KEYS = list(_TableOutput.SKIP_KEYS)

# As __main__.py does once per process.
try:
    uuid.uuid1()
except ValueError:
    uuid.uuid1 = uuid.uuid4


def as_new_process():
    for name in ('', 'cli'):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    Identity._msal_token_cache = None
    Identity._msal_http_cache = None
    Identity._service_principal_store_instance = None
    _TableOutput.SKIP_KEYS[:] = TABLE_SKIP_KEYS
    warnings.onceregistry.clear()
    warnings._filters_mutated()
    # A default bound to sys.stderr as the module was imported: this command's stderr instead.
    progress.get_progress_view.__defaults__ = (False, sys.stderr, None)


def exit_code(ex):
    """What the interpreter makes of a SystemExit: None is 0, a number itself, anything else printed and 1."""
    if ex.code is None:
        return 0
    if isinstance(ex.code, int):
        return ex.code
    print(ex.code, file=sys.stderr)
    return 1


def stream():
    # As a pipe's stream: text in the interpreter's encoding for its real stdout.
    return io.TextIOWrapper(io.BytesIO(), encoding=sys.__stdout__.encoding, errors=sys.__stdout__.errors, write_through=True)


def run(args, cwd):
    out, err = stream(), stream()
    saved = (sys.stdout, sys.stderr, sys.stdin, sys.argv, os.getcwd(), dict(os.environ))
    sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO()
    sys.argv = [MAIN, *args]
    code = 1
    try:
        if cwd:
            os.chdir(cwd)
        as_new_process()
        cli = get_default_cli()
        # CLI.__init__'s default, sys.stdout as the module was imported: the stdout of this command instead.
        cli.out_file = sys.stdout
        telemetry.set_application(cli, ARGCOMPLETE_ENV_NAME)
        try:
            telemetry.start()
            code = exit_code(SystemExit(cli.invoke(args)))
        except SystemExit as ex:
            code = exit_code(ex)
        finally:
            try:
                prompt_survey_message(cli)
            except Exception:  # as __main__.py: the survey never fails a command
                pass
            telemetry.conclude()
    except BaseException:  # what the interpreter would print before exiting 1
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout, sys.stderr, sys.stdin, sys.argv = saved[:4]
        os.chdir(saved[4])
        os.environ.clear()
        os.environ.update(saved[5])
    text = lambda s: s.buffer.getvalue().decode('utf-8', 'replace')  # noqa: E731
    return {'code': code, 'stdout': text(out), 'stderr': text(err)}


for line in requests:
    request = json.loads(line)
    answers.write(json.dumps(run(request['args'], request.get('cwd'))) + '\n')
    answers.flush()
