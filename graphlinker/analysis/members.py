"""The rows of clustered accounts, each with its cluster number: what features and evidence group by.

Usage holds every account's rows, and nearly every account is clustered (66.7k of 70.9k at 5M
request rows), so this is close to a copy of the usage table. It is built once per run from the
account ids' codes: looking each row's account up with ``isin`` and ``map`` over 8.5M string
ids took 5.8 s and peaked 1,382 MiB above what it keeps; factorising took 0.8 s and 569 MiB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def member_rows(frame: pd.DataFrame, cluster_of: pd.Series) -> pd.DataFrame:
    """Rows of ``frame`` whose ``account_id`` is in ``cluster_of`` (index: account id), with a ``cluster`` column."""
    code, names = pd.factorize(frame["account_id"])  # missing ids get -1
    found = pd.Index(names).get_indexer(cluster_of.index)  # each member's code, -1 when it has no rows
    member_of_code = np.full(len(names) + 1, -1, dtype=np.int64)  # the extra last slot answers code -1
    listed = found >= 0
    member_of_code[found[listed]] = np.flatnonzero(listed)
    member = member_of_code[code]
    keep = member >= 0
    return frame[keep].assign(cluster=cluster_of.to_numpy()[member[keep]])


USAGE_READ = ["account_id", "kind", "value", "count"]  # what features and evidence read of the members' usage


def member_usage(usage: pd.DataFrame, cluster_of: pd.Series) -> pd.DataFrame:
    """:func:`member_rows` of the usage columns features and evidence read: first and last seen stay
    behind (16 bytes a row, 0.13 GB at 5M request rows)."""
    return member_rows(usage[USAGE_READ], cluster_of)
