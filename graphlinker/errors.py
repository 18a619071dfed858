"""Errors a user can act on, each tied to the exit code scripts rely on.

A scheduler (cron, Airflow, a Kubernetes CronJob) alerts on exit codes, so every
failure a user can cause maps to one documented code rather than a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every ``graphlinker`` command (documented in the README)."""

    OK = 0
    FAILURE = 1  # an unexpected internal error (a bug): a traceback is printed
    BAD_INPUT = 2  # missing file/column, bad rows under --strict, bad option values
    NOTHING_NEW = 3  # a refresh found no input it had not already loaded
    LOCK_HELD = 4  # another refresh holds the store's lock
    STORE_UNAVAILABLE = 5  # the store (e.g. Neo4j) cannot be reached or opened


class GraphlinkerError(Exception):
    """Base class: an error with a one-line message and an exit code."""

    exit_code: ExitCode = ExitCode.FAILURE


class InputError(GraphlinkerError):
    """The input is unusable: a missing file or column, or a bad row under ``--strict``."""

    exit_code = ExitCode.BAD_INPUT


class ConfigError(GraphlinkerError):
    """A configuration file or option value is invalid."""

    exit_code = ExitCode.BAD_INPUT


class StoreUnavailable(GraphlinkerError):
    """The store cannot be opened or reached."""

    exit_code = ExitCode.STORE_UNAVAILABLE


class NoRunYet(GraphlinkerError):
    """A command needs a published run but the workspace has none."""

    exit_code = ExitCode.BAD_INPUT


class LockHeld(GraphlinkerError):
    """Another run or refresh is writing to the same store."""

    exit_code = ExitCode.LOCK_HELD


class NothingNew(GraphlinkerError):
    """A refresh found no file or row the store had not already loaded; nothing was written."""

    exit_code = ExitCode.NOTHING_NEW
