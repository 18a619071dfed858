"""Character shingles of texts, hashed without a per-shingle Python loop, and their exact Jaccard.

A text's shingles are its character windows of weight ``k``; characters of scripts written
without spaces (Han, Kana, Hangul, Bopomofo: :data:`WIDE_RANGES`) weigh :data:`WIDE_WEIGHT`,
so their windows are character bigrams. Why these choices, and what they were measured
against: ``docs/template-grouping.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from numba import njit

from graphlinker.arrays import distinct
from graphlinker.templates.normalise import as_text
from graphlinker.templates.utf8 import Codepoints

__all__ = ["Shingles", "shingles", "ExactSets", "fmix64", "char_batches", "text_list", "WIDE_RANGES", "WIDE_WEIGHT"]

_U64 = np.uint64
_FMIX1 = _U64(0xFF51AFD7ED558CCD)
_FMIX2 = _U64(0xC4CEB9FE1A85EC53)
_POLY = _U64(0x9E3779B97F4A7C15)  # odd multiplier of the codepoint polynomial
_WIDTH_SALT = _U64(0xD6E8FEB86659FD93)  # windows of different widths hash apart
_EMPTY_SHINGLE = _U64(0x6A09E667F3BCC908)  # the one shingle of the empty text

# Codepoint ranges of the scripts whose characters weigh WIDE_WEIGHT in a shingle.
WIDE_RANGES: tuple[tuple[int, int], ...] = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x318F),  # Bopomofo, Hangul compatibility Jamo
    (0x31A0, 0x31FF),  # Bopomofo extended, CJK strokes, Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)
WIDE_WEIGHT = 3
_WIDE_EDGES = np.array([edge for lo, hi in WIDE_RANGES for edge in (lo, hi + 1)], dtype=np.uint32)


class Shingles(NamedTuple):
    """Shingle hashes of several texts in CSR form.

    Text ``i`` has ``hashes[indptr[i]:indptr[i + 1]]``: at least one, in text
    order, repeated when a window repeats; equal windows hash equally in every
    text and call, so ``set(...)`` of a slice is the text's shingle set.
    """

    indptr: np.ndarray  # (n + 1,) int64
    hashes: np.ndarray  # (indptr[-1],) uint64

    def sets(self) -> list[set[int]]:
        """Each text's set of shingle hashes (Python ints), for exact Jaccard in benchmarks."""
        bounds = self.indptr.tolist()
        values = self.hashes.tolist()
        return [set(values[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]


def shingles(texts, k: int = 5) -> Shingles:
    """Hashes of the weight-``k`` character windows of each text (``docs/template-grouping.md``);
    ``texts`` are strings or :class:`~graphlinker.templates.utf8.Codepoints`."""
    if not isinstance(texts, Codepoints):
        texts = Codepoints.of_strings(text_list(texts))
    return _shingle_codepoints(texts.cps, texts.lengths, k)


def text_list(texts) -> list[str]:
    """Texts as a list of str (NA → ``""``), without copying a list that already is one."""
    if isinstance(texts, pd.Series):
        return as_text(texts).tolist()
    texts = list(texts)
    if all(type(t) is str for t in texts):
        return texts
    return as_text(pd.Series(texts, dtype=object)).tolist()


def _shingle_codepoints(cps: np.ndarray, lens: np.ndarray, k: int) -> Shingles:
    """CSR shingle hashes of texts given as concatenated codepoints and their lengths.

    One compiled pass (numba) over the codepoints: per position the window's width (its
    codepoints until their weights reach ``k``), its polynomial hash, the width salt and
    MurmurHash3's finaliser; a text without a complete window gets one hash of its whole text.
    The same values as the numpy passes it replaced (``tests/test_minhash.py`` checks them
    against a scalar reference: stored signatures depend on them), 1.8x as fast: 0.47 s instead
    of 0.87 s for 113k distinct labelled prompts (22.5M shingles), best of 3 on one core; 0.12 s
    since texts without wide characters use a rolling hash and wide characters are looked up here.
    """
    starts = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    indptr, hashes = _shingle_kernel(cps, _WIDE_EDGES, starts, k, WIDE_WEIGHT)
    return Shingles(indptr, hashes)


@njit(cache=True, nogil=True, inline="always")
def _is_wide(cp, edges):  # pragma: no cover - compiled
    """Whether a codepoint lies in :data:`WIDE_RANGES` (``edges``: their bounds, sorted)."""
    return cp >= edges[0] and (np.searchsorted(edges, cp, side="right") & 1) == 1


@njit(cache=True, nogil=True)
def _shingle_kernel(cps, edges, starts, k, wide_weight):  # pragma: no cover - compiled
    n, total = len(starts) - 1, len(cps)
    top = np.uint64(1)  # _POLY ** (k - 1): the weight of a window's first character
    for _ in range(k - 1):
        top *= _POLY
    out = np.empty(total + n, dtype=np.uint64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    w = 0
    for t in range(n):
        lo, hi = starts[t], starts[t + 1]
        first = w
        has_wide = False
        for p in range(lo, hi):
            if _is_wide(cps[p], edges):
                has_wide = True
                break
        if not has_wide and hi - lo >= k:  # every window is k characters: a rolling hash, the same values
            h = np.uint64(0)
            for j in range(k):
                h = h * _POLY + np.uint64(cps[lo + j])
            salt = np.uint64(k) * _WIDTH_SALT
            for p in range(lo, hi - k + 1):
                if p > lo:
                    h = (h - np.uint64(cps[p - 1]) * top) * _POLY + np.uint64(cps[p + k - 1])
                out[w] = fmix64(h + salt)
                w += 1
            indptr[t + 1] = w
            continue
        for p in range(lo, hi):
            width = k  # every character weighs 1: a window is k characters
            if has_wide:
                reached, width = 0, 0
                for j in range(k):  # weights past the end of the batch count 1, as padding
                    reached += wide_weight if p + j < total and _is_wide(cps[p + j], edges) else 1
                    if reached >= k:
                        width = j + 1
                        break
            if width > hi - p:  # the window would end past its text
                continue
            h = np.uint64(0)
            for j in range(width):
                h = h * _POLY + np.uint64(cps[p + j])
            out[w] = fmix64(h + np.uint64(width) * _WIDTH_SALT)
            w += 1
        if w == first:  # shorter than a window (or empty): one shingle, the whole text
            if hi == lo:
                out[w] = _EMPTY_SHINGLE
            else:
                h = np.uint64(0)
                for p in range(lo, hi):
                    h = h * _POLY + np.uint64(cps[p])
                out[w] = fmix64(h + np.uint64(hi - lo) * _WIDTH_SALT)
            w += 1
        indptr[t + 1] = w
    return indptr, out[:w]  # a view: a copy would briefly hold the hashes twice


@njit(cache=True, nogil=True)
def fmix64(x):  # pragma: no cover - compiled
    """MurmurHash3's 64-bit finaliser (compiled, on one uint64): every input bit affects every output bit."""
    x ^= x >> np.uint64(33)
    x *= _FMIX1
    x ^= x >> np.uint64(33)
    x *= _FMIX2
    x ^= x >> np.uint64(33)
    return x


def char_batches(lens: np.ndarray, limit: int):
    """Consecutive ``(start, stop)`` text ranges of at most ``limit`` codepoints (at least one text each)."""
    ends = np.cumsum(lens)
    t0, n = 0, len(lens)
    while t0 < n:
        before = ends[t0 - 1] if t0 else 0
        t1 = max(t0 + 1, int(np.searchsorted(ends, before + limit, side="right")))
        yield t0, min(t1, n)
        t0 = t1


SORT_BATCH = 1 << 17  # hashes sorted per NumPy call: 1 MiB, reused (a fresh 80 MB matrix cost 0.2 s in page faults)


class ExactSets:
    """The exact shingle sets of a chunk's texts, for Jaccard checks of chosen pairs.

    Takes over ``sh``'s hash array: the first time a text is checked, its slice is sorted and
    cleared of repeats in place, so only texts that are checked pay for it; a pair is then a merge
    of two sorted slices. The slices are sorted by NumPy, a batch of them at once as the rows of a
    padded matrix (one per power-of-two length class): its SIMD sort took 0.03 s where sorting each
    slice in a compiled loop took 0.45 s, for the 78k texts checked among the 113k distinct labelled
    prompts (``docs/template-grouping.md``, "Throughput"). This replaced a binary CSR matrix of the
    chunk (every hash factorised to a column, rows gathered and multiplied per pair block).
    """

    def __init__(self, sh: Shingles):
        self.indptr, self.hashes = sh.indptr, sh.hashes
        self.ends = np.full(len(sh.indptr) - 1, -1, dtype=np.int64)  # per text: end of its distinct hashes, -1 until sorted

    def jaccard(self, rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
        """Exact Jaccard similarity of the shingle sets of each pair ``(rows_a[i], rows_b[i])``."""
        rows_a, rows_b = np.asarray(rows_a, np.int64), np.asarray(rows_b, np.int64)
        out = np.empty(len(rows_a), dtype=np.float64)
        if len(rows_a):
            self._sort(np.r_[rows_a, rows_b])
            _jaccard_pairs(self.indptr, self.hashes, self.ends, rows_a, rows_b, out)
        return out

    def reach(self, rows_a: np.ndarray, rows_b: np.ndarray, threshold: float) -> np.ndarray:
        """Whether each pair's exact Jaccard is at least ``threshold`` (what :meth:`jaccard` ``>= threshold``
        says): a merge stops once the shared hashes so far settle it either way."""
        rows_a, rows_b = np.asarray(rows_a, np.int64), np.asarray(rows_b, np.int64)
        out = np.empty(len(rows_a), dtype=np.bool_)
        if len(rows_a):
            self._sort(np.r_[rows_a, rows_b])
            _reach_pairs(self.indptr, self.hashes, self.ends, rows_a, rows_b, float(threshold), out)
        return out

    def _sort(self, rows: np.ndarray) -> None:
        """Sort and clear of repeats the slices of those ``rows`` not done yet."""
        rows = rows[self.ends[rows] < 0]
        if not rows.size:
            return
        rows = distinct(rows)
        lengths = self.indptr[rows + 1] - self.indptr[rows]
        width_class = np.maximum(np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64), 4)
        buffer = np.empty(max(SORT_BATCH, 1 << int(width_class.max())), dtype=np.uint64)
        for cls in distinct(width_class):
            chosen = rows[width_class == cls]
            width = 1 << int(cls)
            step = max(SORT_BATCH // width, 1)
            for at in range(0, len(chosen), step):
                batch = chosen[at : at + step]
                padded = buffer[: len(batch) * width].reshape(len(batch), width)
                _pad(self.indptr, self.hashes, batch, padded)
                padded.sort(axis=1)
                _distinct_back(self.indptr, self.hashes, self.ends, batch, padded)


@njit(cache=True, nogil=True)
def _pad(indptr, hashes, rows, padded):  # pragma: no cover - compiled
    """Row ``r`` of ``padded``: the slice of ``rows[r]``, then the largest uint64 (sorts last)."""
    top = np.uint64(0xFFFFFFFFFFFFFFFF)
    width = padded.shape[1]
    for r in range(len(rows)):
        lo, n = indptr[rows[r]], indptr[rows[r] + 1] - indptr[rows[r]]
        for i in range(n):
            padded[r, i] = hashes[lo + i]
        for i in range(n, width):
            padded[r, i] = top


@njit(cache=True, nogil=True)
def _distinct_back(indptr, hashes, ends, rows, padded):  # pragma: no cover - compiled
    """Each sorted row back into its slice, without repeats; ``ends`` marks where its distinct hashes end."""
    for r in range(len(rows)):
        lo, hi = indptr[rows[r]], indptr[rows[r] + 1]
        hashes[lo] = padded[r, 0]
        w = lo + 1
        for i in range(1, hi - lo):
            if padded[r, i] != hashes[w - 1]:
                hashes[w] = padded[r, i]
                w += 1
        ends[rows[r]] = w


@njit(cache=True, nogil=True)
def _jaccard_pairs(indptr, hashes, ends, rows_a, rows_b, out):  # pragma: no cover - compiled
    for k in range(len(rows_a)):
        a, b = rows_a[k], rows_b[k]
        size = (ends[a] - indptr[a]) + (ends[b] - indptr[b])
        common = _shared(indptr, hashes, ends, a, b, -1)
        out[k] = common / max(size - common, 1)


@njit(cache=True, nogil=True)
def _reach_pairs(indptr, hashes, ends, rows_a, rows_b, threshold, out):  # pragma: no cover - compiled
    for k in range(len(rows_a)):
        a, b = rows_a[k], rows_b[k]
        size = (ends[a] - indptr[a]) + (ends[b] - indptr[b])
        # the fewest shared hashes whose Jaccard (the same float expression as _jaccard_pairs) reaches it
        need = max(int(threshold * size / (1.0 + threshold)) - 1, 0)
        while need / max(size - need, 1) < threshold:
            need += 1
        out[k] = _shared(indptr, hashes, ends, a, b, need) >= need


@njit(cache=True, nogil=True, inline="always")
def _shared(indptr, hashes, ends, a, b, need):  # pragma: no cover - compiled
    """Hashes the sorted, distinct slices of ``a`` and ``b`` share; with ``need`` >= 0 the merge stops
    once the count so far settles whether it reaches ``need`` (the count is then exact only up to that)."""
    i, i_end, j, j_end = indptr[a], ends[a], indptr[b], ends[b]
    common = 0
    while i < i_end and j < j_end and (need < 0 or (common < need and common + min(i_end - i, j_end - j) >= need)):
        x, y = hashes[i], hashes[j]  # without branches: which side steps is a coin toss
        common += np.int64(x == y)
        i += np.int64(x <= y)
        j += np.int64(y <= x)
    return common
