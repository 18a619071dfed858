"""Find the one file per input kind in an export directory, or say exactly what is wrong.

A scheduled run must fail fast with a one-line, actionable message (exit code 2) when
an export is incomplete or ambiguous, instead of half-loading it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from graphlinker.errors import InputError
from graphlinker.ingest.schema import KINDS, SPECS, SUFFIXES

_MAX_LISTED = 20


def split_name(name: str) -> tuple[str, str] | None:
    """``"Requests.CSV.gz"`` -> ``("requests", ".csv.gz")``; None for files that are not inputs."""
    lowered = name.lower()
    for suffix in SUFFIXES:
        if lowered.endswith(suffix):
            stem = lowered[: -len(suffix)]
            if stem in KINDS:
                return stem, suffix
            return None
    return None


def _listing(names: list[str]) -> str:
    if not names:
        return "nothing"
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f", ... ({len(names) - _MAX_LISTED} more)" if len(names) > _MAX_LISTED else "")


def unusable_reason(entry: Path) -> str | None:
    """Why an input's name cannot be read as a file (None when it is a readable regular file, or a link to one)."""
    try:
        entry.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop"
        if entry.is_symlink():
            return f"is a dangling symbolic link (its target {os.readlink(entry)} does not exist)"
        if exc.errno == errno.ENOENT:
            return "does not exist"
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    link = " (through a symbolic link)" if entry.is_symlink() else ""
    if entry.is_dir():
        return f"is a directory{link}, not a file"
    if not entry.is_file():
        return f"is not a regular file{link} (a device, pipe or socket)"
    return None


def discover_present(path: Path) -> dict[str, Path]:
    """Map each kind present in directory ``path`` to its file; required kinds may be absent.

    A refresh takes partial exports (an hourly drop may hold only ``requests.csv``).
    Raises InputError when a kind has several files (e.g. ``accounts.csv`` and ``accounts.parquet``), or
    when an input's name is not a readable file: a directory, a dangling link, a link loop (named as such).
    """
    entries = sorted(p for p in Path(path).iterdir() if not p.name.startswith("."))
    found: dict[str, list[Path]] = {}
    for entry in entries:
        parsed = split_name(entry.name)
        if parsed is None:
            continue
        why = unusable_reason(entry)
        if why is not None:
            raise InputError(f"{entry}: {why}; the {parsed[0]} input must be a file")
        found.setdefault(parsed[0], []).append(entry)
    for kind, paths in found.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            raise InputError(f"{path}: ambiguous input for {kind}: {names} (keep exactly one)")
    return {kind: found[kind][0] for kind in KINDS if kind in found}


def discover(path: Path) -> dict[str, Path]:
    """Map each present kind to its file. File names match case-insensitively.

    Raises InputError when ``path`` is not a directory, when a required kind has no file,
    or when a kind has several files (e.g. ``accounts.csv`` and ``accounts.parquet``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"input directory {path} does not exist")
    if not path.is_dir():
        raise InputError(
            f"{path} is not a directory: pass the export directory holding the accounts, payments and requests files"
        )
    found = discover_present(path)
    missing = [kind for kind in KINDS if SPECS[kind].file_required and kind not in found]
    if missing:
        entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
        wanted = ", ".join(f"{kind}.*" for kind in missing)
        formats = ", ".join(reversed(SUFFIXES))
        raise InputError(
            f"{path}: missing required input file(s) {wanted} (one of {formats}); "
            f"found: {_listing([e.name for e in entries])}"
        )
    return found
