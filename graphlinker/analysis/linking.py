"""Project the account–identifier usage graph onto weighted account–account links.

    usage ──► TF-IDF vectors (account_vectors) ──► coherence of popular identifiers (coherence)
          ──► candidate pairs (candidates) ──► exact per-kind cosines of those pairs (pair_kernel)
          ──► link weight, floors ──► each account's strongest links (a sparse kNN graph)

The link weight of two accounts is ``Σ_kind weight(kind) × cosine(kind)``, and each
kind's cosine stays on the edge as evidence. No identifier is dropped or expanded
because of how many accounts use it: popular identifiers keep the share of their
weight their users' other resemblance earns them (:mod:`graphlinker.analysis.coherence`), and
they contribute sampled candidate pairs rather than all their pairs
(:mod:`graphlinker.analysis.candidates`), so nothing is quadratic in an identifier's users.
Every account keeps its ``max_links_per_account`` strongest links (an edge stays when
it is among the strongest of either end), as sparse kNN graphs do before Louvain or
Leiden (PhenoGraph, Levine et al. 2015; scanpy's ``pp.neighbors``).

``[linking] method = "hub_caps"`` restores the earlier behaviour (fixed per-kind caps,
every pair below the cap): :mod:`graphlinker.analysis.linking_capped`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlinker.analysis.account_vectors import AccountVectors, account_vectors
from graphlinker.analysis.candidates import OrderedUsers, all_pairs, shared_at_least, unique_pair_codes, window_pairs
from graphlinker.analysis.choices import LINKING_METHODS as METHODS
from graphlinker.analysis.coherence import identifier_coherence
from graphlinker.errors import ConfigError
from graphlinker.kinds import FEATURE_KINDS, linking_kinds
from graphlinker.settings import Settings

EDGE_KEY = ["account_a", "account_b"]
WEIGH_CHUNK = 1_000_000  # candidate pairs weighed at a time


@dataclass(frozen=True)
class Linkage:
    """Account–account edges with per-kind similarities, and the popular identifiers discounted."""

    edges: pd.DataFrame  # account_a, account_b, weight, <kind>... (similarity 0..1 per kind)
    hubs: pd.DataFrame  # kind, value, accounts (and, for method coherence, coherence and weight_kept)
    kinds: tuple[str, ...]
    vectors: AccountVectors | None = None  # the (reweighted) vectors links were measured on; None for hub_caps
    linked_pairs: tuple[np.ndarray, np.ndarray] | None = None  # every pair above min_edge_weight, before pruning (rows)

    def touching(self) -> pd.DataFrame:
        """Every linked pair before each account kept only its strongest links (``account_a, account_b``)."""
        if self.linked_pairs is None:
            return self.edges[EDGE_KEY]
        accounts = self.vectors.accounts
        left, right = self.linked_pairs
        # categorical: the pairs' account rows point at one copy of the ids; 12.0M linked pairs at 5M request rows
        # as two string columns were the peak of detection
        return pd.DataFrame({"account_a": pd.Categorical.from_codes(left, categories=accounts),
                             "account_b": pd.Categorical.from_codes(right, categories=accounts)})

    def similarity(self, left_ids, right_ids) -> np.ndarray:
        """Link weight of arbitrary account pairs (before floors), e.g. to compare two clusters."""
        if self.vectors is None:
            raise ValueError("pair similarity needs the coherence linking method")
        index = self.vectors.accounts
        cosines, _ = self.vectors.cosines(index.get_indexer(left_ids), index.get_indexer(right_ids))
        return cosines @ self.vectors.kind_weight


def linking_steps(usage: pd.DataFrame, settings: Settings) -> int:
    """How many times :func:`link_accounts` advances its progress callback."""
    if settings.linking.method == "hub_caps":
        return len(linking_kinds(usage[~usage["kind"].isin(FEATURE_KINDS)]))
    return 3  # coherence, candidate pairs, weighing and pruning


def link_accounts(usage: pd.DataFrame, settings: Settings, progress: Callable[[int], None] | None = None) -> Linkage:
    """Build weighted account links from every linking kind in ``usage``."""
    method = settings.linking.method
    if method not in METHODS:
        raise ConfigError(f"unknown linking method '{method}' (choose from {', '.join(METHODS)})")
    if method == "hub_caps":
        from graphlinker.analysis.linking_capped import link_accounts_capped

        return link_accounts_capped(usage, settings, progress)
    rows = ~usage["kind"].isin(FEATURE_KINDS).to_numpy(dtype=bool)  # a mask, not a filtered copy of usage
    kinds = linking_kinds(usage)
    if not rows.any():
        return Linkage(_empty_edges(kinds), _empty_hubs(), tuple(kinds))
    config = settings.linking
    vectors = account_vectors(usage, kinds, settings, rows)
    del rows
    advance = progress or (lambda n=1: None)
    expand_limit = config.expand_limit
    popular = np.nonzero(vectors.degree > expand_limit)[0]
    coherence = identifier_coherence(vectors, popular, config.coherence_samples, tuple(config.coherence_ramp))
    vectors = vectors.reweighted(coherence.column_factor(len(vectors.degree)))
    advance(1)
    pairs = _candidates(vectors, popular[coherence.factor > 0], expand_limit, config.neighbour_window,
                        _min_shared_per_kind(vectors, settings) if config.candidate_pairs == "min_shared" else None)
    advance(1)
    edges = _weigh(vectors, pairs, settings)
    del pairs
    linked = (edges["a"], edges["b"])
    edges = _take(edges, _strongest(edges, config.max_links_per_account))
    advance(1)
    return Linkage(_frame(edges, vectors), _hubs(vectors, coherence), tuple(kinds), vectors, linked)


def _candidates(vectors: AccountVectors, coherent_popular: np.ndarray, expand_limit: int, window: int,
                min_shared: np.ndarray | None = None) -> np.ndarray:
    """All pairs of small identifiers, and hash-order windows of the coherent popular ones (sorted pair codes).

    ``min_shared`` (per kind, ``candidate_pairs = "min_shared"``): of a kind that needs more than one shared
    identifier, only the pairs that share that many of its small identifiers are looked at.
    """
    small = np.nonzero((vectors.degree >= 2) & (vectors.degree <= expand_limit))[0]
    n = len(vectors.accounts)
    kind = vectors.col_kind[small]
    need = np.ones(len(small), dtype=np.int64) if min_shared is None else min_shared[kind]
    by_column = vectors.matrix.tocsc()  # once: each OrderedUsers would convert the matrix again
    codes = [all_pairs(OrderedUsers(by_column, small[need <= 1]), expand_limit, n),
             window_pairs(OrderedUsers(by_column, coherent_popular), window, n)]
    for k in np.unique(kind[need > 1]):
        codes.append(shared_at_least(all_pairs(OrderedUsers(by_column, small[kind == k]), expand_limit, n), int(min_shared[k])))
    return unique_pair_codes(codes)


def _min_shared_per_kind(vectors: AccountVectors, settings: Settings) -> np.ndarray:
    return np.array([int(settings.linking.min_shared.get(kind, 1)) for kind in vectors.kinds])


def _weigh(vectors: AccountVectors, pairs: np.ndarray, settings: Settings) -> dict:
    """Per-kind cosines of the candidate pairs (codes) after floors and minimum shared counts; weight ≥ min_edge_weight.

    In chunks of ``WEIGH_CHUNK`` pairs, so memory holds the kept links, not every candidate's cosines.
    The cosines stay one block per chunk (``cosine_blocks``) until :func:`_take` keeps the strongest
    links: joined first, they were a second copy of every linked pair's cosines, the peak of linking
    at 5M request rows (5.4M linked pairs, 7 kinds).
    """
    floors = np.array([settings.min_similarity(kind) for kind in vectors.kinds])
    min_shared = _min_shared_per_kind(vectors, settings)
    min_weight = settings.linking.min_edge_weight
    n = len(vectors.accounts)
    rows = _row_type(n)
    parts = []
    for start in range(0, len(pairs), WEIGH_CHUNK):
        a, b = np.divmod(pairs[start : start + WEIGH_CHUNK], n)
        cosines, shared = vectors.cosines(a, b)
        cosines[(cosines < floors) | (shared < min_shared)] = 0.0
        weight = cosines @ vectors.kind_weight
        keep = weight >= min_weight
        parts.append((a[keep].astype(rows), b[keep].astype(rows), weight[keep], cosines[keep]))
    if not parts:
        empty = pairs[:0].astype(rows)
        return {"a": empty, "b": empty, "weight": np.zeros(0), "cosine_blocks": [np.zeros((0, len(vectors.kinds)))]}
    a, b, weight, blocks = zip(*parts)
    del parts
    return {"a": np.concatenate(a), "b": np.concatenate(b), "weight": np.concatenate(weight), "cosine_blocks": list(blocks)}


def _row_type(n: int) -> type:
    """Account rows of linked pairs in 32 bits while they fit: at 5M request rows (12.0M linked pairs) linking's
    peak, while :func:`_strongest` ranks each account's links, fell from 3,975 to 3,482 MiB."""
    return np.int32 if n < 2**31 else np.int64


