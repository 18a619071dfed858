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


def candidate_probability(s: float | np.ndarray, rows: int, bands: int) -> float | np.ndarray:
    """Probability that texts of Jaccard similarity ``s`` share a band key: ``1 - (1 - s^r)^b``."""
    return 1.0 - (1.0 - np.asarray(s, dtype=float) ** rows) ** bands


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise share of equal positions of two (broadcastable) signature arrays."""
    a, b = np.asarray(a), np.asarray(b)
    return np.count_nonzero(a == b, axis=-1) / a.shape[-1]


def minhash_into(sh: Shingles, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (n, len(a)) with each text's minimum of ``(a·h + b) >> 32`` per permutation.

    One compiled pass: eight shingles at a time, all permutations in the inner loop (it vectorises,
    and the running minima are read and written once per eight shingles). It replaced NumPy per
    permutation over batches of shingles (multiply, add, ``minimum.reduceat``): the same signatures,
    0.045 s instead of 0.25 s for the 22.5M shingles of the 113k distinct labelled prompts (one
    shingle at a time: 0.25 s; four: 0.07 s; ``docs/template-grouping.md``, "Throughput").
    """
    if len(sh.indptr) > 1:
        _minhash(sh.indptr, sh.hashes, a, b, out)


@njit(cache=True, nogil=True)
def _minhash(indptr, hashes, a, b, out):  # pragma: no cover - compiled
    low = np.empty(len(a), np.uint64)
    for t in range(len(indptr) - 1):
        i, hi = indptr[t], indptr[t + 1]
        low[:] = np.uint64(0xFFFFFFFFFFFFFFFF)
        while i + 7 < hi:
            h0, h1, h2, h3 = hashes[i], hashes[i + 1], hashes[i + 2], hashes[i + 3]
            h4, h5, h6, h7 = hashes[i + 4], hashes[i + 5], hashes[i + 6], hashes[i + 7]
            for p in range(len(a)):
                ap, bp = a[p], b[p]
                first = min(min(ap * h0 + bp, ap * h1 + bp), min(ap * h2 + bp, ap * h3 + bp))
                second = min(min(ap * h4 + bp, ap * h5 + bp), min(ap * h6 + bp, ap * h7 + bp))
                low[p] = min(low[p], min(first, second))
            i += 8
        while i < hi:
            h = hashes[i]
            for p in range(len(a)):
                low[p] = min(low[p], a[p] * h + b[p])
            i += 1
        for p in range(len(a)):
            out[t, p] = np.uint32(low[p] >> np.uint64(32))


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
