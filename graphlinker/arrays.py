"""Sets of integers as sorted arrays: distinct values, unions and membership, by sorting and binary search.

``np.unique`` (and ``np.union1d`` and ``np.isin``, which call it) hashes integer arrays since NumPy
2.3, which was measured far slower than sorting on the 64-bit keys and pair codes used here: for 1M
random uint64, 0.87 s against 0.01 s; for the 6.5M candidate pairs of a 1M-row scenario, 8.5 s
against 0.05 s (NumPy 2.4, one core); the ledger's seen-key set was re-hashed whole on every chunk read
(1.5 s of a 1M-row run, more with every chunk). Every hot path that needs these goes through here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["contains", "distinct", "distinct_sorted", "union_distinct"]


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of ``values`` (what ``np.unique(values)`` returns)."""
    return distinct_sorted(np.sort(np.asarray(values).ravel()))


def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """``values`` (sorted) without repeats."""
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def union_distinct(*arrays: np.ndarray) -> np.ndarray:
    """Sorted distinct values of all ``arrays`` (what ``np.union1d`` returns for two)."""
    return distinct(np.concatenate([np.asarray(a).ravel() for a in arrays]))


def contains(sorted_distinct: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mask of ``values`` found in ``sorted_distinct`` (what ``np.isin`` returns), by binary search.

    ``np.isin`` sorts or hashes both arrays on every call; a set that is kept sorted across calls
    (the ledger's seen keys) needs only a search per value.
    """
    values = np.asarray(values)
    if not len(sorted_distinct) or not len(values):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_distinct, values)
    np.minimum(at, len(sorted_distinct) - 1, out=at)
    return sorted_distinct[at] == values
