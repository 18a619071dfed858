"""Near-duplicate templates: MinHash over character shingles with LSH banding.

Why
---
Extraction operations do not only send one template with the slots changed
(which :mod:`~graphlinker.templates.normalise` already folds into one text):
they paraphrase it ("solve" / "work out"), reorder clauses, or vary the wording
around the slots, so that exact fingerprints split one operation into many
templates.  :class:`MinHashGrouper` groups normalised texts whose sets of
character shingles overlap strongly (Jaccard similarity at least ``threshold``)
into one template, chunk by chunk, keeping state across chunks.

Shingles
--------
A text's shingles are its character windows of weight ``k`` (``shingle``,
default 5): a window starts at every character and takes the following
characters until their weights add up to ``k``.  Characters weigh 1, except
those of scripts written without spaces or with a word or syllable per
character (Han, Hiragana, Katakana, Hangul, Bopomofo; :data:`WIDE_RANGES`),
which weigh :data:`WIDE_WEIGHT` = 3, so their windows are two characters long
(character bigrams, the usual unit for indexing CJK text).  Measured on ten
hand-written Chinese instruction templates of 34 to 43 characters, each with a
variant that swaps two or three words for synonyms (3 to 6 characters), plus
a Japanese and a Korean pair, the exact Jaccard similarity of a Chinese
variant to its original averaged

    ==========================  ====  ====  ====  ====
    weight of a CJK character   1     2     3     5
    characters per CJK window   5     3     2     1
    variant vs original (mean)  0.46  0.61  0.69  0.81
    distinct templates (max)    0.00  0.02  0.05  0.21
    ==========================  ====  ====  ====  ====

With 5-character windows every changed character breaks five windows, so a
Chinese paraphrase would rarely reach 0.7; single characters join variants
easily but distinct templates share frequent characters (的, 请, 下面).
Bigrams put variants where an English paraphrase of similar extent lands
(three random words of thirty replaced: 0.75 on average) and keep distinct
templates apart.

Windows never cross text boundaries; a text whose total weight is below ``k``
has one shingle, the whole text; the empty text has one fixed shingle (so
empty texts form one template of their own).

Codepoints are hashed without a per-shingle Python loop: the texts are joined
and encoded as UTF-32, read as ``uint32``, and every window's polynomial hash is
accumulated over ``k`` shifted slices in ``uint64`` (wrapping), then mixed with
MurmurHash3's 64-bit finaliser.  :func:`shingles` exposes the result in CSR
form (``indptr``, ``hashes``), so a benchmark can compute exact Jaccard
similarities with the very same shingling.

MinHash
-------
Permutation ``p`` maps a shingle hash ``h`` to ``(a_p·h + b_p) mod 2^64 >> 32``
(``a_p`` odd and ``b_p`` random from ``np.random.default_rng(seed)``); a text's
signature is the per-permutation minimum over its shingles, ``num_perm``
(default 64) ``uint32`` values, computed by ``np.minimum.reduceat`` one
permutation at a time over batches of 2^17 shingles, so the working set
stays in cache and memory is bounded by a batch (blocks of 8 or 16
permutations at once, a ``(shingles × block)`` array, measured 4 to 6 times
slower).  The share of positions in
which two signatures agree estimates the Jaccard similarity of the shingle sets
(Broder 1997), with standard deviation ``sqrt(s(1-s)/num_perm)``, about 0.057
at s = 0.7 with 64 permutations.

LSH banding
-----------
A signature is cut into ``b = bands`` bands of ``r = num_perm / bands`` rows;
each band hashes to one ``uint64`` key (band number mixed in).  Two texts with
Jaccard similarity ``s`` share at least one band key, and so become
*candidates*, with probability ``1 - (1 - s^r)^b``.  Defaults ``r = 4, b = 16``:

    ====  =====  =====  =====  =====  =====  =====  =====
    s     0.2    0.3    0.4    0.5    0.6    0.7    0.8
    P     0.025  0.122  0.340  0.644  0.891  0.988  1.000
    ====  =====  =====  =====  =====  =====  =====  =====

The curve's midpoint ``(1/b)^(1/r) = 0.5`` lies well below the default
threshold 0.7, so near-duplicates are found (98.8 % at s = 0.7) and the extra
candidates are weeded out by verification: a candidate counts only when its
signature agrees with the text's in at least ``ceil(threshold · num_perm)``
positions (the estimated Jaccard is at least ``threshold``).

Grouping (leader clustering)
----------------------------
Every template has a *representative*, the first normalised text (in input
order) of the template; its id is the xxhash64 of that text, exactly what
:class:`~graphlinker.templates.fingerprint.ExactGrouper` gives the text, so a
text with no near-duplicate keeps its exact id, and ids are stable across runs
given the same input order.  The grouping is *sequential leader clustering*:
take the texts one by one; a text joins the **earliest** representative
(templates are ordered by creation) that is an LSH candidate of it and
verifies, else it founds a template.  Joining the earliest rather than the most
similar verified representative makes assignments stable: a later template
never takes a text away from an earlier one, so a text gets the same id
whenever it recurs, and feeding the same texts again returns the same ids.

Per chunk (:meth:`MinHashGrouper.ids`) the sequential result is computed
vectorised over the chunk's unique texts:

1. **Exact.**  A text whose xxhash64 is a known template id *is* that
   template's representative and gets its id (so exact duplicates of a
   representative always get its id, whatever the candidate cap below).
2. **Known templates.**  The other texts' band keys are looked up in the
   persistent bucket index (band key → representatives; only representatives
   are indexed), candidates verified, and a text with a verified candidate
   joins the earliest.  Known templates precede all of the chunk's.
3. **New templates, in rounds**, over the texts still *pending*:

   a. a pending text becomes a representative when no *earlier pending* text
      is a verified candidate of it (found by a self-join of the pending
      texts' band keys: the candidates of a text are the texts before it in
      each of its buckets).  An earlier pending text that verifies might yet
      become a representative, which the later text would have to join, so
      the later text waits.  This is also the guard against chaining drift: a
      text is never grouped through a chain (a ~ b ~ c with a and c far
      apart); it joins only a representative it verifies against itself;
   b. the other pending texts join the earliest verified representative that
      precedes them in the chunk; the rest stay pending for the next round.

   The earliest pending text always becomes a representative, so every round
   makes progress.  The benchmark below takes 3 rounds (50,000, then 3,825,
   then 145 texts pending); 50,000 texts sharing one boilerplate, most pairs
   around the threshold, take 15.  After :attr:`~MinHashGrouper.max_rounds` rounds the
   still-pending texts become representatives of their own.
4. After several rounds, texts that joined a new template are matched once
   more against all of the chunk's representatives, so that each joins the
   earliest one even if that one was confirmed in a later round.
5. New representatives are registered (signature, band keys, id) in input
   order.

By induction over input order, a partition equals the sequential one exactly
when no representative has an earlier verified candidate representative and
every other text has one (and joins the earliest); 3a and 3b maintain exactly
that, so the result does not depend on how the input is cut into chunks.  The
one exception is the candidate cap below, which can only matter for buckets
holding more than ``max_bucket`` entries: cutting 20,000 texts made of 500 or
100 families of drifting variants into 2 to 400 chunks changed no id, and for
5,000 texts made of 20 families of 250 variants it changed 1 (none with the
cap lifted).  The result is always deterministic for a given input and
chunking.

A first version found the representatives as the earliest texts of connected
components of verified star edges (each text to the first text of each of its
buckets, ``scipy.sparse.csgraph``), with a chaining guard that demoted a
leader verifying against an earlier leader.  It needed the same checks to
stay close to the sequential result and was still off for 0.2 to 0.6 % of the
texts of the drifting-family benchmarks; the rounds above are exact and were
faster (one self-join instead of edges, components and demotions).

Single linkage (the default)
----------------------------
Leader clustering is what the steps above compute with ``linkage="leader"``.
Measured on the labelled benchmark (``bench/bench_templates.py``), it splits
paraphrase families: their members are each within ~0.65-0.80 of one another,
but not all within the threshold of the one representative, so exact connected
components of the pairs >= 0.7 recovered 0.99 of the pairs inside such families
and leader clustering ~0.7 (pair recall against the exact components: 0.50).

With ``linkage="single"`` (the default) a chunk is grouped by
:meth:`MinHashGrouper._components`: the in-chunk LSH candidate pairs (each
entry of a band bucket with up to ``max_bucket`` entries before it) are
verified and the templates are the connected components of the verified pairs,
i.e. exact all-pairs Jaccard grouping up to LSH misses.  Verification uses the
exact Jaccard of the shingle sets (:func:`shingle_matrix`, :func:`exact_jaccard`)
for pairs whose estimate is within ``EXACT_MARGIN`` (0.2, over 3 standard
deviations) of the threshold, the estimate elsewhere.  A component that reaches
a known template (one of its texts verifies, by estimate, against a registered
text of an earlier chunk) joins the earliest such template; otherwise its
earliest text founds one.  Every text is registered (signature, band keys, own
text hash) with its template's id, so later chunks link through any member.
Templates named in an earlier chunk are never merged (ids once emitted stay):
a later text that bridges two joins the earlier.  Ids therefore depend on
chunking a little, and state grows with distinct texts rather than templates
(~470 bytes per text).  On 20,000 labelled prompts (one chunk) the result
matched exact connected components to pair precision 1.000 and recall 0.999.

Limits and state
----------------
* Each lookup reads at most :attr:`~MinHashGrouper.max_bucket` (16) entries
  per band bucket and per index run, the earliest ones, and candidates are
  verified in waves (earliest first; a text stops at its first verified
  candidate), so a dense family of thousands of distinct templates sharing
  boilerplate cannot make verification quadratic.  The worst case measured,
  50,000 texts of one 112-character boilerplate plus six random words (most
  pairs around the threshold: 15 rounds, 19,832 templates), takes 10 to 15 s
  instead of ~1.3 s (cap 32: 22 s and 19,485 templates; cap 8: 7 s and 20,235
  templates, i.e. 4 % of the joins missed).  A near-duplicate of a late
  member of such a family can be missed and found its own template.
* State per template: its signature (``4·num_perm`` bytes), id (8), band keys
  and slots in the bucket index (``12·bands``) and id index (12): 468 bytes with
  the defaults.  The indexes are sorted ``numpy`` runs merged like a
  log-structured merge tree (a few runs of geometrically growing size) and
  looked up with ``np.searchsorted`` on sorted queries.  Measured with 1.6
  million band keys: a Python dict took 120 bytes per entry and 570 ms for
  800,000 lookups (holding one slot per key only), the sorted runs 12 bytes and
  115 ms.
* A chunk is shingled and hashed in batches of about
  :attr:`~MinHashGrouper.batch_chars` codepoints, so memory is bounded by such
  a batch plus the chunk's signatures, band keys and candidate pairs (at most
  ``bands · max_bucket`` per text and index run, verified in blocks).
* Restoring (:meth:`~MinHashGrouper.restore`) registers templates in the order
  given, which is their precedence for "earliest"; a resumed grouper reproduces
  an uninterrupted run exactly when restored in creation order
  (:meth:`~MinHashGrouper.template_ids`); in another order (say, a table sorted
  by prompt count) only texts that verify against several templates can join
  a different one.

Throughput
----------
2 cores, single-threaded numpy, defaults (shingle 5, 64 permutations, 16
bands, threshold 0.7), 50,000 unique texts of ~150 characters (random words;
half of them variants of 2,000 base texts with one or two words replaced):
``ids()`` takes 1.1 to 1.9 s (medians of 5 runs: 1.3 to 1.6 s, other jobs
sharing the machine), i.e. **30,000 to 40,000 texts per second**, on a fresh
grouper and likewise for a second chunk against the first one's 33,000
templates; with 2 million templates already known (restored) about 23,000 per
second, the lookups in the larger index costing more.  Shingling and MinHash
take 0.6 to 0.7 s of it (75,000 to 80,000 texts per second).

References
----------
* A. Z. Broder, "On the resemblance and containment of documents",
  Compression and Complexity of Sequences 1997.
* J. Leskovec, A. Rajaraman, J. D. Ullman, *Mining of Massive Datasets*,
  chapter 3 "Finding Similar Items" (shingling, MinHash, LSH banding).
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from graphlinker.templates.fingerprint import _hash_all
from graphlinker.templates.normalise import as_text

__all__ = [
    "MinHashGrouper",
    "Shingles",
    "shingles",
    "estimated_jaccard",
    "candidate_probability",
    "WIDE_RANGES",
    "WIDE_WEIGHT",
]

_U64 = np.uint64
_FMIX1 = _U64(0xFF51AFD7ED558CCD)
_FMIX2 = _U64(0xC4CEB9FE1A85EC53)
_POLY = _U64(0x9E3779B97F4A7C15)  # odd multiplier of the codepoint polynomial
_WIDTH_SALT = _U64(0xD6E8FEB86659FD93)  # windows of different widths hash apart
_EMPTY_SHINGLE = _U64(0x6A09E667F3BCC908)  # the one shingle of the empty text
_BAND_SEED = 0x5EED_BA4D  # band-key multipliers; fixed so keys depend only on signatures

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

EXACT_MARGIN = 0.2  # estimates this far from the threshold are trusted without exact verification
_PAIR_BLOCK = 1 << 16  # candidate pairs verified at once (2 × 16 MB of gathered signatures)
_MINHASH_BATCH = 1 << 17  # shingles hashed at once per permutation (1 MB: stays in cache)
_HEX_ID = re.compile(r"[0-9a-f]{16}")


def candidate_probability(s: float | np.ndarray, rows: int, bands: int) -> float | np.ndarray:
    """Probability that texts of Jaccard similarity ``s`` share a band key: ``1 - (1 - s^r)^b``."""
    return 1.0 - (1.0 - np.asarray(s, dtype=float) ** rows) ** bands


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise share of equal positions of two (broadcastable) signature arrays."""
    a, b = np.asarray(a), np.asarray(b)
    return np.count_nonzero(a == b, axis=-1) / a.shape[-1]


