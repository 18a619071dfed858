"""Compiled kernels for the similarity of chosen account pairs.

Linking never forms the full product ``X·Xᵀ`` of the account–identifier matrix
(that is quadratic in the number of accounts sharing an identifier); it only
evaluates the pairs it chose. For a pair this is a merge of two sorted CSR rows,
``O(nnz_a + nnz_b)``, accumulated per signal kind. Written with numba because
scipy has no "dot products of these row pairs" primitive: its nearest equivalent
(``X[a].multiply(X[b])`` per kind, in chunks) took 2.0× as long on 400k pairs of rows with 80
identifiers each (``bench/bench_linking.py``, same process, same results) and materialises
both rows of every pair of a chunk, where the kernel allocates only its output.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _pair_products(indptr, indices, data, col_kind, n_kinds, left, right, dots, shared):
    for p in range(left.shape[0]):
        i, j = indptr[left[p]], indptr[right[p]]
        i_end, j_end = indptr[left[p] + 1], indptr[right[p] + 1]
        while i < i_end and j < j_end:
            ci, cj = indices[i], indices[j]
            if ci == cj:
                k = col_kind[ci]
                dots[p, k] += data[i] * data[j]
                shared[p, k] += 1
                i += 1
                j += 1
            elif ci < cj:
                i += 1
            else:
                j += 1


def pair_products(matrix, col_kind: np.ndarray, n_kinds: int, left: np.ndarray, right: np.ndarray):
    """Per-kind dot products and shared-identifier counts of row pairs ``(left[p], right[p])``.

    ``matrix`` is a CSR matrix with sorted indices; ``col_kind`` maps each column to its
    kind number. Returns ``(dots, shared)``, both ``len(left) × n_kinds``.
    """
    dots = np.zeros((len(left), n_kinds), dtype=np.float64)
    shared = np.zeros((len(left), n_kinds), dtype=np.int32)
    if len(left):
        _pair_products(matrix.indptr, matrix.indices, matrix.data, col_kind.astype(np.int64), n_kinds,
                       np.asarray(left, np.int64), np.asarray(right, np.int64), dots, shared)
    return dots, shared
