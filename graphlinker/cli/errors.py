"""The one error convention every ``graphlinker`` command shares.

A :class:`~graphlinker.errors.GraphlinkerError` becomes one line on stderr and
its documented exit code; anything else is a bug and keeps its traceback. Two
failures of the machine rather than of graphlinker are caught here too, wherever
they surface: a Neo4j driver error (the store, :mod:`graphlinker.store.failures`)
and a full or read-only disk. No message carries a URI's password.
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable

import typer
from rich.markup import escape

from graphlinker.cli.console import err
from graphlinker.errors import ExitCode, GraphlinkerError
from graphlinker.settings.environment import value
from graphlinker.store.failures import from_neo4j, from_os_error, redact

# The disk, not the input: the same run succeeds once there is room (exit 5, retry).
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}



def handle_errors(command: Callable) -> Callable:
    """Decorate a typer command so user errors exit with their code and a one-line message."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            try:
                return command(*args, **kwargs)
            except GraphlinkerError:
                raise
            except OSError as exc:
                if exc.errno not in _ENVIRONMENT_ERRNOS:
                    raise
                raise from_os_error(exc) from None
            except Exception as exc:  # noqa: BLE001 - a driver error from any command means the store
                if not _is_neo4j_error(exc):
                    raise
                raise from_neo4j(exc, value("NEO4J_URI")) from None
        except GraphlinkerError as exc:
            message = _without_secrets(" ".join(str(exc).split()))
            label = "[yellow]note:[/]" if exc.exit_code == ExitCode.NOTHING_NEW else "[bold red]error:[/]"  # 3 is not a failure
            err.print(f"{label} {escape(message)}", highlight=False, soft_wrap=True)
            raise typer.Exit(int(exc.exit_code)) from None

    return wrapper


def _is_neo4j_error(exc: Exception) -> bool:
    try:
        from neo4j.exceptions import DriverError, Neo4jError
    except ImportError:  # pragma: no cover - the driver is a dependency
        return False
    return isinstance(exc, (DriverError, Neo4jError))


def _without_secrets(message: str) -> str:
    """The message with any URI password, and the value of $NEO4J_PASSWORD, masked."""
    message = redact(message)
    password = value("NEO4J_PASSWORD")
    return message.replace(password, "***") if password and len(password) >= 4 else message