# ----------------------------------------------------------------------------- shingling


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
    """Hashes of the weight-``k`` character windows of each text (see the module docstring)."""
    texts = _as_list(texts)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    cps = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return _shingle_codepoints(cps, lens, k)


def _as_list(texts) -> list[str]:
    """Texts as a list of str (NA → ``""``), without copying a list that already is one."""
    if isinstance(texts, pd.Series):
        return as_text(texts).tolist()
    texts = list(texts)
    if all(type(t) is str for t in texts):
        return texts
    return as_text(pd.Series(texts, dtype=object)).tolist()


def _shingle_codepoints(cps: np.ndarray, lens: np.ndarray, k: int) -> Shingles:
    """CSR shingle hashes of texts given as concatenated codepoints and their lengths."""
    n, total = len(lens), len(cps)
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    pad = np.zeros(total + k, dtype=np.uint64)
    pad[:total] = cps
    width = _window_widths(cps, k)
    valid = _valid_windows(starts, lens, width, k)
    window_hash = _hash_windows(pad, None, width, k)[valid]

    per_text = np.bincount(np.repeat(np.arange(n), lens)[valid], minlength=n) if total else np.zeros(n, np.int64)
    lone = np.flatnonzero(per_text == 0)  # shorter than k (or empty): one shingle, the whole text
    counts = np.maximum(per_text, 1)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    hashes = np.empty(indptr[-1], dtype=np.uint64)
    is_lone = np.zeros(len(hashes), dtype=bool)
    is_lone[indptr[lone]] = True
    hashes[~is_lone] = window_hash
    hashes[is_lone] = _whole_text_hashes(pad, starts[lone], lens[lone], k)
    return Shingles(indptr, hashes)


