"""Texts as one UTF-8 buffer for the compiled kernels: each text's xxhash64 and its codepoints.

The template grouper hashes every distinct text (its id) and shingles its codepoints. Going
through a Python ``str`` per text for that (an Arrow array to a list, ``str.encode`` twice, a
hash call per text) took 0.25 s of 1.7 s for the 113k distinct labelled prompts; reading the
Arrow array's buffers in two compiled passes takes a few hundredths (``docs/template-grouping.md``).
The hash is XXH64 as the ``xxhash`` package computes it (``tests/test_utf8.py`` compares them).

Reference: Y. Collet, "xxHash fast digest algorithm", XXH64 specification (``doc/xxhash_spec.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

__all__ = ["Codepoints", "utf8_buffers", "xxh64", "codepoints"]

_U64 = np.uint64
_P1 = _U64(0x9E3779B185EBCA87)
_P2 = _U64(0xC2B2AE3D27D4EB4F)
_P3 = _U64(0x165667B19E3779F9)
_P4 = _U64(0x85EBCA77C2B2AE63)
_P5 = _U64(0x27D4EB2F165667C5)


@dataclass(frozen=True)
class Codepoints:
    """Texts as concatenated codepoints: text ``i`` is ``cps[starts[i]:starts[i + 1]]``."""

    cps: np.ndarray  # uint32
    starts: np.ndarray  # (n + 1,) int64

    def __len__(self) -> int:
        return len(self.starts) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    @classmethod
    def of_strings(cls, texts: list[str]) -> Codepoints:
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        starts = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lens, out=starts[1:])
        cps = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return cls(cps, starts)

    def range(self, t0: int, t1: int) -> Codepoints:
        """Texts ``t0 .. t1 - 1`` (views, no copy of the codepoints)."""
        lo, hi = int(self.starts[t0]), int(self.starts[t1])
        return Codepoints(self.cps[lo:hi], self.starts[t0 : t1 + 1] - lo)

    def take(self, rows: np.ndarray) -> Codepoints:
        """The texts of ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        lens = self.starts[rows + 1] - self.starts[rows]
        starts = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lens, out=starts[1:])
        cps = np.empty(int(starts[-1]), dtype=np.uint32)
        _gather(self.cps, self.starts, rows, starts, cps)
        return Codepoints(cps, starts)


def utf8_buffers(strings: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, data)`` of a string array: text ``i`` is ``data[offsets[i]:offsets[i + 1]]`` (nulls: empty)."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks() if strings.num_chunks else pa.array([], pa.large_string())
    strings = pc.fill_null(strings.cast(pa.large_string()), "")
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    return offsets, data


def xxh64(offsets: np.ndarray, data: np.ndarray, seed: int = 0) -> np.ndarray:
    """XXH64 (``seed``) of each text's UTF-8 bytes, as uint64."""
    out = np.empty(len(offsets) - 1, dtype=np.uint64)
    _xxh64_all(offsets, data, _U64(seed), out)
    return out


def codepoints(offsets: np.ndarray, data: np.ndarray) -> Codepoints:
    """Each text's codepoints, decoded from valid UTF-8 (as Arrow guarantees)."""
    starts = np.zeros(len(offsets), dtype=np.int64)
    cps = _decode(offsets, data, starts)
    return Codepoints(cps, starts)


@njit(cache=True, nogil=True)
def _gather(cps, starts, rows, new_starts, out):  # pragma: no cover - compiled
    for r in range(len(rows)):
        lo, w = starts[rows[r]], new_starts[r]
        for i in range(new_starts[r + 1] - w):
            out[w + i] = cps[lo + i]


@njit(cache=True, nogil=True)
def _decode(offsets, data, starts):  # pragma: no cover - compiled
    n = len(offsets) - 1
    total = 0
    for i in range(offsets[0], offsets[n]):  # a codepoint per byte that does not continue one
        total += (data[i] & 0xC0) != 0x80
    out = np.empty(total, dtype=np.uint32)
    w = 0
    for t in range(n):
        starts[t] = w
        i, end = offsets[t], offsets[t + 1]
        while i < end:
            b = np.uint32(data[i])
            if b < 0x80:
                cp, extra = b, 0
            elif b < 0xE0:
                cp, extra = b & 0x1F, 1
            elif b < 0xF0:
                cp, extra = b & 0x0F, 2
            else:
                cp, extra = b & 0x07, 3
            extra = min(extra, end - i - 1)  # a sequence cut short (invalid UTF-8) never reads past its text
            for j in range(1, extra + 1):
                cp = (cp << np.uint32(6)) | (np.uint32(data[i + j]) & np.uint32(0x3F))
            out[w] = cp
            w += 1
            i += extra + 1
    starts[n] = w
    return out


@njit(cache=True, nogil=True, inline="always")
def _rotl(x, r):  # pragma: no cover - compiled
    return (x << _U64(r)) | (x >> _U64(64 - r))


@njit(cache=True, nogil=True, inline="always")
def _read64(data, i):  # pragma: no cover - compiled
    v = _U64(0)
    for j in range(8):
        v |= _U64(data[i + j]) << _U64(8 * j)
    return v


@njit(cache=True, nogil=True, inline="always")
def _round(acc, lane):  # pragma: no cover - compiled
    acc += lane * _P2
    return _rotl(acc, 31) * _P1


@njit(cache=True, nogil=True, inline="always")
def _merge_round(acc, v):  # pragma: no cover - compiled
    acc ^= _round(_U64(0), v)
    return acc * _P1 + _P4


@njit(cache=True, nogil=True)
def _xxh64_all(offsets, data, seed, out):  # pragma: no cover - compiled
    for t in range(len(offsets) - 1):
        i, end = offsets[t], offsets[t + 1]
        length = end - i
        if length >= 32:
            v1, v2, v3, v4 = seed + _P1 + _P2, seed + _P2, seed, seed - _P1
            while i + 32 <= end:
                v1 = _round(v1, _read64(data, i))
                v2 = _round(v2, _read64(data, i + 8))
                v3 = _round(v3, _read64(data, i + 16))
                v4 = _round(v4, _read64(data, i + 24))
                i += 32
            h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
            h = _merge_round(h, v1)
            h = _merge_round(h, v2)
            h = _merge_round(h, v3)
            h = _merge_round(h, v4)
        else:
            h = seed + _P5
        h += _U64(length)
        while i + 8 <= end:
            h ^= _round(_U64(0), _read64(data, i))
            h = _rotl(h, 27) * _P1 + _P4
            i += 8
        if i + 4 <= end:
            word = _U64(0)
            for j in range(4):
                word |= _U64(data[i + j]) << _U64(8 * j)
            h ^= word * _P1
            h = _rotl(h, 23) * _P2 + _P3
            i += 4
        while i < end:
            h ^= _U64(data[i]) * _P5
            h = _rotl(h, 11) * _P1
            i += 1
        h ^= h >> _U64(33)
        h *= _P2
        h ^= h >> _U64(29)
        h *= _P3
        h ^= h >> _U64(32)
        out[t] = h
