"""Template fingerprints: a stable id for each normalised template text.

Scope of this version: prompts belong to the same template exactly when their
normalised texts (:mod:`graphlinker.templates.normalise`) are equal, and the
template id is the xxhash64 (seed 0) of the normalised text's UTF-8 bytes, as 16
lower-case hex characters.  Ids are therefore stable across runs, chunkings and
machines, but change when the normalisation rules change.

Grouping goes through :class:`TemplateGrouper` so that near-duplicate grouping
(MinHash-LSH, where several normalised texts share one template id) can replace
:class:`ExactGrouper` without touching :class:`~graphlinker.templates.TemplateIndex`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd
import xxhash

from graphlinker.templates.normalise import TEXT_DTYPE, as_text

SEED = 0


def template_ids(normalised: pd.Series) -> pd.Series:
    """16-hex-char xxhash64 of each normalised text (hashed once per unique value); index kept."""
    text = as_text(normalised)
    codes, uniques = pd.factorize(text)
    digests = pd.array(_hash_all(uniques), dtype=TEXT_DTYPE)
    ids = pd.Series(digests.take(codes), dtype=TEXT_DTYPE)
    ids.index = normalised.index if isinstance(normalised, pd.Series) else pd.RangeIndex(len(ids))
    return ids


def _hash_all(texts) -> list[str]:
    hexdigest = xxhash.xxh64_hexdigest
    return [hexdigest(t.encode("utf-8"), SEED) for t in texts]


class TemplateGrouper(Protocol):
    """Maps *unique* normalised texts to template ids (it may keep state across chunks)."""

    def ids(self, normalised_unique: pd.Series) -> np.ndarray:
        """One template id (str) per input text; several texts may share an id."""
        ...


class ExactGrouper:
    """Texts are one template exactly when equal; the id is :func:`template_ids`."""

    def ids(self, normalised_unique: pd.Series) -> np.ndarray:
        return np.asarray(_hash_all(as_text(normalised_unique).tolist()), dtype=object)
