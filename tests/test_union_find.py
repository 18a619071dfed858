"""The compiled disjoint sets against scipy's connected components on random graphs."""

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from graphlinker.templates.union_find import apart, forest, roots, unite


@pytest.mark.parametrize("seed", range(5))
def test_sets_are_the_connected_components(seed):
    rng = np.random.default_rng(seed)
    n, m = 300, 200  # sparse enough to leave many components
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    parent = forest(n)
    unite(parent, a[: m // 2], b[: m // 2])  # in two steps, as the waves of template grouping do
    unite(parent, a[m // 2 :], b[m // 2 :])
    root = roots(parent)
    count, label = connected_components(coo_matrix((np.ones(m), (a, b)), shape=(n, n)), directed=False)
    assert len(np.unique(root)) == count > 1
    assert len(np.unique(label * n + root)) == count  # the same partition
    for r in np.unique(root):  # a root is its set's smallest member
        assert r == np.flatnonzero(root == r).min()
    x, y = rng.integers(0, n, 500), rng.integers(0, n, 500)
    np.testing.assert_array_equal(apart(parent, x, y), label[x] != label[y])


def test_empty_and_singletons():
    parent = forest(4)
    unite(parent, np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    np.testing.assert_array_equal(roots(parent), [0, 1, 2, 3])
    unite(parent, np.array([3]), np.array([1]))
    np.testing.assert_array_equal(roots(parent), [0, 1, 2, 1])
    np.testing.assert_array_equal(apart(parent, np.array([1, 0]), np.array([3, 3])), [False, True])