def _take(edges: dict, keep: np.ndarray | None) -> dict:
    """The edges ``keep`` marks (all when None), with their cosines joined into one ``cosines`` array."""
    blocks = edges["cosine_blocks"]
    if keep is None:
        return {"a": edges["a"], "b": edges["b"], "weight": edges["weight"], "cosines": np.concatenate(blocks)}
    bounds = np.cumsum([0] + [len(block) for block in blocks])
    cosines = np.concatenate([block[keep[start:end]] for block, start, end in zip(blocks, bounds[:-1], bounds[1:])])
    return {"a": edges["a"][keep], "b": edges["b"][keep], "weight": edges["weight"][keep], "cosines": cosines}


def _strongest(edges: dict, k: int) -> np.ndarray | None:
    """Which edges to keep: those among the ``k`` strongest of either of their accounts (ties by partner); None keeps all."""
    if k <= 0 or not len(edges["a"]):
        return None
    m = len(edges["a"])
    account = np.concatenate([edges["a"], edges["b"]])  # each edge seen from both of its ends
    partner = np.concatenate([edges["b"], edges["a"]])
    order = np.lexsort((partner, -np.tile(edges["weight"], 2), account))  # by account, strongest first, then partner
    account = account[order]
    rows = _row_type(len(order))
    opens = np.flatnonzero(np.r_[True, account[1:] != account[:-1]]).astype(rows)
    rank = np.arange(len(order), dtype=rows) - np.repeat(opens, np.diff(np.r_[opens, len(order)]))
    keep = np.zeros(m, dtype=bool)
    keep[order[rank < k] % m] = True  # end i and end m + i are both edge i
    return keep


