"""Near-duplicate prompt templates: MinHash over character shingles with LSH banding, chunk by chunk.

:class:`MinHashGrouper` groups normalised texts whose shingle sets overlap strongly (Jaccard
at least ``threshold``) into one template and keeps state across chunks and runs, so a
refresh groups new prompts into the same templates. Two groupings are offered:
``linkage="single"`` (the default: connected components of the verified pairs, so a chain of
paraphrases stays one template) and ``linkage="leader"`` (sequential leader clustering: a
text joins the earliest template whose representative it verifies against). The parts live
beside it: :mod:`~graphlinker.templates.shingles`, :mod:`~graphlinker.templates.signatures`,
:mod:`~graphlinker.templates.run_index`. The design, its measurements and its limits are in
``docs/template-grouping.md``.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
from numba import njit

from graphlinker.arrays import distinct, distinct_sorted
from graphlinker.templates.fingerprint import SEED
from graphlinker.templates.normalise import as_text
from graphlinker.templates.run_index import SortedRunIndex, sorted_run
from graphlinker.templates.shingles import ExactSets, char_batches, fmix64, shingles, text_list
from graphlinker.templates.signatures import agreements, earliest_agreeing, minhash_into
from graphlinker.templates.union_find import apart, forest, roots, unite
from graphlinker.templates.utf8 import Codepoints, codepoints, utf8_buffers, xxh64

__all__ = ["MinHashGrouper"]

_U64 = np.uint64
_BAND_SEED = 0x5EED_BA4D  # band-key multipliers; fixed so keys depend only on signatures
EXACT_MARGIN = 0.2  # estimates this far from the threshold are trusted without exact verification
EXACT_WAVES = 8  # near pairs are verified in this many bands of estimate, most similar first
LOOKUP_BATCH = 8_192  # texts looked up in an index at a time: their candidate pairs set the chunk's peak
_HEX_ID = re.compile(r"[0-9a-f]{16}")


class MinHashGrouper:
    """Groups normalised texts into near-duplicate templates, chunk by chunk (``docs/template-grouping.md``).

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
        self.signature_width = num_perm
        # the one place the two groupings part: how a chunk is grouped, and whether members are indexed
        self._group_chunk = self._group_single if linkage == "single" else self._group_leader
        self._members_are_targets = linkage == "single"
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
        self._buckets = SortedRunIndex()  # band key → slot of a representative
        self._by_id = SortedRunIndex()  # template id → slot of its representative
        self._by_text = SortedRunIndex()  # xxhash64 of a registered text → its slot (representatives and members)
        self._chunk_starts: list[int] = []  # first slot each chunk registered (this process only): see merge_run

    def __len__(self) -> int:
        return self._templates

    # ------------------------------------------------------------------ public API

    def ids(self, normalised_unique: pd.Series) -> np.ndarray:
        """Object array of template ids (str), one per text; new templates are registered."""
        text = as_text(normalised_unique if isinstance(normalised_unique, pd.Series) else pd.Series(normalised_unique))
        if not len(text):
            return np.empty(0, dtype=object)
        codes, uniques = pd.factorize(text)  # tolerate repeated texts: work on unique ones
        offsets, data = utf8_buffers(pa.array(uniques))
        slots = self._assign(codepoints(offsets, data), xxh64(offsets, data, SEED))
        names = {s: format(v, "016x") for s, v in zip(*_unique_with_values(slots, self._ids))}
        return np.array([names[s] for s in slots.tolist()], dtype=object)[codes]

    def signatures(self, texts: pd.Series | list[str] | Codepoints) -> np.ndarray:
        """``(n, num_perm)`` uint32 MinHash signatures; a pure function of the texts and parameters."""
        if not isinstance(texts, Codepoints):
            texts = Codepoints.of_strings(text_list(texts))
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        for t0, t1 in char_batches(texts.lengths, self.batch_chars):
            minhash_into(shingles(texts.range(t0, t1), self.shingle), self._a, self._b, out[t0:t1])
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

    def merge_run(self, since: int, chunk_starts: list[int] | None = None) -> dict[int, int]:
        """Merge templates that this run's chunks kept apart; ``{merged id: surviving id}`` (uint64 ids).

        Under single linkage a chunk's templates are connected components, but a later chunk can only
        join the earliest template it reaches: when a text of chunk 3 verifies against members of two
        templates of chunks 1 and 2, one chunk would have made them one template, chunk by chunk they
        stay two. Here every slot registered from ``since`` on (this run's) is matched, in one compiled pass
        over the band-key index, with the first ``max_bucket`` entries of each of its buckets, and templates
        with a pair of slots from *different* chunks whose estimate is at least ``threshold + EXACT_MARGIN``
        are merged into the earliest (in-chunk pairs were settled by exact checks already). Templates made before ``since``
        (earlier runs, whose ids are stored) are never merged with each other; a template of this run can
        join one of them. Slots of merged templates take the surviving id; a merged representative
        becomes a member. ``chunk_starts``: the first slot of each chunk (default: those this grouper
        registered; the Spark engine passes its batches'). Leader clustering merges nothing.
        """
        starts = np.asarray(self._chunk_starts if chunk_starts is None else chunk_starts, dtype=np.int64)
        if self.linkage != "single" or since >= self._n:
            return {}
        # only pairs whose estimate is clearly above the threshold (as in a chunk, where nearer ones get an exact
        # check): a union over every pair an estimate lets through chains templates one chunk keeps apart
        sure = math.ceil((self.threshold + EXACT_MARGIN) * self.num_perm - 1e-9)
        keys, slots = self._buckets.entries()  # every registered slot under each of its band keys, by key then slot
        chunk = _chunk_of(np.arange(self._n), starts).astype(np.int32)  # per slot: read only for pairs of two templates
        pairs = _sure_pairs(keys, slots, self._ids[slots], chunk, since, self._sigs, sure, self.max_bucket)
        del keys, slots
        if not len(pairs):
            return {}
        alias = _merged_templates(_distinct_pairs(pairs), self._by_id, since)
        if alias:
            self._apply_merges(alias, since)
        return alias

    def _apply_merges(self, alias: dict[int, int], since: int) -> None:
        """Slots of merged templates (all registered since ``since``) take the surviving id; their representatives
        become members."""
        merged = np.fromiter(alias, dtype=np.uint64, count=len(alias))
        order = np.argsort(merged)
        merged = merged[order]
        survivor = np.fromiter(alias.values(), dtype=np.uint64, count=len(alias))[order]
        ids = self._ids[since : self._n]
        at = np.minimum(np.searchsorted(merged, ids), len(merged) - 1)
        hit = merged[at] == ids
        self._reps[since : self._n][hit] = False
        ids[hit] = survivor[at[hit]]
        self._templates -= len(alias)

    @property
    def nbytes(self) -> int:
        """Bytes of per-template state (signatures, ids, indexes), capacity slack excluded."""
        return self._n * (self.num_perm * 4 + 8) + self._buckets.nbytes + self._by_id.nbytes + self._by_text.nbytes

    # ------------------------------------------------------------------ assignment

    def _assign(self, texts: Codepoints, ids: np.ndarray) -> np.ndarray:
        """Template slot of each unique text; new representatives are registered in input order."""
        slots = self._by_text.first(ids)  # 1. exact: the text is known (a representative, or a member)
        todo = np.flatnonzero(slots < 0)
        if not todo.size:
            return slots
        sig, keys, target, reps = self._group_chunk(texts if len(todo) == len(texts) else texts.take(todo))
        base = self._n
        self._chunk_starts.append(base)
        new_slot = np.full(len(todo), -1, dtype=np.int64)
        new_slot[reps] = base + np.arange(len(reps))
        self._register(ids[todo[reps]], sig[reps], keys[reps])
        self._templates += len(reps)
        slots[todo] = np.where(target < base, target, new_slot[np.maximum(target - base, 0)])
        if self._members_are_targets:  # single linkage: members become link targets for later chunks too
            is_member = np.ones(len(todo), dtype=bool)
            is_member[reps] = False
            members = np.flatnonzero(is_member)  # np.setdiff1d hashes: 0.12 s per 200k-row chunk
            self._register(self._ids[slots[todo[members]]], sig[members], keys[members], texts=ids[todo[members]])
        return slots

    def _group_single(self, texts: Codepoints):
        """Signatures, band keys, targets and new representatives of a chunk under single linkage
        (shingled once: signatures and exact sets come from the same shingles)."""
        sh = shingles(texts, self.shingle)
        sig = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        minhash_into(sh, self._a, self._b, sig)
        keys = self._band_keys(sig)
        target, reps = self._components(sig, keys, ExactSets(sh))
        return sig, keys, target, reps

    def _group_leader(self, texts: Codepoints):
        """The same as :meth:`_group_single`, under leader clustering (estimates only)."""
        sig = self.signatures(texts)
        keys = self._band_keys(sig)
        target, reps = self._cluster(sig, keys)
        return sig, keys, target, reps

    def _cluster(self, sig: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per text, the order value of its template (known slot, or ``len(self) + position`` of a
        new representative in the chunk), and the sorted positions of the new representatives."""
        m, base = len(sig), self._n
        everyone = np.arange(m)
        target = self._earliest_known(sig, keys, everyone)  # 2. known templates
        pending = np.flatnonzero(target < 0)
        is_rep = np.zeros(m, dtype=bool)
        joined = np.full(m, -1, dtype=np.int64)
        index = SortedRunIndex()  # the chunk's representatives by band key, valued by position
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

    def _earliest_new(self, sig, keys, rows: np.ndarray, index: SortedRunIndex, allowed: np.ndarray) -> np.ndarray:
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
        bucket, pos = sorted_run(keys[rows].ravel(), np.repeat(rows, self.bands))
        return _bucket_pairs(bucket, pos.astype(np.int64, copy=False), cap or self.max_bucket)

    def _components(self, sig: np.ndarray, keys: np.ndarray, sets) -> tuple[np.ndarray, np.ndarray]:
        """Single linkage within the chunk: connected components of the verified in-chunk candidate
        pairs.  A component that reaches a known template (some member verifies against one of its
        registered texts) joins the earliest such template; otherwise its earliest text founds a new
        one.  ``sets`` is the chunk's :class:`ExactSets`, for exact checks near the threshold
        (leader clustering keeps estimates throughout, so that chunking does not change its result).
        Returns what :meth:`_cluster` returns."""
        m, base = len(sig), self._n
        everyone = np.arange(m)
        known = self._earliest_known(sig, keys, everyone)
        qi, cand = self._bucket_pairs(keys, everyone, self.component_pairs)
        # distinct pairs as one code each, sorted in place with the inputs dropped first (the 3.2M pairs
        # of a 0.2M-row chunk and their copies held ~110 MB at once when deduplicated as copies)
        if qi.size:
            code = qi * m
            code += cand
            del qi, cand
            code.sort()
            qi, cand = np.divmod(distinct_sorted(code), m)
            del code
        # pairs whose estimate is clearly above the threshold link at once; of the pairs near it, only
        # those that would join two different components are worth an exact check (a spanning forest
        # is all connected components need). Near pairs are checked in waves, most similar first, and
        # a pair that an earlier wave already joined is skipped: the components are the same as with
        # every near pair checked, for ~40% of the checks on labelled prompts (docs/template-grouping.md).
        estimate = agreements(sig, qi, sig, cand) / self.num_perm
        parent = forest(m)
        sure = estimate >= self.threshold + EXACT_MARGIN
        unite(parent, qi[sure], cand[sure])
        bounds = np.linspace(self.threshold + EXACT_MARGIN, self.threshold - EXACT_MARGIN, EXACT_WAVES + 1)
        for high, low in zip(bounds[:-1], bounds[1:]):
            wave = np.flatnonzero((estimate < high) & (estimate >= low))
            wave = wave[apart(parent, qi[wave], cand[wave])]
            verified = wave[sets.reach(qi[wave], cand[wave], self.threshold - 1e-12)]
            unite(parent, qi[verified], cand[verified])
        root = roots(parent)  # each component's earliest text
        none = np.iinfo(np.int64).max
        comp_known = np.full(m, none, dtype=np.int64)  # by root: the earliest known template reached
        hit = known >= 0
        np.minimum.at(comp_known, root[hit], known[hit])
        reps = np.flatnonzero((root == everyone) & (comp_known == none))
        target = np.where(comp_known[root] < none, comp_known[root], base + root)
        return target, reps

    def _earliest(self, sig, keys, rows, index: SortedRunIndex, cand_sigs, allowed=None) -> np.ndarray:
        """Per row, the smallest value in ``index`` sharing a band key with it (among the first
        ``max_bucket`` of each bucket) whose signature agrees in at least ``ceil(θ·P)`` positions,
        or -1.  With ``allowed`` (a mask over chunk positions), values are chunk positions that
        must precede the row's and be allowed.

        ``LOOKUP_BATCH`` rows at a time (each row's answer depends on its own candidates only): the
        candidate pairs of a whole 200k-row chunk against everything known, with their copies while
        deduplicating, were the peak of reading requests at 1M rows (+0.3 GB)."""
        if len(rows) > LOOKUP_BATCH:
            return np.concatenate([self._earliest(sig, keys, rows[start : start + LOOKUP_BATCH], index, cand_sigs, allowed)
                                   for start in range(0, len(rows), LOOKUP_BATCH)])
        q, cand = index.lookup(keys[rows].ravel(), self.max_bucket)
        qi = q // self.bands
        if allowed is not None:
            keep = (cand < rows[qi]) & allowed[cand]
            qi, cand = qi[keep], cand[keep]
        return self._earliest_verified(sig, rows, qi, cand, cand_sigs)

    def _earliest_verified(self, sig, rows, qi: np.ndarray, cand: np.ndarray, cand_sigs) -> np.ndarray:
        """Per row, the smallest candidate of its pairs ``(qi, cand)`` that verifies, or -1.

        In a dense family of similar templates a text has hundreds of candidates, but the
        earliest few usually decide: candidates are tried in ascending order, and a row stops
        at its first success (:func:`~graphlinker.templates.signatures.earliest_agreeing`).
        """
        if not qi.size:
            return np.full(len(rows), -1, dtype=np.int64)
        span = int(cand.max()) + 1
        qi, cand = np.divmod(distinct(qi * span + cand), span)  # one pair each, by row then candidate
        return earliest_agreeing(sig, rows, qi, cand, cand_sigs, self._need)

    # ------------------------------------------------------------------ state

    def _band_keys(self, sig: np.ndarray) -> np.ndarray:
        """``(n, bands)`` uint64 key of each band: a multiply-sum of its rows, band salt, mixed."""
        keys = np.empty((len(sig), self.bands), dtype=np.uint64)
        _band_keys(sig, self._row_mult, self._band_salt, keys)
        return keys

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


def _chunk_of(slots: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Chunk number of each slot (-1 before the first chunk start: an earlier run's)."""
    return np.searchsorted(starts, slots, side="right") - 1


def _distinct_pairs(pairs: np.ndarray) -> np.ndarray:
    """Distinct rows of ``pairs`` (two uint64 ids each), in lexicographic order, as ``np.unique(pairs, axis=0)``
    gives them: each id as its rank among the distinct ids, a row as one integer code, sorted."""
    ids = distinct(pairs)
    a, b = np.searchsorted(ids, pairs[:, 0]), np.searchsorted(ids, pairs[:, 1])
    codes = distinct(a.astype(np.int64) * len(ids) + b)
    return np.column_stack([ids[codes // len(ids)], ids[codes % len(ids)]])


def _merged_templates(pairs: np.ndarray, by_id: SortedRunIndex, since: int) -> dict[int, int]:
    """Union of the templates in ``pairs`` (rows of two uint64 ids), each component under its earliest template
    (smallest representative slot); two templates made before ``since`` are never joined (their ids are stored)."""
    ids = distinct(pairs)
    first = by_id.first(ids)  # representative slot: creation order
    rank = {int(t): (int(f), int(t)) for t, f in zip(ids.tolist(), first.tolist())}
    parent = {t: t for t in rank}

    def find(t: int) -> int:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for a, b in pairs.tolist():
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        early, late = (ra, rb) if rank[ra] < rank[rb] else (rb, ra)
        if rank[late][0] < since:  # both made before this run
            continue
        parent[late] = early
    return {t: find(t) for t in parent if find(t) != t}


def _parse_ids(ids: list[str]) -> np.ndarray:
    """Template ids (16 lower-case hex characters) as uint64."""
    for t in ids:
        if not (isinstance(t, str) and _HEX_ID.fullmatch(t)):
            raise ValueError(f"template id {t!r} is not 16 lower-case hex characters")
    return np.fromiter((int(t, 16) for t in ids), dtype=np.uint64, count=len(ids))


def _unique_with_values(slots: np.ndarray, values: np.ndarray) -> tuple[list[int], list[int]]:
    uniq = distinct(slots)
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


@njit(cache=True, nogil=True)
def _band_keys(sig, row_mult, band_salt, out):  # pragma: no cover - compiled
    """One compiled pass (a NumPy version spent 0.13 s of 0.2 s widening the signatures to uint64)."""
    rows = len(row_mult)
    for t in range(sig.shape[0]):
        for band in range(len(band_salt)):
            key = np.uint64(0)
            for j in range(rows):
                key += row_mult[j] * np.uint64(sig[t, band * rows + j])
            out[t, band] = fmix64(key + band_salt[band])


@njit(cache=True, nogil=True)
def _bucket_pairs(bucket, pos, cap):  # pragma: no cover - compiled
    """``(later, earlier)`` pairs: each entry with the first ``cap`` entries of its bucket that precede it
    (``bucket`` sorted, ``pos`` ascending within a bucket). Two passes, counting then filling."""
    total, first = 0, 0
    for i in range(len(bucket)):
        if i and bucket[i] != bucket[i - 1]:
            first = i
        for j in range(first, min(i, first + cap)):
            total += pos[j] < pos[i]
    qi = np.empty(total, np.int64)
    cand = np.empty(total, np.int64)
    w, first = 0, 0
    for i in range(len(bucket)):
        if i and bucket[i] != bucket[i - 1]:
            first = i
        for j in range(first, min(i, first + cap)):
            if pos[j] < pos[i]:
                qi[w], cand[w] = pos[i], pos[j]
                w += 1
    return qi, cand


@njit(cache=True, nogil=True)
def _sure_pairs(keys, slots, ids, chunk, since, sigs, sure, cap):  # pragma: no cover - compiled
    """``(n, 2)`` template ids of slot pairs that share a band key (each slot of this run against the first ``cap``
    entries of its bucket), belong to different templates and chunks, and agree in at least ``sure`` positions
    (a pair stops at the disagreement that settles it). ``ids`` is per entry, beside ``slots``, so that the common
    case, a bucket of one template, reads nothing out of order; ``chunk`` is per slot."""
    width = sigs.shape[1]
    out = np.empty((1024, 2), dtype=np.uint64)
    w, lo = 0, 0
    while lo < len(keys):
        hi = lo + 1
        while hi < len(keys) and keys[hi] == keys[lo]:
            hi += 1
        top = min(hi, lo + cap)
        for i in range(lo, hi if hi - lo > 1 else lo):
            a = slots[i]
            if a < since:
                continue
            for j in range(lo, top):
                b = slots[j]
                if b == a or ids[j] == ids[i] or chunk[b] == chunk[a]:
                    continue
                misses = 0
                for k in range(width):
                    if sigs[a, k] != sigs[b, k]:
                        misses += 1
                        if misses > width - sure:
                            break
                if misses <= width - sure:
                    if w == len(out):
                        grown = np.empty((2 * len(out), 2), dtype=np.uint64)
                        grown[:w] = out
                        out = grown
                    out[w, 0], out[w, 1] = ids[i], ids[j]
                    w += 1
        lo = hi
    return out[:w]