def _window_widths(cps: np.ndarray, k: int) -> np.ndarray | None:
    """Codepoints in the window starting at each position, or None when all are ``k`` (no wide script)."""
    if not len(cps) or int(cps.max()) < int(_WIDE_EDGES[0]):
        return None
    wide = (np.searchsorted(_WIDE_EDGES, cps, side="right") & 1).astype(bool)
    if not wide.any():
        return None
    weight = np.ones(len(cps) + k, dtype=np.int16)
    weight[: len(cps)][wide] = WIDE_WEIGHT
    reached = np.zeros(len(cps), dtype=np.int16)
    width = np.zeros(len(cps), dtype=np.int16)
    for j in range(k):  # one pass per window offset, vectorised over all positions
        reached += weight[j : j + len(cps)]
        width[(width == 0) & (reached >= k)] = j + 1
    return width


def _valid_windows(starts: np.ndarray, lens: np.ndarray, width: np.ndarray | None, k: int) -> np.ndarray:
    """Mask of the positions whose window ends inside their own text."""
    total = int(starts[-1])
    if width is None:  # fixed width: the last k - 1 positions of each text are invalid
        valid = np.ones(total, dtype=bool)
        ends, begins = starts[1:], starts[:-1]
        for back in range(1, k):
            valid[(ends - back)[ends - back >= begins]] = False
        return valid
    room = np.repeat(starts[1:], lens) - np.arange(total)  # codepoints from a position to its text's end
    return width <= room


