"""The CLI's two consoles and the messages more than one command prints.

Results go to stdout and nothing else does: notes, warnings, errors and progress go to
:data:`err` (stderr), so ``graphlinker run DIR --format json > report.json`` stays clean.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

# stderr: one line per message (no wrapping at the terminal's width, no syntax highlighting of ids)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def out(piped_width: int | None = 160, soft_wrap: bool = False) -> Console:
    """A console on stdout: the terminal's width when interactive, ``piped_width`` when piped or redirected."""
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else piped_width, soft_wrap=soft_wrap)


def report_quarantine(counts: dict, directory: Path | None) -> None:
    """The one wording of "bad rows were set aside": how many, why, and where they are."""
    total = sum(counts.values())
    if not total:
        return
    reasons = ", ".join(f"{kind}/{reason} {n}" for (kind, reason), n in sorted(counts.items()))
    where = f"; see {directory}" if directory is not None else ""
    err.print(f"[yellow]quarantined {total} bad rows[/] ({reasons}){where}")
