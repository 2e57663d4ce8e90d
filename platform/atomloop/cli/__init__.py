"""The ``atomloop`` command: one Typer app, one module per subcommand group."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from typing import NoReturn

import typer
from typer.exceptions import TyperException

from atomloop.db.url import mask_password

EXIT_ERROR = 1  # an AtomloopError: bad input, an unreachable store, a failed step
EXIT_USAGE = 2  # a usage error: an unknown option, an option value out of range

app = typer.Typer(
    name="atomloop",
    help="Active learning of atomic energies over a PostgreSQL store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines ``register(app)``; order is the order of ``atomloop --help``.
_COMMAND_MODULES = ("db", "ingest", "export", "label", "select", "train", "export_model", "loop", "serve", "demo", "study", "benchmark")

for _module in _COMMAND_MODULES:
    importlib.import_module(f"atomloop.cli.{_module}").register(app)


def _fail(message: str, status: int) -> NoReturn:
    """Print ``error: message`` as one red line on stderr and exit with ``status``."""
    typer.secho(f"error: {' '.join(mask_password(message).split())}", fg=typer.colors.RED, err=True)
    sys.exit(status)


def _usage_message(error: TyperException) -> str:
    """Click's message for a usage error, with a pointer to the command's help."""
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else "atomloop"
    return f"{error.format_message()} (see '{command} --help')"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001 - warnings' hook
    """atomloop's own warnings as one line each (``warning: ...``), without the source line that
    Python's default format echoes; other libraries' warnings as Python shows them."""
    if category.__module__.startswith("atomloop"):
        print(f"warning: {message}", file=file or sys.stderr)
    else:
        _PYTHON_SHOW_WARNING(message, category, filename, lineno, file, line)


_PYTHON_SHOW_WARNING = warnings.showwarning


def _interrupted() -> NoReturn:
    """A Ctrl-C: one line and status 130 (what was finished is kept; the rerun resumes). A stop the
    command asked of itself (:func:`atomloop.lifetime.stop_main_thread`: its store was stopped
    under it) is its reason's error line and status 1."""
    from atomloop.lifetime import EXIT_INTERRUPTED, INTERRUPTED_MESSAGE, stop_reason

    if (reason := stop_reason()) is not None:
        _fail(reason, EXIT_ERROR)
    typer.echo(INTERRUPTED_MESSAGE, err=True)
    sys.exit(EXIT_INTERRUPTED)


def main() -> None:
    """Console entry point: a usage error (click's, or :class:`~atomloop.errors.UsageError`) is
    one line and exit status 2; any other known error (:class:`~atomloop.errors.AtomloopError`)
    one line and exit status 1."""
    from atomloop.errors import AtomloopError, UsageError

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry: machines may be offline
    warnings.showwarning = _show_warning
    from atomloop.lifetime import EXIT_INTERRUPTED, interrupts_unwind

    try:
        with interrupts_unwind():  # a Ctrl-C unwinds this process alone; its helpers leave it to us
            status = app(prog_name="atomloop", standalone_mode=False)  # click's errors reach us, not its usage text
    except KeyboardInterrupt:  # outside the command itself (Typer turns one inside it into status 130)
        status = EXIT_INTERRUPTED
    except TyperException as error:  # click's usage errors (exit status 2) and file errors
        if not error.format_message():  # no arguments: the help is already printed
            sys.exit(error.exit_code)
        _fail(_usage_message(error), error.exit_code)
    except typer.Abort:
        _fail("aborted", EXIT_ERROR)
    except UsageError as error:
        _fail(str(error), EXIT_USAGE)
    except AtomloopError as error:
        _fail(str(error), EXIT_ERROR)
    except Exception as error:
        from atomloop.db.errors import is_connection_error

        if not is_connection_error(error):
            raise
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        _fail(f"lost the connection to the database: {reason}; run the command again (finished work is kept)",
              EXIT_ERROR)
    if status == EXIT_INTERRUPTED:
        _interrupted()
    sys.exit(status if isinstance(status, int) else 0)
