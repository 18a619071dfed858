"""The store interface both the embedded store and Neo4j implement.

Stages never reach into a store's files or Cypher; the pipeline hands them
plain frames read through this interface, so detection computes the same
projection from whatever the store holds, on either store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd


class Store(ABC):
    """The usage graph (accounts, account–identifier usage, per-account totals, templates) and published runs."""

    # --- the graph -------------------------------------------------------------------------
    @abstractmethod
    def reset_graph(self) -> None:
        """Forget all graph data (published runs are kept)."""

    @abstractmethod
    def merge_graph(self, accounts: pd.DataFrame, usage: pd.DataFrame, stats: pd.DataFrame, templates: pd.DataFrame) -> None:
        """Add new data: usage counts and totals add up, first/last seen widen, account attributes update."""

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
        return usage[usage["kind"] == "template"].reset_index(drop=True)

    # --- runs ------------------------------------------------------------------------------
    @abstractmethod
    def publish_run(self, report: dict, edges: pd.DataFrame, membership: pd.DataFrame, record: dict) -> None:
        """Make a finished run visible to readers, all at once."""

    @abstractmethod
    def latest_report(self) -> dict | None:
        """The report of the last published run, or None."""

    @abstractmethod
    def runs(self) -> list[dict]:
        """Run records, oldest first."""

    def close(self) -> None:
        """Release connections or locks."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
