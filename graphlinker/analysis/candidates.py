"""Which account pairs linking looks at: never every pair of a popular identifier.

Each identifier's users are put in a pseudo-random order (a hash of account and
identifier, so the same on every store and run). An identifier used by few accounts
contributes all its pairs; a popular one contributes each user's next few users in
that order, ``O(d × window)`` pairs instead of ``O(d²)``. Across the many identifiers a
ring shares, these windows form a random graph that connects the ring, while no
identifier is ever expanded into all its pairs — the candidate-generation step of
sparse nearest-neighbour graphs (cf. the kNN graph PhenoGraph builds before community
detection; Levine et al. 2015, Cell 162:184).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphlinker.arrays import distinct_sorted

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def hash64(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a well-spread 64-bit hash of integers."""
    z = values.astype(np.uint64) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class OrderedUsers:
    """The users of chosen columns, each column's users in hash order."""

    def __init__(self, matrix: sp.csr_matrix, columns: np.ndarray):
        csc = matrix.tocsc()
        columns = np.sort(np.asarray(columns, dtype=np.int64))
        sizes = np.diff(csc.indptr)[columns]
        columns, sizes = columns[sizes > 0], sizes[sizes > 0]
        total = int(sizes.sum())
        group_start = (np.cumsum(sizes) - sizes).astype(np.int64)
        offset = np.arange(total, dtype=np.int64) - np.repeat(group_start, sizes)
        entries = np.repeat(csc.indptr[columns], sizes) + offset
        rows = csc.indices[entries].astype(np.int64)
        column_of = np.repeat(columns, sizes)
        order = np.lexsort((hash64(rows * np.int64(0x1F3D5B79) + column_of), column_of))
        self.rows = rows[order]
        self.value = csc.data[entries][order]  # the account's weight on the column
        self.column = column_of  # already grouped by column, in ascending order
        self.position = offset  # position of each entry inside its column's order
        self.size = np.repeat(sizes, sizes)
        self.start = np.repeat(group_start, sizes)

    def entries_at(self, step: int, wrap: bool) -> tuple[np.ndarray, np.ndarray]:
        """Entry numbers of each user and of the user ``step`` places after it in the same column."""
        target = self.position + step
        keep = target < self.size if not wrap else self.size > step
        target = np.where(target < self.size, target, target - self.size)
        entry = np.nonzero(keep)[0]
        return entry, self.start[entry] + target[entry]

    def pair_codes(self, steps: range, wrap: bool, n_accounts: int) -> np.ndarray:
        """Codes (:func:`pair_code`) of each user with the users ``steps`` places after it in the same column.

        One step at a time, keeping only the codes (8 bytes a pair): the rows of every step held at
        once, and their copies while deduplicating, set linking's peak (1.4 GB traced at 2M request rows)."""
        codes = []
        for step in steps:
            entry, partner = self.entries_at(step, wrap)
            codes.append(pair_code(self.rows[entry], self.rows[partner], n_accounts))
        return _concat(codes)


def pair_code(left: np.ndarray, right: np.ndarray, n_accounts: int) -> np.ndarray:
    """``smaller * n_accounts + larger`` of each unordered pair of rows; self-pairs dropped."""
    code = np.minimum(left, right).astype(np.int64)
    code *= n_accounts
    code += np.maximum(left, right)
    return code[left != right]


def all_pairs(ordered: OrderedUsers, max_size: int, n_accounts: int) -> np.ndarray:
    """Codes of every pair of users of columns with at most ``max_size`` users."""
    return ordered.pair_codes(range(1, max_size), wrap=False, n_accounts=n_accounts)


def window_pairs(ordered: OrderedUsers, window: int, n_accounts: int) -> np.ndarray:
    """Codes of each user with the next ``window`` users of the column, around the circle."""
    return ordered.pair_codes(range(1, window + 1), wrap=True, n_accounts=n_accounts)


def shared_at_least(codes: np.ndarray, times: int) -> np.ndarray:
    """The distinct codes that occur at least ``times`` times in ``codes`` (sorted; ``codes`` is sorted in place).

    Each occurrence of a pair code is one identifier the pair shares, so these are the pairs that share
    at least ``times`` of them."""
    if times <= 1:
        return distinct_sorted(np.sort(codes))
    codes.sort()
    start = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    count = np.diff(np.r_[start, len(codes)])
    return codes[start[count >= times]]


def unique_pair_codes(codes: list[np.ndarray]) -> np.ndarray:
    """Distinct codes of ``codes``, sorted; the list is emptied as its parts are copied out (memory)."""
    code = _concat(codes)
    code.sort()  # in place: the concatenation is ours
    return distinct_sorted(code)


def unique_pairs(codes: list[np.ndarray], n_accounts: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct unordered pairs of the codes as (smaller, larger) row numbers, sorted."""
    return np.divmod(unique_pair_codes(codes), n_accounts)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    """One array of ``parts``, each part released once copied: the peak is the whole plus one part, not twice the whole."""
    out = np.empty(sum(len(part) for part in parts), dtype=np.int64)
    start = 0
    while parts:
        part = parts.pop(0)
        out[start : start + len(part)] = part
        start += len(part)
        del part
    return out
