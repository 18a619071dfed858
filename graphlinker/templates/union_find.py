"""Disjoint sets over ``0..n-1`` (union–find with path halving), compiled, for single linkage.

Template grouping links a chunk's texts in waves and, before each wave, asks which candidate pairs
are still in different components. Rebuilding the components with scipy's ``connected_components``
after every wave sorted the whole link list each time (a COO → CSR conversion); a forest that is
only ever united answers the question in near-constant time per pair. scipy's own
``scipy.cluster.hierarchy.DisjointSet`` is per-element Python, too slow for millions of pairs.

Roots are always the smallest member of their set (the smaller root wins a union), so
:func:`roots` also names each set's earliest element.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["forest", "unite", "apart", "roots"]


def forest(n: int) -> np.ndarray:
    """``n`` singleton sets."""
    return np.arange(n, dtype=np.int64)


def unite(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Join the sets of ``a[i]`` and ``b[i]`` for every ``i``."""
    if len(a):
        _unite(parent, np.asarray(a, np.int64), np.asarray(b, np.int64))


def apart(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask of the pairs ``(a[i], b[i])`` that are in different sets."""
    out = np.zeros(len(a), dtype=np.bool_)
    if len(a):
        _apart(parent, np.asarray(a, np.int64), np.asarray(b, np.int64), out)
    return out


def roots(parent: np.ndarray) -> np.ndarray:
    """The root (smallest member) of every element's set."""
    out = np.empty(len(parent), dtype=np.int64)
    _roots(parent, out)
    return out


@njit(cache=True, nogil=True)
def _find(parent, x):  # pragma: no cover - compiled
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _unite(parent, a, b):  # pragma: no cover - compiled
    for i in range(len(a)):
        ra, rb = _find(parent, a[i]), _find(parent, b[i])
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb


@njit(cache=True, nogil=True)
def _apart(parent, a, b, out):  # pragma: no cover - compiled
    for i in range(len(a)):
        out[i] = _find(parent, a[i]) != _find(parent, b[i])


@njit(cache=True, nogil=True)
def _roots(parent, out):  # pragma: no cover - compiled
    for x in range(len(parent)):
        out[x] = _find(parent, x)