def _frame(edges: dict, vectors: AccountVectors) -> pd.DataFrame:
    kinds = list(vectors.kinds)
    if not len(edges["a"]):
        return _empty_edges(kinds)
    frame = pd.DataFrame(edges["cosines"], columns=kinds)
    frame.insert(0, "weight", edges["weight"])
    frame.insert(0, "account_b", vectors.accounts[edges["b"]].astype("string"))
    frame.insert(0, "account_a", vectors.accounts[edges["a"]].astype("string"))
    return frame.sort_values(EDGE_KEY, ignore_index=True)


def _hubs(vectors: AccountVectors, coherence) -> pd.DataFrame:
    """Popular identifiers whose users are not otherwise alike: they lost some or all of their weight."""
    discounted = coherence.factor < 1.0
    columns = coherence.columns[discounted]
    hubs = pd.DataFrame({
        "kind": np.array(vectors.kinds, dtype=object)[vectors.col_kind[columns]],
        "value": vectors.col_value[columns],
        "accounts": vectors.degree[columns].astype(np.int64),
        "coherence": np.round(coherence.coherence[discounted], 4),
        "weight_kept": np.round(coherence.factor[discounted], 4),
    })
    return hubs.sort_values(["accounts", "kind", "value"], ascending=[False, True, True], ignore_index=True)


def _empty_edges(kinds: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in EDGE_KEY + ["weight"] + list(kinds)})
    return frame.astype({"account_a": "string", "account_b": "string"})


def _empty_hubs() -> pd.DataFrame:
    return pd.DataFrame({"kind": pd.Series(dtype=object), "value": pd.Series(dtype=object),
                         "accounts": pd.Series(dtype="int64"), "coherence": pd.Series(dtype="float64"),
                         "weight_kept": pd.Series(dtype="float64")})
