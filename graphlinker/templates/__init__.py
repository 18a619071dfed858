"""Prompt templates: fingerprints, extraction-style tags and redacted exemplars.

This package is the only place raw prompt text is handled.  Raw prompts leave
it only as template ids, tag names and redacted exemplars; :class:`TemplateIndex`
never keeps a raw prompt, only per-template aggregates.

Per chunk, :meth:`TemplateIndex.assign` works on unique values throughout:

1. unique raw prompts (``pd.factorize``);
2. each is folded (NFKC, case fold, whitespace) and masked
   (:mod:`~graphlinker.templates.normalise`);
3. unique normalised texts are grouped into templates
   (:mod:`~graphlinker.templates.fingerprint`: exact text → xxhash64 id);
4. extraction tags are matched on each unique *folded, unmasked* text and OR-ed
   per template, so a tag fires for a template when any of its prompts triggers
   it (slot contents included), and a template's tags only ever grow;
5. a template seen for the first time gets its exemplar from the first prompt
   (in input order) that produced it, redacted (:mod:`~graphlinker.templates.redact`).
   A redaction that masked nothing would be the raw prompt itself, so it is
   withheld (empty exemplar); and ``table()`` publishes exemplars only for
   templates sent at least twice, since a one-off prompt's redaction is still
   mostly its own prose.

Memory is bounded by the chunk plus, per template, its id, exemplar (at most
200 characters), tag mask and count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from graphlinker.settings.model import TemplatesSettings
from graphlinker.templates.fingerprint import ExactGrouper, TemplateGrouper, template_ids
from graphlinker.templates.normalise import (
    TEXT_DTYPE,
    arrow_array,
    as_text,
    fold_and_mask,
    fold_prompts,
    mask_slots,
    normalise_prompts,
    normalise_text,
)
from graphlinker.templates.redact import redact, redact_series
from graphlinker.templates.table import TEMPLATE_COLUMNS, conform, empty_templates, merge_templates, sort_templates, with_usage
from graphlinker.templates.tags import ExtractionRules, TagRule

__all__ = [
    "TemplateIndex",
    "ExtractionRules",
    "TagRule",
    "TemplateGrouper",
    "ExactGrouper",
    "normalise_prompts",
    "normalise_text",
    "fold_prompts",
    "mask_slots",
    "template_ids",
    "redact",
    "redact_series",
    "ASSIGN_COLUMNS",
    "TABLE_COLUMNS",
    "TEMPLATE_COLUMNS",
    "empty_templates",
    "merge_templates",
    "with_usage",
    "grouper_from_settings",
    "exemplars_of",
    "merge_run_templates",
]

ASSIGN_COLUMNS = ["template_id", "extraction_tags"]
PLACEHOLDER = r"<(?:code|url|email|secret|ip|card|phone|quote|num)>"
TABLE_COLUMNS = ["template_id", "exemplar", "extraction_tags", "prompt_count"]


class TemplateIndex:
    """Assigns prompts to templates chunk by chunk and accumulates per-template aggregates.

    ``assign`` returns, per row, the template id and the template's tags as
    known after this chunk (the union over all its prompts seen so far);
    ``table()`` has the final per-template tags, first exemplar and count.
    """

    def __init__(self, rules: ExtractionRules | None = None, grouper: TemplateGrouper | None = None):
        self.rules = rules if rules is not None else ExtractionRules.load()
        self.grouper: TemplateGrouper = grouper if grouper is not None else ExactGrouper()
        self._slot: dict[str, int] = {}
        self._ids: list[str] = []
        self._exemplars: list[pa.Array] = []  # one array per chunk that added templates (no per-string objects)
        self._counts = np.zeros(1024, dtype=np.int64)
        self._bits = np.zeros(1024, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def prompt_count(self) -> int:
        """Prompts assigned so far."""
        return int(self._counts[: len(self._ids)].sum())

    # ------------------------------------------------------------------ assign

    def assign(self, prompts: pd.Series) -> pd.DataFrame:
        """``template_id`` and ``extraction_tags`` of each prompt, aligned with ``prompts.index``."""
        index = prompts.index if isinstance(prompts, pd.Series) else pd.RangeIndex(len(prompts))
        text = as_text(prompts)
        if not len(text):
            return pd.DataFrame({c: pd.Series(dtype=TEXT_DTYPE) for c in ASSIGN_COLUMNS}, index=index)

        row_raw, raw = pd.factorize(text)  # unique raw prompts, in order of first appearance
        del text
        raw = pd.Series(raw, dtype=TEXT_DTYPE)
        folded, masked = fold_and_mask(raw)
        raw_bits = self.rules.bits_of_folded(folded)  # tags of each unique raw prompt
        del folded
        raw_norm, norm = pd.factorize(masked)  # unique normalised texts
        del masked
        norm_tpl, tpl_ids = pd.factorize(pd.Series(self.grouper.ids(pd.Series(norm, dtype=TEXT_DTYPE)), dtype=object))
        del norm
        raw_tpl = norm_tpl[raw_norm]  # template (chunk-local code) of each unique raw prompt
        row_tpl = raw_tpl[row_raw]
        n_tpl = len(tpl_ids)

        counts = np.bincount(row_tpl, minlength=n_tpl).astype(np.int64)
        bits = np.zeros(n_tpl, dtype=np.uint64)
        np.bitwise_or.at(bits, raw_tpl, raw_bits)
        # the first unique raw prompt of each template is its first row (uniques keep row order)
        first_raw = np.unique(raw_tpl, return_index=True)[1]

        slots = self._slots_for(list(tpl_ids), raw, first_raw)
        del raw
        np.add.at(self._counts, slots, counts)
        np.bitwise_or.at(self._bits, slots, bits)

        tags = pd.array(self.rules.strings_of(self._bits[slots]), dtype=TEXT_DTYPE)
        ids = pd.array(list(tpl_ids), dtype=TEXT_DTYPE)
        return pd.DataFrame({"template_id": ids.take(row_tpl), "extraction_tags": tags.take(row_tpl)}, index=index)

    def _slots_for(self, ids: list[str], raw: pd.Series, first_raw: np.ndarray) -> np.ndarray:
        """State slot of each chunk template, creating slots (and exemplars) for new ones."""
        get = self._slot.get
        slots = np.fromiter((get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
        new = np.flatnonzero(slots < 0)
        if len(new):
            exemplars = exemplars_of(raw.iloc[first_raw[new]])
            start = len(self._ids)
            self._grow(start + len(new))
            slots[new] = np.arange(start, start + len(new))
            new_ids = [ids[t] for t in new.tolist()]  # ids are unique within a chunk
            self._slot.update(zip(new_ids, range(start, start + len(new))))
            self._ids.extend(new_ids)
            self._exemplars.append(exemplars)
        return slots

    def add_aggregates(self, template_ids: list[str], counts: np.ndarray, bits: np.ndarray, exemplars: pa.Array) -> None:
        """Add per-template prompt counts and tag masks grouped elsewhere (the Spark engine); ``exemplars``
        (from :func:`exemplars_of` on each template's first prompt) are kept for templates new to the index."""
        ids = list(template_ids)
        get = self._slot.get
        slots = np.fromiter((get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
        new = np.flatnonzero(slots < 0)
        if len(new):
            start = len(self._ids)
            self._grow(start + len(new))
            slots[new] = np.arange(start, start + len(new))
            new_ids = [ids[t] for t in new.tolist()]
            self._slot.update(zip(new_ids, range(start, start + len(new))))
            self._ids.extend(new_ids)
            self._exemplars.append(pa.array(exemplars).take(pa.array(new)).cast(pa.large_string()))
        np.add.at(self._counts, slots, np.asarray(counts, dtype=np.int64))
        np.bitwise_or.at(self._bits, slots, np.asarray(bits, dtype=np.uint64))

    def merge(self, alias: Mapping[str, str]) -> None:
        """Fold each template of ``alias`` into the one it maps to (the grouper merged them, see
        ``MinHashGrouper.merge_run``): prompt counts add up, tags are OR-ed, the surviving template keeps its
        exemplar (the earlier one's first prompt) and the merged one leaves the table."""
        alias = {m: r for m, r in alias.items() if m in self._slot}
        if not alias:
            return
        for merged, root in alias.items():
            if root not in self._slot:  # a template the index never counted (possible only for restored state)
                self._slot[root] = self._slot[merged]
                self._ids[self._slot[root]] = root
                continue
            m, r = self._slot[merged], self._slot[root]
            self._counts[r] += self._counts[m]
            self._bits[r] |= self._bits[m]
        gone = {self._slot[m] for m, r in alias.items() if self._slot.get(r) != self._slot[m]}
        keep = np.array([i not in gone for i in range(len(self._ids))], dtype=bool)
        n = len(self._ids)
        self._exemplars = [_concat(self._exemplars).filter(pa.array(keep))]
        self._ids = [t for t, k in zip(self._ids, keep.tolist()) if k]
        self._counts = np.concatenate([self._counts[:n][keep], np.zeros(len(self._counts) - n, dtype=np.int64)])
        self._bits = np.concatenate([self._bits[:n][keep], np.zeros(len(self._bits) - n, dtype=np.uint64)])
        self._slot = {t: i for i, t in enumerate(self._ids)}

    def _grow(self, size: int) -> None:
        if size <= len(self._counts):
            return
        capacity = max(size, 2 * len(self._counts))
        self._counts = np.concatenate([self._counts, np.zeros(capacity - len(self._counts), dtype=np.int64)])
        self._bits = np.concatenate([self._bits, np.zeros(capacity - len(self._bits), dtype=np.uint64)])

    # ------------------------------------------------------------------ results

    def table(self) -> pd.DataFrame:
        """One row per template in the stored layout (:mod:`~graphlinker.templates.table`).

        Sorted by ``prompt_count`` (descending), then ``template_id``.  The
        usage-derived columns (account count, first/last seen) are left empty
        here: the store fills them from the usage graph (:func:`with_usage`).
        """
        n = len(self._ids)
        known = self.grouper.signature_of(self._ids) if n else None
        signatures = list(known.astype(np.int64)) if known is not None else [None] * n
        table = pd.DataFrame(
            {
                "template_id": pd.array(self._ids, dtype=TEXT_DTYPE),
                "exemplar": pd.Series(pd.array(_concat(self._exemplars), dtype=TEXT_DTYPE)).where(self._counts[:n] >= 2, ""),
                "extraction_tags": pd.array(self.rules.strings_of(self._bits[:n]), dtype=TEXT_DTYPE),
                "prompt_count": self._counts[:n].copy(),
                "signature": signatures,
            }
        )
        return sort_templates(conform(table))

    @classmethod
    def from_table(
        cls, table: pd.DataFrame, rules: ExtractionRules | None = None, grouper: TemplateGrouper | None = None
    ) -> TemplateIndex:
        """Resume from a previous :meth:`table` (e.g. on a refresh); unknown tag names are dropped."""
        index = cls(rules, grouper)
        missing = set(TABLE_COLUMNS) - set(table.columns)
        if missing:
            raise ValueError(f"template table lacks column(s) {sorted(missing)}")
        ids = table["template_id"].astype(str).tolist()
        if len(set(ids)) != len(ids):
            raise ValueError("template table has duplicate template ids")
        index._grow(len(ids))
        index._ids = ids
        index._slot = {t: i for i, t in enumerate(ids)}
        index._exemplars = [arrow_array(as_text(table["exemplar"]))]
        index._counts[: len(ids)] = table["prompt_count"].to_numpy(dtype=np.int64)
        index._bits[: len(ids)] = index.rules.bits_of_strings(table["extraction_tags"].tolist())
        width = index.grouper.signature_width  # signatures made with other settings cannot be compared
        if width is not None and "signature" in table:
            # precedence = creation order, i.e. first appearance; first_seen approximates it for time-ordered exports
            order = table.sort_values(["first_seen", "template_id"], kind="mergesort") if "first_seen" in table else table
            known = [(t, s) for t, s in zip(order["template_id"].astype(str), order["signature"])
                     if s is not None and len(s) == width]
            if known:
                index.grouper.restore([t for t, _ in known], np.array([s for _, s in known], dtype=np.uint32))
        return index


def merge_run_templates(index: TemplateIndex, since: int, chunk_starts: list[int] | None = None,
                        enabled: bool = True) -> dict[str, str]:
    """Merge the templates this run's chunks kept apart (``MinHashGrouper.merge_run``) in the grouper and in
    ``index``; ``{merged id: surviving id}`` (hex), for the usage rows that still name merged ids. ``since``:
    the grouper's slot count before this run's first prompt. Other groupers, or ``enabled`` False
    (``[templates] merge_across_chunks``), merge nothing."""
    merge = getattr(index.grouper, "merge_run", None)
    if merge is None or not enabled:
        return {}
    alias = {format(m, "016x"): format(r, "016x") for m, r in merge(since, chunk_starts).items()}
    index.merge(alias)
    return alias


def exemplars_of(first_prompts: pd.Series) -> pa.Array:
    """The redacted exemplar of each template from its first raw prompt; empty where redaction masked
    nothing (the redaction would be the raw prompt itself)."""
    redacted = redact_series(first_prompts)
    masked_something = redacted.str.contains(PLACEHOLDER, regex=True).to_numpy(dtype=bool, na_value=False)
    return arrow_array(redacted.where(masked_something, ""))


def grouper_from_settings(section: TemplatesSettings | Mapping[str, Any]) -> TemplateGrouper:
    """The grouper named by the ``[templates]`` settings: ``minhash`` (near-duplicates) or ``exact``.

    ``section`` is ``Settings.templates`` or a plain table with the same keys.
    """
    from graphlinker.errors import ConfigError

    section = TemplatesSettings.of(section)
    if section.grouping == "exact":
        return ExactGrouper()
    if section.grouping != "minhash":
        raise ConfigError(f"unknown templates.grouping '{section.grouping}' (choose minhash or exact)")
    from graphlinker.templates.minhash import MinHashGrouper

    try:
        return MinHashGrouper(threshold=section.threshold, num_perm=section.num_perm, bands=section.bands,
                              shingle=section.shingle, seed=section.seed, linkage=section.linkage)
    except ValueError as exc:
        raise ConfigError(f"invalid [templates] setting: {exc}") from None


def _concat(chunks: list[pa.Array]) -> pa.Array:
    return pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.large_string())
