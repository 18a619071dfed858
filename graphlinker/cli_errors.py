"""The one error convention every ``graphlinker`` command shares.

A :class:`~graphlinker.errors.GraphlinkerError` becomes one line on stderr and
its documented exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
from typing import Callable

import typer
from rich.console import Console
from rich.markup import escape

from .errors import ExitCode, GraphlinkerError

err = Console(stderr=True)


def handle_errors(command: Callable) -> Callable:
    """Decorate a typer command so user errors exit with their code and a one-line message."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except GraphlinkerError as exc:
            message = " ".join(str(exc).split())
            label = "[yellow]note:[/]" if exc.exit_code == ExitCode.NOTHING_NEW else "[bold red]error:[/]"  # 3 is not a failure
            err.print(f"{label} {escape(message)}", highlight=False, soft_wrap=True)
            raise typer.Exit(int(exc.exit_code)) from None

    return wrapper
