"""The pair kernel against dense arithmetic done independently with numpy."""

import numpy as np
import pytest
import scipy.sparse as sp

from graphlinker.analysis.pair_kernel import pair_products


def _reference(dense: np.ndarray, col_kind: np.ndarray, n_kinds: int, left, right):
    """Per-kind dot products and counts of shared non-zero columns, pair by pair, on the dense matrix."""
    dots = np.zeros((len(left), n_kinds))
    shared = np.zeros((len(left), n_kinds), dtype=np.int64)
    for p, (a, b) in enumerate(zip(left, right)):
        both = (dense[a] != 0) & (dense[b] != 0)
        for k in range(n_kinds):
            in_kind = both & (col_kind == k)
            dots[p, k] = float(np.sum(dense[a, in_kind] * dense[b, in_kind]))
            shared[p, k] = int(in_kind.sum())
    return dots, shared


def _random_usage(rng, rows: int, cols: int, n_kinds: int, density: float):
    """A random non-negative matrix (dense and sorted CSR) and a kind for each column."""
    dense = np.where(rng.random((rows, cols)) < density, rng.random((rows, cols)) + 0.1, 0.0)
    matrix = sp.csr_matrix(dense)
    matrix.sort_indices()
    return dense, matrix, rng.integers(0, n_kinds, cols)


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_pair_products_match_dense_arithmetic(order):
    rng = np.random.default_rng(7)
    rows, cols, n_kinds = 60, 40, 3
    dense, matrix, col_kind = _random_usage(rng, rows, cols, n_kinds, density=0.3)
    left = rng.integers(0, rows, 500)
    right = rng.integers(0, rows, 500)  # includes self-pairs and repeated pairs
    if order == "sorted":
        key = np.argsort(left * rows + right, kind="stable")
        left, right = left[key], right[key]
    dots, shared = pair_products(matrix, col_kind, n_kinds, left, right)
    want_dots, want_shared = _reference(dense, col_kind, n_kinds, left, right)
    np.testing.assert_allclose(dots, want_dots, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(shared, want_shared)
    assert shared.sum() > 0  # the example exercises shared columns


def test_pair_products_of_rows_without_common_columns_are_zero():
    matrix = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]]))
    dots, shared = pair_products(matrix, np.array([0, 0, 1]), 2, np.array([0, 1, 0]), np.array([1, 2, 0]))
    np.testing.assert_array_equal(dots, [[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(shared, [[0, 0], [0, 0], [1, 0]])


def test_many_pairs_in_parallel_blocks_match_dense_arithmetic():
    from graphlinker.analysis import pair_kernel

    rng = np.random.default_rng(11)
    rows, cols, n_kinds = 200, 50, 4
    dense, matrix, col_kind = _random_usage(rng, rows, cols, n_kinds, density=0.25)
    n = 5 * pair_kernel.PAIRS_PER_BLOCK  # several blocks
    left = np.sort(rng.integers(0, rows, n))
    right = rng.integers(0, rows, n)
    dots, shared = pair_products(matrix, col_kind, n_kinds, left, right)
    kind_of = np.eye(n_kinds)[col_kind]  # column → one-hot kind
    np.testing.assert_allclose(dots, (dense[left] * dense[right]) @ kind_of, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(shared, ((dense[left] != 0) & (dense[right] != 0)) @ kind_of)
