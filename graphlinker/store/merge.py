"""The one merge algorithm: the stored rows a delta touches, plus the delta, give their new values.

Both backends run it through :meth:`Store.merge_graph <graphlinker.store.base.Store.merge_graph>`;
a backend only reads the rows a delta touches and writes rows back (as Splink's backends supply
a few primitives under one linker). The embedded store reads and rewrites whole tables; Neo4j
reads only the touched rows, so a refresh costs what it adds rather than the graph's size.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from graphlinker.ingest.usage import aggregate_stats, aggregate_usage
from graphlinker.kinds import TEMPLATE
from graphlinker.templates.table import merge_templates, with_usage


class GraphRows(NamedTuple):
    """Rows of the usage graph: stored rows a delta touches, or their merged values."""

    accounts: pd.DataFrame | None  # account attributes (None: none stored yet)
    stats: pd.DataFrame  # per-account totals
    usage: pd.DataFrame  # account–identifier usage
    templates: pd.DataFrame  # the template table's rows
    # every sender of the touched templates (their account counts and first/last seen come from it);
    # None when ``usage`` already holds every template row (a backend that reads everything)
    template_usage: pd.DataFrame | None


def merge_rows(stored: GraphRows, accounts: pd.DataFrame, usage: pd.DataFrame, stats: pd.DataFrame,
               templates: pd.DataFrame) -> GraphRows:
    """New absolute values of the touched rows: usage counts and totals add up, first/last seen widen,
    account attributes update (:func:`combine_accounts`), template counts add and their usage columns
    are recomputed from every sender."""
    merged_usage = aggregate_usage([stored.usage, usage])
    if stored.template_usage is None:
        senders = merged_usage
    else:
        senders = aggregate_usage([stored.template_usage, usage[usage["kind"] == TEMPLATE]])
    return GraphRows(
        accounts=combine_accounts(stored.accounts, accounts),
        stats=aggregate_stats([stored.stats, stats]),
        usage=merged_usage,
        templates=with_usage(merge_templates(stored.templates, templates), senders),
        template_usage=None,
    )


def combine_accounts(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Account attributes after an update: a new non-missing value wins, a missing one keeps the old.

    A refresh of a requests-only drop knows its accounts by id alone; that must not
    erase the creation time or country an earlier accounts file gave them.
    """
    frame = new if old is None or old.empty else pd.concat([old, new], ignore_index=True)
    combined = frame.groupby("account_id", sort=True, dropna=False).last()  # last non-null value of each column
    return combined.reset_index()
