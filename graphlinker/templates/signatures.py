"""MinHash signatures of shingle sets, and what their agreement says about Jaccard similarity.

Permutation ``p`` maps a shingle hash ``h`` to ``(a_p·h + b_p) mod 2^64 >> 32``; a signature is
the per-permutation minimum over a text's shingles (Broder 1997). The share of equal positions
of two signatures estimates the Jaccard similarity of their sets; banding turns that into LSH
candidates with probability ``1 - (1 - s^r)^b`` (``docs/template-grouping.md``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from graphlinker.templates.shingles import Shingles

__all__ = ["minhash_into", "candidate_probability", "estimated_jaccard", "agreements", "earliest_agreeing"]

_U64 = np.uint64
_MINHASH_BATCH = 1 << 17  # shingles hashed at once per permutation (1 MB: stays in cache)


def candidate_probability(s: float | np.ndarray, rows: int, bands: int) -> float | np.ndarray:
    """Probability that texts of Jaccard similarity ``s`` share a band key: ``1 - (1 - s^r)^b``."""
    return 1.0 - (1.0 - np.asarray(s, dtype=float) ** rows) ** bands


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise share of equal positions of two (broadcastable) signature arrays."""
    a, b = np.asarray(a), np.asarray(b)
    return np.count_nonzero(a == b, axis=-1) / a.shape[-1]


def minhash_into(sh: Shingles, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (n, len(a)) with each text's minimum of ``(a·h + b) >> 32`` per permutation.

    Works on batches of about ``_MINHASH_BATCH`` shingles, one permutation at
    a time, reusing one buffer: the working set stays in cache.
    """
    indptr, hashes = sh.indptr, sh.hashes
    n = len(indptr) - 1
    buf = np.empty(max(_MINHASH_BATCH, int(np.diff(indptr).max(initial=1))), dtype=np.uint64)
    t0 = 0
    while t0 < n:
        t1 = max(t0 + 1, int(np.searchsorted(indptr, indptr[t0] + _MINHASH_BATCH, side="right")) - 1)
        t1 = min(t1, n)
        lo, hi = indptr[t0], indptr[t1]
        h, offsets, v = hashes[lo:hi], indptr[t0:t1] - lo, buf[: hi - lo]
        for p in range(len(a)):
            np.multiply(h, a[p], out=v)
            v += b[p]
            out[t0:t1, p] = np.minimum.reduceat(v, offsets) >> _U64(32)
        t0 = t1


def earliest_agreeing(sig: np.ndarray, rows: np.ndarray, qi: np.ndarray, cand: np.ndarray, cand_sigs: np.ndarray,
                      need: int) -> np.ndarray:
    """Per row ``r`` of ``rows``, the smallest ``cand[i]`` with ``qi[i] == r``'s position whose signature
    agrees with ``sig[rows[qi[i]]]`` in at least ``need`` positions, or -1.

    ``(qi, cand)`` must be sorted by ``qi`` then ``cand`` (distinct pairs). One compiled pass: a
    row's candidates are tried in ascending order and the row stops at its first success, and a
    comparison stops as soon as it has ``need`` agreements or can no longer reach them.
    """
    best = np.full(len(rows), -1, dtype=np.int64)
    if len(qi):
        _earliest_agreeing(sig, np.asarray(rows, np.int64), np.asarray(qi, np.int64), np.asarray(cand, np.int64),
                           cand_sigs, need, best)
    return best


@njit(cache=True, nogil=True)
def _earliest_agreeing(sig, rows, qi, cand, cand_sigs, need, best):  # pragma: no cover - compiled
    width = sig.shape[1]
    for i in range(len(qi)):
        q = qi[i]
        if best[q] >= 0:
            continue
        a, b = sig[rows[q]], cand_sigs[cand[i]]
        agree = 0
        for p in range(width):
            if a[p] == b[p]:
                agree += 1
                if agree >= need:
                    break
            elif agree + (width - p - 1) < need:
                break
        if agree >= need:
            best[q] = cand[i]


def agreements(sig_a: np.ndarray, rows_a: np.ndarray, sig_b: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    """Equal positions of ``sig_a[rows_a[i]]`` and ``sig_b[rows_b[i]]`` for every ``i`` (no rows gathered)."""
    out = np.zeros(len(rows_a), dtype=np.int64)
    if len(rows_a):
        _agreements(sig_a, np.asarray(rows_a, np.int64), sig_b, np.asarray(rows_b, np.int64), out)
    return out


@njit(cache=True, nogil=True)
def _agreements(sig_a, rows_a, sig_b, rows_b, out):  # pragma: no cover - compiled
    width = sig_a.shape[1]
    for i in range(len(rows_a)):
        a, b = sig_a[rows_a[i]], sig_b[rows_b[i]]
        agree = 0
        for p in range(width):
            agree += a[p] == b[p]
        out[i] = agree