def _hash_windows(pad: np.ndarray, at: np.ndarray | None, width: np.ndarray | int | None, k: int) -> np.ndarray:
    """Mixed polynomial hash of ``pad[s : s + width]`` for every start ``s`` (all, or those in ``at``)."""
    n = len(pad) - k if at is None else len(at)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        c = pad[j : j + n] if at is None else pad[at + j]
        if width is None:
            h *= _POLY
            h += c
        else:
            step = h * _POLY
            step += c
            np.copyto(h, step, where=np.asarray(width) > j)
    h += (np.asarray(width if width is not None else k).astype(np.uint64)) * _WIDTH_SALT
    return _fmix64(h)


def _whole_text_hashes(pad: np.ndarray, begins: np.ndarray, lens: np.ndarray, k: int) -> np.ndarray:
    """The single shingle of each text shorter than a window (a fixed value for the empty text)."""
    if not len(begins):
        return np.empty(0, dtype=np.uint64)
    h = _hash_windows(pad, begins, lens, k)
    h[lens == 0] = _EMPTY_SHINGLE
    return h


def _fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place: every input bit affects every output bit."""
    x ^= x >> _U64(33)
    x *= _FMIX1
    x ^= x >> _U64(33)
    x *= _FMIX2
    x ^= x >> _U64(33)
    return x


# ----------------------------------------------------------------------------- MinHash


def _minhash(sh: Shingles, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
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


def _char_batches(lens: np.ndarray, limit: int):
    """Consecutive ``(start, stop)`` text ranges of at most ``limit`` codepoints (at least one text each)."""
    ends = np.cumsum(lens)
    t0, n = 0, len(lens)
    while t0 < n:
        before = ends[t0 - 1] if t0 else 0
        t1 = max(t0 + 1, int(np.searchsorted(ends, before + limit, side="right")))
        yield t0, min(t1, n)
        t0 = t1


# ----------------------------------------------------------------------------- sorted-run index


class _RunIndex:
    """A ``uint64 → int32`` multimap kept as a few sorted runs (a log-structured merge).

    ``add`` appends a sorted run and merges runs while the older one is at most
    twice the newer, so there are O(log n) runs and each entry is merged
    O(log n) times.  Within a run, entries of equal key are in value order
    (values are slots or positions, so: earliest first).  Lookups sort their
    queries first: ``np.searchsorted`` with sorted queries walks the run
    almost sequentially (measured 7x faster than random order, the sort
    included, for 800,000 queries on a run of 16M keys).
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs)

    @property
    def nbytes(self) -> int:
        return sum(keys.nbytes + values.nbytes for keys, values in self._runs)

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        if not len(keys):
            return
        self._runs.append(_sorted_run(keys, values.astype(np.int32)))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            newer = self._runs.pop()
            self._runs.append(_merge_runs(self._runs.pop(), newer))

    def lookup(self, queries: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
        """``(query index, value)`` pairs with equal keys: per query and run, the first ``cap``
        entries (the earliest)."""
        rows, values = [], []
        order = np.argsort(queries)
        queries = queries[order]
        for keys, vals in self._runs:
            lo, hit = _hits(keys, queries)
            if not hit.size:
                continue
            lo = lo[hit]
            count = np.minimum(np.searchsorted(keys, queries[hit], side="right") - lo, cap)
            first = np.cumsum(count) - count
            offset = np.arange(int(count.sum())) - np.repeat(first, count)
            rows.append(order[np.repeat(hit, count)])
            values.append(vals[np.repeat(lo, count) + offset])
        if not rows:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(rows).astype(np.int64), np.concatenate(values).astype(np.int64)

    def first(self, queries: np.ndarray) -> np.ndarray:
        """The first value stored under each query key, or -1."""
        found = np.full(len(queries), -1, dtype=np.int64)
        order = np.argsort(queries)
        queries = queries[order]
        for keys, vals in self._runs:
            lo, hit = _hits(keys, queries)
            hit = hit[found[hit] < 0]
            found[hit] = vals[lo[hit]]
        out = np.empty_like(found)
        out[order] = found
        return out


def _sorted_run(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys sorted, equal keys in value order (a quicksort, then only the ties sorted by value:
    half the time of a stable argsort of 64-bit keys, unless the values already ascend, as
    when a stored grouper is loaded in bulk: then a stable sort is all it takes)."""
    if len(values) > 1 and bool((values[1:] >= values[:-1]).all()):
        order = np.argsort(keys, kind="stable")
        return keys[order], values[order]
    order = np.argsort(keys)
    sorted_keys = keys[order]
    same = sorted_keys[1:] == sorted_keys[:-1]
    if same.any():
        tie = np.zeros(len(keys), dtype=bool)
        tie[1:] |= same
        tie[:-1] |= same
        at = np.flatnonzero(tie)
        tied = order[at]
        order[at] = tied[np.lexsort((values[tied], sorted_keys[at]))]
    return keys[order], values[order]


def _hits(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left insertion points of the queries and the indices of those present in ``keys``."""
    lo = np.searchsorted(keys, queries, side="left")
    hit = np.flatnonzero(keys[np.minimum(lo, len(keys) - 1)] == queries)
    return lo, hit


def _merge_runs(older: tuple[np.ndarray, np.ndarray], newer: tuple[np.ndarray, np.ndarray]):
    """Linear merge of two sorted runs; on equal keys the older entries come first."""
    (ka, va), (kb, vb) = older, newer
    at = np.searchsorted(ka, kb, side="right") + np.arange(len(kb))
    keys = np.empty(len(ka) + len(kb), dtype=ka.dtype)
    values = np.empty(len(keys), dtype=va.dtype)
    from_a = np.ones(len(keys), dtype=bool)
    from_a[at] = False
    keys[at], values[at] = kb, vb
    keys[from_a], values[from_a] = ka, va
    return keys, values


def shingle_matrix(texts_or_shingles, k: int = 5):
    """Binary CSR matrix (texts × distinct shingles) of the texts' shingle sets (texts, or their :func:`shingles`)."""
    from scipy.sparse import csr_matrix

    sh = texts_or_shingles if isinstance(texts_or_shingles, Shingles) else shingles(texts_or_shingles, k)
    codes, uniques = pd.factorize(sh.hashes)
    matrix = csr_matrix((np.ones(len(codes), dtype=np.float32), codes, sh.indptr), shape=(len(sh.indptr) - 1, len(uniques)))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _pair_graph(a: np.ndarray, b: np.ndarray, n: int):
    from scipy.sparse import coo_matrix

    return coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))


