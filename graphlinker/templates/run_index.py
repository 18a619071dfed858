"""A ``uint64 → int32`` multimap of sorted numpy runs: the template grouper's LSH bucket and id indexes.

Measured with 1.6 million band keys, a Python dict took 120 bytes per entry and 570 ms for
800,000 lookups (holding one slot per key only); the sorted runs 12 bytes and 115 ms.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["SortedRunIndex", "sorted_run"]


class SortedRunIndex:
    """A ``uint64 → int32`` multimap kept as a few sorted runs (a log-structured merge).

    ``add`` appends a sorted run and merges runs while the older one is at most
    twice the newer, so there are O(log n) runs and each entry is merged
    O(log n) times.  Within a run, entries of equal key are in value order
    (values are slots or positions, so: earliest first).  Lookups sort their
    queries first: ``np.searchsorted`` with sorted queries walks the run
    almost sequentially (measured 7x faster than random order, the sort
    included, for 800,000 queries on a run of 16M keys).
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs)

    @property
    def nbytes(self) -> int:
        return sum(keys.nbytes + values.nbytes for keys, values in self._runs)

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        if not len(keys):
            return
        self._runs.append(sorted_run(keys, values.astype(np.int32)))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            newer = self._runs.pop()
            self._runs.append(_merge_runs(self._runs.pop(), newer))

    def lookup(self, queries: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
        """``(query index, value)`` pairs with equal keys: per query and run, the first ``cap``
        entries (the earliest)."""
        rows, values = [], []
        order = np.argsort(queries)
        queries = queries[order]
        for keys, vals in self._runs:
            lo, hit = _hits(keys, queries)
            if not hit.size:
                continue
            lo = lo[hit]
            count = np.minimum(np.searchsorted(keys, queries[hit], side="right") - lo, cap)
            first = np.cumsum(count) - count
            offset = np.arange(int(count.sum())) - np.repeat(first, count)
            rows.append(order[np.repeat(hit, count)])
            values.append(vals[np.repeat(lo, count) + offset])
        if not rows:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(rows).astype(np.int64), np.concatenate(values).astype(np.int64)

    def entries(self) -> tuple[np.ndarray, np.ndarray]:
        """Every ``(key, value)`` of every run as one sorted run (keys, then values ascending); a copy.

        The runs are merged as ``add`` merges them, which keeps equal keys in value order when each run's
        values are below the next run's (the grouper's slots, registered in order): 0.16–0.67 s against 0.74–2.30 s
        for sorting the 7.2M band keys of a 4.87M-row run whole, which is still done when that order does not hold.
        """
        if not self._runs:
            return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int32)
        keys, values = self._runs[-1][0].copy(), self._runs[-1][1].copy()
        for older in reversed(self._runs[:-1]):
            keys, values = _merge_runs(older, (keys, values))
        if np.all((keys[1:] != keys[:-1]) | (values[1:] > values[:-1])):  # equal keys in value order
            return keys, values
        return sorted_run(keys, values)

    def first(self, queries: np.ndarray) -> np.ndarray:
        """The first value stored under each query key, or -1."""
        found = np.full(len(queries), -1, dtype=np.int64)
        order = np.argsort(queries)
        queries = queries[order]
        for keys, vals in self._runs:
            lo, hit = _hits(keys, queries)
            hit = hit[found[hit] < 0]
            found[hit] = vals[lo[hit]]
        out = np.empty_like(found)
        out[order] = found
        return out


def sorted_run(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys sorted, equal keys in value order: NumPy's (SIMD) quicksort of the keys, then each run of
    equal keys ordered by value in one compiled pass. A third of the time of a stable argsort (0.08 s
    against 0.22 s for the 1.8M band keys of the 113k distinct labelled prompts) and of the ``lexsort``
    of the ties it replaced."""
    order = np.argsort(keys)
    sorted_keys = keys[order]
    _order_ties(sorted_keys, order, values)
    return sorted_keys, values[order]


@njit(cache=True, nogil=True)
def _order_ties(sorted_keys, order, values):  # pragma: no cover - compiled
    """Within each run of equal ``sorted_keys``, ``order`` sorted by ``values[order]`` (in place)."""
    n, i = len(order), 0
    while i < n:
        j = i + 1
        while j < n and sorted_keys[j] == sorted_keys[i]:
            j += 1
        if j - i > 16:
            run = order[i:j].copy()
            order[i:j] = run[np.argsort(values[run], kind="mergesort")]
        else:
            for a in range(i + 1, j):  # insertion sort: most runs are short
                item, value = order[a], values[order[a]]
                b = a - 1
                while b >= i and values[order[b]] > value:
                    order[b + 1] = order[b]
                    b -= 1
                order[b + 1] = item
        i = j


def _hits(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left insertion points of the queries and the indices of those present in ``keys``."""
    lo = np.searchsorted(keys, queries, side="left")
    hit = np.flatnonzero(keys[np.minimum(lo, len(keys) - 1)] == queries)
    return lo, hit


def _merge_runs(older: tuple[np.ndarray, np.ndarray], newer: tuple[np.ndarray, np.ndarray]):
    """Linear merge of two sorted runs; on equal keys the older entries come first."""
    (ka, va), (kb, vb) = older, newer
    at = np.searchsorted(ka, kb, side="right") + np.arange(len(kb))
    keys = np.empty(len(ka) + len(kb), dtype=ka.dtype)
    values = np.empty(len(keys), dtype=va.dtype)
    from_a = np.ones(len(keys), dtype=bool)
    from_a[at] = False
    keys[at], values[at] = kb, vb
    keys[from_a], values[from_a] = ka, va
    return keys, values
