"""The store interface both the embedded store and Neo4j implement.

Stages never reach into a store's files or Cypher; the pipeline hands them
plain frames read through this interface, so detection computes the same
projection from whatever the store holds, on either store.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import numpy as np
import pandas as pd

from graphlinker.errors import GraphlinkerError
from graphlinker.ingest.ledger import KEY_FORMAT, Commit  # noqa: F401 - named in signatures
from graphlinker.kinds import TEMPLATE
from graphlinker.store.merge import GraphRows, merge_rows


class Store(ABC):
    """The usage graph (accounts, account–identifier usage, per-account totals, templates) and published runs.

    Every public method of a backend reports a failure of the store itself (a server that went
    away, a full or read-only disk) as the :class:`~graphlinker.errors.GraphlinkerError` its
    :meth:`failure` names — exit 5 or 2, one line — never as the backend's own exception.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if name.startswith("_") or not callable(member) or isinstance(member, (staticmethod, classmethod, type)):
                continue
            setattr(cls, name, _translated_lock(member) if name == "lock" else _translated(member))

    def failure(self, exc: Exception) -> GraphlinkerError | None:
        """The user-facing error a backend exception stands for, or None when it is a bug (a traceback)."""
        return None

    # --- the graph -------------------------------------------------------------------------
    @abstractmethod
    def reset_graph(self) -> None:
        """Forget all graph data (published runs are kept)."""

    def merge_graph(self, accounts: pd.DataFrame, usage: pd.DataFrame, stats: pd.DataFrame, templates: pd.DataFrame) -> None:
        """Add new data: usage counts and totals add up, first/last seen widen, account attributes update.

        One algorithm for every backend (:func:`~graphlinker.store.merge.merge_rows`); a backend supplies
        the stored rows the delta touches and writes the merged rows back, staged until :meth:`publish_run`.
        """
        stored = self._stored_rows(accounts, usage, stats, templates)
        self._write_rows(merge_rows(stored, accounts, usage, stats, templates))

    @abstractmethod
    def _stored_rows(self, accounts: pd.DataFrame, usage: pd.DataFrame, stats: pd.DataFrame,
                     templates: pd.DataFrame) -> GraphRows:
        """The stored rows the delta touches (more is allowed: the embedded store returns everything)."""

    @abstractmethod
    def _write_rows(self, rows: GraphRows) -> None:
        """Store the merged rows (new absolute values), staged with the rest of the run."""

    @abstractmethod
    def accounts(self) -> pd.DataFrame: ...

    @abstractmethod
    def usage(self) -> pd.DataFrame: ...

    @abstractmethod
    def stats(self) -> pd.DataFrame: ...

    @abstractmethod
    def templates(self) -> pd.DataFrame:
        """The template table (:mod:`graphlinker.templates.table`), largest first."""

    def template_usage(self) -> pd.DataFrame:
        """The ``template`` rows of the usage graph: which account sent which template, how often, when."""
        usage = self.usage()
        return usage[usage["kind"] == TEMPLATE].reset_index(drop=True)

    # --- the ledger: what was loaded (graphlinker.ingest.ledger) ---------------------------------------
    @abstractmethod
    def ledger(self) -> pd.DataFrame:
        """One row per loaded input file (``graphlinker.ingest.ledger.LEDGER_COLUMNS``), as of the last published run."""

    @abstractmethod
    def seen_keys(self, key_format: int = KEY_FORMAT) -> np.ndarray:
        """The event keys (uint64) of every loaded row, as of the last published run, in ``key_format``.

        A store holds keys of the current format (``graphlinker.ingest.ledger.KEY_FORMAT``), and, when it was
        written before that format, also keys of ``LEGACY_KEY_FORMAT`` (empty otherwise); each set is
        stored with its format.
        """

    @abstractmethod
    def grouper_state(self) -> list[dict[str, np.ndarray]]:
        """The template grouper's state parts (``MinHashGrouper.state``), in the order they were committed."""

    # --- runs ------------------------------------------------------------------------------
    @contextmanager
    def lock(self, holder: str, wait_seconds: float = 0.0) -> Iterator[None]:
        """One writer at a time: hold the store's lock (LockHeld after ``wait_seconds``).

        Taking it also clears what a crashed writer left behind, and leaving it drops an
        unpublished graph change, so the store is back at its last published run. The three
        steps are each backend's own (:meth:`_exclusive`, :meth:`_clear_crash_leftovers`,
        :meth:`_drop_unpublished`); the order is the same for all.
        """
        with self._exclusive(holder, wait_seconds):
            self._clear_crash_leftovers()
            try:
                yield
            finally:
                self._drop_unpublished()

    @abstractmethod
    def _exclusive(self, holder: str, wait_seconds: float) -> AbstractContextManager:
        """Hold the backend's one-writer lock (a file lock, a lease), recording ``holder`` for the message others get."""

    @abstractmethod
    def _clear_crash_leftovers(self) -> None:
        """Remove what a writer that died left behind (safe to repeat)."""

    @abstractmethod
    def _drop_unpublished(self) -> None:
        """Undo this writer's graph change that no run published (a failed run)."""

    @abstractmethod
    def publish_run(self, report: dict, edges: pd.DataFrame, membership: pd.DataFrame, record: dict,
                    commit: Commit | None = None) -> None:
        """Make a finished run, its graph and its commit (ledger files, new keys, grouper part) visible at once."""

    @abstractmethod
    def latest_report(self) -> dict | None:
        """The report of the last published run, or None."""

    @abstractmethod
    def report_of(self, run_id: str) -> dict | None:
        """The report of a published run, or None."""

    def interrupted_rebuild(self) -> bool:
        """True when a full run died after emptying the graph (only a new full run repairs that)."""
        return False

    @abstractmethod
    def runs(self) -> list[dict]:
        """Run records, oldest first."""

    @abstractmethod
    def add_verdict(self, record: dict) -> None:
        """Keep an analyst's verdict (:func:`graphlinker.analysis.verdicts.new_verdict`); verdicts are never rewritten."""

    @abstractmethod
    def verdicts(self) -> list[dict]:
        """Every verdict kept, oldest first (a cluster's verdict is its latest: ``verdicts.current``)."""

    @abstractmethod
    def run_links(self, run_id: str) -> pd.DataFrame | None:
        """The account links a published run computed: ``account_a, account_b, weight`` and one similarity per
        signal, as published. None when the store does not keep them: an unknown run, or on Neo4j any run but
        the latest (a run's ``LINKED`` relationships are replaced by the next run's)."""

    def close(self) -> None:  # noqa: B027 - a backend without connections has nothing to release
        """Release connections or locks."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _translated(method):
    """``method`` with backend failures turned into the store's :meth:`Store.failure`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except GraphlinkerError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything the backend cannot name stays a bug below
            failure = self.failure(exc)
            if failure is None:
                raise
            raise failure from None
    return wrapper


def _translated_lock(method):
    """The same for ``lock``, a context manager: a failure while taking, holding or leaving it."""
    @functools.wraps(method)
    @contextmanager
    def wrapper(self, *args, **kwargs):
        try:
            with method(self, *args, **kwargs):
                yield
        except GraphlinkerError:
            raise
        except Exception as exc:  # noqa: BLE001
            failure = self.failure(exc)
            if failure is None:
                raise
            raise failure from None
    return wrapper


# The base's own public steps get the same translation __init_subclass__ gives a backend's methods.
Store.merge_graph = _translated(Store.merge_graph)  # type: ignore[method-assign]
Store.lock = _translated_lock(Store.lock)  # type: ignore[method-assign]