def exact_jaccard(sets, rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of the shingle sets of each pair ``(rows_a[i], rows_b[i])`` of a
    :func:`shingle_matrix`, in blocks of pairs to bound memory."""
    sizes = np.diff(sets.indptr)
    out = np.empty(len(rows_a), dtype=np.float64)
    for lo in range(0, len(rows_a), _PAIR_BLOCK):
        a, b = rows_a[lo : lo + _PAIR_BLOCK], rows_b[lo : lo + _PAIR_BLOCK]
        inter = np.asarray(sets[a].multiply(sets[b]).sum(axis=1)).ravel()
        out[lo : lo + _PAIR_BLOCK] = inter / np.maximum(sizes[a] + sizes[b] - inter, 1)
    return out


# ----------------------------------------------------------------------------- grouper


class MinHashGrouper:
    """Groups normalised texts into near-duplicate templates, chunk by chunk (see the module docstring).

    ``ids`` returns one template id per text: the xxhash64 hex of the
    template's representative (first-seen) text.
    """

    max_bucket = 16  # representatives taken per band bucket and index run in a lookup
    component_pairs = 4  # in-chunk candidates per bucket entry under single linkage (components need few edges)
    max_rounds = 32  # in-chunk rounds before the still-pending texts found templates of their own
    batch_chars = 1 << 18  # codepoints shingled and hashed at once (faster than larger batches: cache)

    def __init__(self, threshold: float = 0.7, num_perm: int = 64, bands: int = 16, shingle: int = 5, seed: int = 1,
                 linkage: str = "single"):
        if linkage not in ("single", "leader"):
            raise ValueError(f"linkage must be 'single' or 'leader', got {linkage!r}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if num_perm < 1 or bands < 1 or num_perm % bands:
            raise ValueError(f"num_perm ({num_perm}) must be a positive multiple of bands ({bands})")
        if shingle < 1:
            raise ValueError(f"shingle must be at least 1, got {shingle}")
        self.threshold, self.num_perm, self.bands, self.shingle, self.seed = threshold, num_perm, bands, shingle, seed
        self.linkage = linkage
        self._templates = 0  # templates known (slots also hold members under single linkage)
        self.rows = num_perm // bands
        self._need = math.ceil(threshold * num_perm - 1e-9)  # agreeing positions to verify
        rng = np.random.default_rng(seed)
        self._a = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64) | _U64(1)
        self._b = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64)
        band_rng = np.random.default_rng(_BAND_SEED)
        self._row_mult = band_rng.integers(0, 2**64, size=self.rows, dtype=np.uint64) | _U64(1)
        self._band_salt = band_rng.integers(0, 2**64, size=bands, dtype=np.uint64)
        self._n = 0
        self._sigs = np.empty((0, num_perm), dtype=np.uint32)
        self._ids = np.empty(0, dtype=np.uint64)
        self._texts = np.empty(0, dtype=np.uint64)  # per slot: the hash of its text (a representative's is its id)
        self._reps = np.empty(0, dtype=bool)  # per slot: a template's representative (else a member)
        self._buckets = _RunIndex()  # band key → slot of a representative
        self._by_id = _RunIndex()  # template id → slot of its representative
        self._by_text = _RunIndex()  # xxhash64 of a registered text → its slot (representatives and members)

    def __len__(self) -> int:
        return self._templates

    # ------------------------------------------------------------------ public API

    def ids(self, normalised_unique: pd.Series) -> np.ndarray:
        """Object array of template ids (str), one per text; new templates are registered."""
        text = as_text(normalised_unique if isinstance(normalised_unique, pd.Series) else pd.Series(normalised_unique))
        if not len(text):
            return np.empty(0, dtype=object)
        codes, uniques = pd.factorize(text)  # tolerate repeated texts: work on unique ones
        uniques = list(uniques)
        hex_ids = _hash_all(uniques)
        slots = self._assign(uniques, _parse_ids(hex_ids))
        names = {s: format(v, "016x") for s, v in zip(*_unique_with_values(slots, self._ids))}
        return np.array([names[s] for s in slots.tolist()], dtype=object)[codes]

    def signatures(self, texts: pd.Series | list[str]) -> np.ndarray:
        """``(n, num_perm)`` uint32 MinHash signatures; a pure function of the texts and parameters."""
        texts = _as_list(texts)
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        for t0, t1 in _char_batches(lens, self.batch_chars):
            _minhash(shingles(texts[t0:t1], self.shingle), self._a, self._b, out[t0:t1])
        return out

    def signature_of(self, template_ids: list[str]) -> np.ndarray:
        """``(n, num_perm)`` uint32 signature of each known template's representative (KeyError if unknown)."""
        ids = list(template_ids)
        slots = self._by_id.first(_parse_ids(ids))
        if (slots < 0).any():
            missing = [ids[i] for i in np.flatnonzero(slots < 0)[:5].tolist()]
            raise KeyError(f"unknown template id(s): {missing}")
        return self._sigs[slots].copy()

    def restore(self, template_ids: list[str], signatures: np.ndarray) -> None:
        """Register known templates (e.g. resuming from a stored table), in the given order.

        The order is the templates' precedence (a text joins the earliest
        verifying template); ids already known, and repeats, are skipped.
        """
        ids = list(template_ids)
        sigs = _as_signatures(signatures, len(ids), self.num_perm)
        keys = _parse_ids(ids)
        keep = np.sort(np.unique(keys, return_index=True)[1])  # first occurrence of each id
        keep = keep[self._by_id.first(keys[keep]) < 0]
        self._register(keys[keep], sigs[keep])
        self._templates += len(keep)

    def state(self, since: int = 0) -> dict[str, np.ndarray]:
        """Slots ``since`` onwards (signatures, template ids, text hashes, representative flags) and the settings.

        Slots only ever append, so a store keeps one part per run and a refresh resumes
        with :meth:`load_state` on every part in order: the same registered texts, in the
        same precedence, as one ingest of all the data so far, members included (a
        paraphrase arriving later joins through any earlier member, not only the
        representative). Only the grouping of the index's sorted runs differs, which
        matters only through the per-run cap on crowded buckets (``max_bucket``).
        """
        return {"signatures": self._sigs[since:self._n].copy(), "template_ids": self._ids[since:self._n].copy(),
                "texts": self._texts[since:self._n].copy(), "representative": self._reps[since:self._n].copy(),
                "settings": np.array(self._settings(), dtype=np.float64)}

    def _settings(self) -> list[float]:
        return [self.threshold, self.num_perm, self.bands, self.shingle, self.seed, float(self.linkage == "single")]

    def load_state(self, parts: list[dict[str, np.ndarray]]) -> bool:
        """Append the slots of ``parts`` (from :meth:`state`), in order; False (nothing loaded) if any
        part was made with other settings, since its signatures cannot be compared with ours."""
        if self._n or any(list(p["settings"]) != self._settings() for p in parts):
            return False
        for part in parts:  # one bulk registration per part: slot order is all the indexes need
            reps = np.asarray(part["representative"], dtype=bool)
            k = len(reps)
            if not k:
                continue
            start = self._n
            self._grow(start + k)
            slots = np.arange(start, start + k)
            self._sigs[slots] = part["signatures"]
            self._ids[slots] = part["template_ids"]
            self._texts[slots] = part["texts"]
            self._reps[slots] = reps
            self._n = start + k
            self._buckets.add(self._band_keys(part["signatures"]).ravel(), np.repeat(slots, self.bands))
            self._by_id.add(part["template_ids"][reps], slots[reps])
            self._by_text.add(part["texts"], slots)
            self._templates += int(reps.sum())
        return True

    @property
    def slot_count(self) -> int:
        return self._n

    def template_ids(self) -> list[str]:
        """Known template ids in creation (precedence) order: restore in this order to resume exactly."""
        return [format(v, "016x") for v in dict.fromkeys(self._ids[: self._n].tolist())]

    @property
    def nbytes(self) -> int:
        """Bytes of per-template state (signatures, ids, indexes), capacity slack excluded."""
        return self._n * (self.num_perm * 4 + 8) + self._buckets.nbytes + self._by_id.nbytes + self._by_text.nbytes

    # ------------------------------------------------------------------ assignment

    def _assign(self, texts: list[str], ids: np.ndarray) -> np.ndarray:
        """Template slot of each unique text; new representatives are registered in input order."""
        slots = self._by_text.first(ids)  # 1. exact: the text is known (a representative, or a member)
        todo = np.flatnonzero(slots < 0)
        if not todo.size:
            return slots
        chunk_texts = [texts[i] for i in todo.tolist()]
        if self.linkage == "single":  # shingle once: signatures and exact sets from the same shingles
            sh = shingles(chunk_texts, self.shingle)
            sig = np.empty((len(chunk_texts), self.num_perm), dtype=np.uint32)
            _minhash(sh, self._a, self._b, sig)
            keys = self._band_keys(sig)
            target, reps = self._components(sig, keys, shingle_matrix(sh))
        else:
            sig = self.signatures(chunk_texts)
            keys = self._band_keys(sig)
            target, reps = self._cluster(sig, keys)
        base = self._n
        new_slot = np.full(len(todo), -1, dtype=np.int64)
        new_slot[reps] = base + np.arange(len(reps))
        self._register(ids[todo[reps]], sig[reps], keys[reps])
        self._templates += len(reps)
        slots[todo] = np.where(target < base, target, new_slot[np.maximum(target - base, 0)])
        if self.linkage == "single":  # members become link targets for later chunks too
            members = np.setdiff1d(np.arange(len(todo)), reps)
            self._register(self._ids[slots[todo[members]]], sig[members], keys[members], texts=ids[todo[members]])
        return slots

    def _cluster(self, sig: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per text, the order value of its template (known slot, or ``len(self) + position`` of a
        new representative in the chunk), and the sorted positions of the new representatives."""
        m, base = len(sig), self._n
        everyone = np.arange(m)
        target = self._earliest_known(sig, keys, everyone)  # 2. known templates
        pending = np.flatnonzero(target < 0)
        is_rep = np.zeros(m, dtype=bool)
        joined = np.full(m, -1, dtype=np.int64)
        index = _RunIndex()  # the chunk's representatives by band key, valued by position
        rounds = 0
        while pending.size:  # 3. new templates, in rounds
            rounds += 1
            new = pending if rounds > self.max_rounds else pending[self._undisputed(sig, keys, pending)]
            is_rep[new] = True
            index.add(keys[new].ravel(), np.repeat(new, self.bands))
            rest = pending[~is_rep[pending]]
            joined[rest] = self._earliest_new(sig, keys, rest, index, is_rep)
            pending = rest[joined[rest] < 0]
        members = np.flatnonzero((target < 0) & ~is_rep)
        if rounds > 1 and members.size:  # 4. join the earliest of all the chunk's representatives
            final = self._earliest_new(sig, keys, members, index, is_rep)
            joined[members] = np.where(final >= 0, final, joined[members])
        reps = np.flatnonzero(is_rep)
        target[members] = base + joined[members]
        target[reps] = base + reps
        return target, reps

    def _earliest_known(self, sig: np.ndarray, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Per row, the earliest known template (slot) that is a verified LSH candidate, or -1."""
        return self._earliest(sig, keys, rows, self._buckets, self._sigs)

    def _earliest_new(self, sig, keys, rows: np.ndarray, index: _RunIndex, allowed: np.ndarray) -> np.ndarray:
        """Per row, the earliest chunk position in ``index`` that precedes it, is ``allowed``, is an
        LSH candidate and verifies, or -1."""
        return self._earliest(sig, keys, rows, index, sig, allowed)

    def _undisputed(self, sig, keys, pending: np.ndarray) -> np.ndarray:
        """Mask of the pending texts that no earlier pending text verifies against.

        Such a text could still become a representative (in a later round),
        and the later text would then have to join it, so the later one waits.
        Earlier representatives need no check: pending texts have failed
        against all of them already.
        """
        qi, cand = self._bucket_pairs(keys, pending)
        everyone = np.arange(len(sig))
        return self._earliest_verified(sig, everyone, qi, cand, sig)[pending] < 0

    def _bucket_pairs(self, keys: np.ndarray, rows: np.ndarray, cap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """In-chunk candidate pairs ``(later, earlier)`` of ``rows``: a self-join where, sorted by band
        key and then position, the candidates of an entry are the (at most ``max_bucket``) entries
        before it in its bucket."""
        bucket, pos = _sorted_run(keys[rows].ravel(), np.repeat(rows, self.bands))
        opens = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        first = np.repeat(opens, np.diff(np.r_[opens, len(bucket)]))
        count = np.minimum(np.arange(len(bucket)) - first, cap or self.max_bucket)
        offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        qi, cand = np.repeat(pos, count), pos[np.repeat(first, count) + offset]
        keep = cand < qi
        return qi[keep], cand[keep]

    def _components(self, sig: np.ndarray, keys: np.ndarray, sets) -> tuple[np.ndarray, np.ndarray]:
        """Single linkage within the chunk: connected components of the verified in-chunk candidate
        pairs.  A component that reaches a known template (some member verifies against one of its
        registered texts) joins the earliest such template; otherwise its earliest text founds a new
        one.  ``sets`` is the chunk's :func:`shingle_matrix`, for exact checks near the threshold
        (leader clustering keeps estimates throughout, so that chunking does not change its result).
        Returns what :meth:`_cluster` returns."""
        from scipy.sparse.csgraph import connected_components

        m, base = len(sig), self._n
        everyone = np.arange(m)
        known = self._earliest_known(sig, keys, everyone)
        qi, cand = self._bucket_pairs(keys, everyone, self.component_pairs)
        if qi.size:
            qi, cand = np.divmod(_distinct(qi * m + cand), m)
        # pairs whose estimate is clearly above the threshold link at once; of the pairs near it, only
        # those that would join two different components are worth an exact check (a spanning forest
        # is all connected components need)
        estimate = self._agreements(sig, qi, sig, cand) / self.num_perm
        sure = estimate >= self.threshold + EXACT_MARGIN
        near = np.flatnonzero(~sure & (estimate >= self.threshold - EXACT_MARGIN))
        _, label = connected_components(_pair_graph(qi[sure], cand[sure], m), directed=False)
        near = near[label[qi[near]] != label[cand[near]]]
        near = near[exact_jaccard(sets, qi[near], cand[near]) >= self.threshold - 1e-12]
        link = np.concatenate([np.flatnonzero(sure), near])
        n_comp, label = connected_components(_pair_graph(qi[link], cand[link], m), directed=False)
        none = np.iinfo(np.int64).max
        comp_known = np.full(n_comp, none, dtype=np.int64)
        hit = known >= 0
        np.minimum.at(comp_known, label[hit], known[hit])
        comp_first = np.full(n_comp, m, dtype=np.int64)
        np.minimum.at(comp_first, label, everyone)
        has_known = comp_known < none
        reps = np.sort(comp_first[~has_known])
        target = np.where(has_known[label], comp_known[label], base + comp_first[label])
        return target, reps

    def _earliest(self, sig, keys, rows, index: _RunIndex, cand_sigs, allowed=None) -> np.ndarray:
        """Per row, the smallest value in ``index`` sharing a band key with it (among the first
        ``max_bucket`` of each bucket) whose signature agrees in at least ``ceil(θ·P)`` positions,
        or -1.  With ``allowed`` (a mask over chunk positions), values are chunk positions that
        must precede the row's and be allowed."""
        q, cand = index.lookup(keys[rows].ravel(), self.max_bucket)
        qi = q // self.bands
        if allowed is not None:
            keep = (cand < rows[qi]) & allowed[cand]
            qi, cand = qi[keep], cand[keep]
        return self._earliest_verified(sig, rows, qi, cand, cand_sigs)

    def _earliest_verified(self, sig, rows, qi: np.ndarray, cand: np.ndarray, cand_sigs) -> np.ndarray:
        """Per row, the smallest candidate of its pairs ``(qi, cand)`` that verifies, or -1.

        Pairs are verified in waves by rank within their row (ranks 0, 1, 2-3,
        4-7, ...), and a row leaves once one verifies: in a dense family of
        similar templates a text has hundreds of candidates, but the earliest
        few usually decide.
        """
        best = np.full(len(rows), -1, dtype=np.int64)
        if not qi.size:
            return best
        span = int(cand.max()) + 1
        qi, cand = np.divmod(_distinct(qi * span + cand), span)  # one pair each, by row then candidate
        opens = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
        rank = np.arange(len(qi)) - np.repeat(opens, np.diff(np.r_[opens, len(qi)]))
        wave = np.log2(rank + 1).astype(np.int8)  # floor: 0, 1, 1, 2, 2, 2, 2, 3, ... (int8: radix sort)
        order = np.argsort(wave, kind="stable")  # by wave, then row, then candidate
        bounds = np.searchsorted(wave[order], np.arange(int(wave.max()) + 2))
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            at = order[lo:hi]
            at = at[best[qi[at]] < 0]
            ok = self._agreements(sig, rows[qi[at]], cand_sigs, cand[at]) >= self._need
            hit_qi, hit_cand = qi[at[ok]], cand[at[ok]]
            first = np.flatnonzero(np.r_[True, hit_qi[1:] != hit_qi[:-1]]) if hit_qi.size else hit_qi
            best[hit_qi[first]] = hit_cand[first]  # sorted within the wave: a row's first hit is its earliest
        return best

    @staticmethod
    def _agreements(sig_a: np.ndarray, rows_a: np.ndarray, sig_b: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
        """Equal positions of ``sig_a[rows_a[i]]`` and ``sig_b[rows_b[i]]``, in blocks to bound memory."""
        out = np.empty(len(rows_a), dtype=np.int64)
        for lo in range(0, len(rows_a), _PAIR_BLOCK):
            block = slice(lo, lo + _PAIR_BLOCK)
            out[block] = np.count_nonzero(sig_a[rows_a[block]] == sig_b[rows_b[block]], axis=1)
        return out

    # ------------------------------------------------------------------ state

    def _band_keys(self, sig: np.ndarray) -> np.ndarray:
        """``(n, bands)`` uint64 key of each band: a multiply-sum of its rows, band salt, mixed."""
        rows = sig.reshape(len(sig), self.bands, self.rows).astype(np.uint64)
        rows *= self._row_mult
        keys = rows.sum(axis=2, dtype=np.uint64)
        keys += self._band_salt
        return _fmix64(keys)

    def _register(self, ids: np.ndarray, sigs: np.ndarray, keys: np.ndarray | None = None, texts: np.ndarray | None = None) -> None:
        """Append slots: representatives (``texts`` None: the text's hash is the template id) or
        members (``texts``: their own hashes, ``ids``: their template's), and index their band keys."""
        """Append templates (representative id, signature) and index their band keys."""
        k = len(ids)
        if not k:
            return
        if keys is None:
            keys = self._band_keys(sigs)
        start = self._n
        self._grow(start + k)
        slots = np.arange(start, start + k)
        self._sigs[slots] = sigs
        self._ids[slots] = ids
        self._texts[slots] = ids if texts is None else texts
        self._reps[slots] = texts is None
        self._n = start + k
        self._buckets.add(keys.ravel(), np.repeat(slots, self.bands))
        if texts is None:
            self._by_id.add(ids, slots)
        self._by_text.add(ids if texts is None else texts, slots)

    def _grow(self, size: int) -> None:
        if size <= len(self._ids):
            return
        capacity = max(size, 2 * len(self._ids), 1024)
        sigs = np.empty((capacity, self.num_perm), dtype=np.uint32)
        sigs[: self._n] = self._sigs[: self._n]
        ids = np.empty(capacity, dtype=np.uint64)
        ids[: self._n] = self._ids[: self._n]
        texts = np.empty(capacity, dtype=np.uint64)
        texts[: self._n] = self._texts[: self._n]
        reps = np.empty(capacity, dtype=bool)
        reps[: self._n] = self._reps[: self._n]
        self._sigs, self._ids, self._texts, self._reps = sigs, ids, texts, reps


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values.  (``np.unique`` of NumPy 2.3+ hashes integers, and was measured
    40x slower than sorting on the structured ``row * span + column`` codes used here.)"""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def _parse_ids(ids: list[str]) -> np.ndarray:
    """Template ids (16 lower-case hex characters) as uint64."""
    for t in ids:
        if not (isinstance(t, str) and _HEX_ID.fullmatch(t)):
            raise ValueError(f"template id {t!r} is not 16 lower-case hex characters")
    return np.fromiter((int(t, 16) for t in ids), dtype=np.uint64, count=len(ids))


def _unique_with_values(slots: np.ndarray, values: np.ndarray) -> tuple[list[int], list[int]]:
    uniq = _distinct(slots)
    return uniq.tolist(), values[uniq].tolist()


def _as_signatures(signatures, n: int, num_perm: int) -> np.ndarray:
    """Validated ``(n, num_perm)`` uint32 copy of stored signatures."""
    sigs = np.asarray(signatures)
    if sigs.shape != (n, num_perm) and not (n == 0 and sigs.size == 0):
        raise ValueError(f"signatures must have shape ({n}, {num_perm}), got {sigs.shape}")
    in_range = np.issubdtype(sigs.dtype, np.integer) and (not sigs.size or (sigs.min() >= 0 and sigs.max() < 2**32))
    if not in_range:
        raise ValueError("signatures must be unsigned 32-bit integers")
    return sigs.astype(np.uint32).reshape(n, num_perm)
