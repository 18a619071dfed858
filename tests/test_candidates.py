"""Candidate pairs: all pairs of small identifiers, linear windows of popular ones."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphlinker.analysis.candidates import OrderedUsers, all_pairs, shared_at_least, unique_pairs, window_pairs


def _matrix(users_per_column: list[int]) -> sp.csr_matrix:
    rows, cols = [], []
    for c, d in enumerate(users_per_column):
        rows += list(range(d))
        cols += [c] * d
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(max(users_per_column), len(users_per_column)))


def test_all_pairs_of_small_columns():
    matrix = _matrix([5, 3])
    left, right = unique_pairs([all_pairs(OrderedUsers(matrix, np.array([0, 1])), 5, 5)], 5)
    assert len(left) == 10  # C(5,2); the 3 pairs of column 1 are among them
    assert set(zip(left.tolist(), right.tolist())) == {(i, j) for i in range(5) for j in range(i + 1, 5)}


def test_window_pairs_grow_linearly_with_users():
    for d in (100, 1000, 10_000):
        codes = window_pairs(OrderedUsers(_matrix([d]), np.array([0])), 4, d)
        assert len(codes) == 4 * d  # each user with its next four, around the circle
        a, b = unique_pairs([codes], d)
        assert len(a) == 4 * d and (a < b).all()


def test_window_order_is_reproducible_and_not_the_row_order():
    ordered = OrderedUsers(_matrix([50]), np.array([0]))
    again = OrderedUsers(_matrix([50]), np.array([0]))
    assert (ordered.rows == again.rows).all()
    assert not (ordered.rows == np.arange(50)).all()


def test_shared_at_least_keeps_pairs_seen_that_many_times():
    """Each occurrence of a pair's code is one identifier the pair shares."""
    codes = np.array([50, 30, 50, 70, 30, 50, 90], dtype=np.int64)
    assert shared_at_least(codes.copy(), 1).tolist() == [30, 50, 70, 90]
    assert shared_at_least(codes.copy(), 2).tolist() == [30, 50]
    assert shared_at_least(codes.copy(), 3).tolist() == [50]
    assert shared_at_least(codes.copy(), 4).tolist() == []
    assert shared_at_least(np.zeros(0, dtype=np.int64), 3).tolist() == []
