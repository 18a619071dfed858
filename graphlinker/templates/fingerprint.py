"""Template fingerprints: a stable id for each normalised template text.

Scope of this version: prompts belong to the same template exactly when their
normalised texts (:mod:`graphlinker.templates.normalise`) are equal, and the
template id is the xxhash64 (seed 0) of the normalised text's UTF-8 bytes, as 16
lower-case hex characters.  Ids are therefore stable across runs, chunkings and
machines, but change when the normalisation rules change.

Grouping goes through :class:`TemplateGrouper` so that near-duplicate grouping
(:class:`~graphlinker.templates.minhash.MinHashGrouper`, where several normalised texts share one
template id) and :class:`ExactGrouper` are interchangeable behind one declared interface.
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
    """Maps *unique* normalised texts to template ids, and carries its state across chunks and runs.

    Everything :class:`~graphlinker.templates.TemplateIndex` and a refresh ask of a grouper is
    declared here, so no caller probes for a method: a grouper without signatures or state
    (:class:`ExactGrouper`) answers ``None`` / ``False`` / nothing.
    """

    #: MinHash permutations of the signatures it keeps (stored signatures of another width
    #: cannot be compared), or None when it keeps none.
    signature_width: int | None

    def ids(self, normalised_unique: pd.Series) -> np.ndarray:
        """One template id (str) per input text; several texts may share an id."""
        ...

    def signature_of(self, template_ids: list[str]) -> np.ndarray | None:
        """``(n, signature_width)`` signatures of known templates, or None when it keeps none."""
        ...

    def restore(self, template_ids: list[str], signatures: np.ndarray) -> None:
        """Register stored templates in the given order (their precedence)."""
        ...

    def load_state(self, parts: list[dict[str, np.ndarray]]) -> bool:
        """Resume from stored state parts; False when there is nothing it can resume from."""
        ...

    @property
    def slot_count(self) -> int:
        """How much state it holds (``state(since=slot_count)`` is what is added from now on)."""
        ...

    def state(self, since: int = 0) -> dict[str, np.ndarray]:
        """The state added since ``since``, for the store to keep."""
        ...


class ExactGrouper:
    """Texts are one template exactly when equal; the id is :func:`template_ids`. No state: the id is the text's hash."""

    signature_width = None
    slot_count = 0

    def ids(self, normalised_unique: pd.Series) -> np.ndarray:
        return np.asarray(_hash_all(as_text(normalised_unique).tolist()), dtype=object)

    def signature_of(self, template_ids: list[str]) -> None:
        return None

    def restore(self, template_ids: list[str], signatures: np.ndarray) -> None:
        return None

    def load_state(self, parts: list[dict[str, np.ndarray]]) -> bool:
        return False

    def state(self, since: int = 0) -> dict[str, np.ndarray]:
        return {}
