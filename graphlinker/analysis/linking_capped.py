"""The earlier linking, kept reachable with ``[linking] method = "hub_caps"``.

For each signal kind (payment, IP, subnet, template, time window, creation
burst, device, ...) an account is a TF-IDF vector over the identifiers of that
kind it used: term frequency is the share of its usage, inverse document
frequency ``log(1 + N/d)`` discounts identifiers many accounts share (Salton &
Buckley 1988). Two accounts' similarity for that kind is the cosine of their
vectors, so one shared "Summarize the following text" among hundreds of
varied prompts counts for little, while accounts sending the same rare template
all day count a lot. The link weight is the weighted sum of per-kind
similarities, and each kind's similarity stays on the edge as evidence.

Identifiers used by more accounts than the kind's hub cap (carrier NAT, VPN
exits, popular templates) are never expanded into pairs — that is what glues
benign populations into one mega-cluster — and are returned as hubs instead.
Pair products are computed in row blocks of a sparse matrix so memory is
bounded by the block, not by the square of the population.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graphlinker.arrays import distinct
from graphlinker.kinds import FEATURE_KINDS, TIME, linking_kinds
from graphlinker.settings import Settings

EDGE_KEY = ["account_a", "account_b"]
BLOCK_ROWS = 4096


def link_accounts_capped(usage: pd.DataFrame, settings: Settings, progress: Callable[[int], None] | None = None):
    """Build weighted account pairs from every linking kind in ``usage``; returns a ``Linkage``."""
    from graphlinker.analysis.linking import Linkage

    usage = usage[~usage["kind"].isin(FEATURE_KINDS)]
    accounts = pd.Index(np.sort(usage["account_id"].unique().astype(str)))  # sorted: same order on every store
    kinds = linking_kinds(usage)
    similarities, hubs = [], []
    for kind in kinds:
        rows = usage[usage["kind"] == kind]
        pairs, kind_hubs = kind_similarity(rows, accounts, kind, settings)
        similarities.append(pairs)
        hubs.append(kind_hubs)
        if progress:
            progress(1)
    edges = _combine(similarities, accounts, kinds, settings)
    hub_frame = pd.concat(hubs, ignore_index=True) if hubs else pd.DataFrame(columns=["kind", "value", "accounts"])
    return Linkage(edges, hub_frame.sort_values("accounts", ascending=False, ignore_index=True), tuple(kinds))


def kind_similarity(
    rows: pd.DataFrame, accounts: pd.Index, kind: str, settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cosine similarity of TF-IDF usage vectors for one kind; returns (pairs, hubs)."""
    if kind == TIME:
        active = rows.groupby("account_id")["value"].transform("size")
        rows = rows[active >= settings.linking.min_active_windows]
    degree = rows.groupby("value")["account_id"].transform("size")
    cap = settings.hub_cap(kind)
    hub_rows = rows[degree > cap]
    hubs = (
        hub_rows.groupby("value").size().rename("accounts").reset_index().assign(kind=kind)[["kind", "value", "accounts"]]
    )
    n_accounts = rows["account_id"].nunique()
    tfidf = _tfidf(rows, degree, n_accounts)
    shared = (degree >= 2) & (degree <= cap)
    min_shared = int(settings.linking.min_shared.get(kind, 1))
    pairs = _cosine_pairs(rows[shared], tfidf[shared], accounts, settings.min_similarity(kind), min_shared)
    return pairs.assign(kind=kind), hubs


def _tfidf(rows: pd.DataFrame, degree: pd.Series, n_accounts: int) -> pd.Series:
    """Row-normalised TF-IDF weight of each (account, identifier) usage row."""
    count = rows["count"].astype("float64")
    tf = count / count.groupby(rows["account_id"]).transform("sum")
    weight = tf * np.log1p(n_accounts / degree.astype("float64"))
    norm = np.sqrt((weight**2).groupby(rows["account_id"]).transform("sum"))
    return weight / norm


def _cosine_pairs(
    rows: pd.DataFrame, weights: pd.Series, accounts: pd.Index, min_sim: float, min_shared: int = 1
) -> pd.DataFrame:
    """Upper-triangle entries of B·Bᵀ at or above ``min_sim``, computed in row blocks.

    With ``min_shared > 1`` a pair must also share that many identifiers: one shared
    minute between two light users is chance, several are synchrony (SynchroTrap).
    """
    if rows.empty:
        return pd.DataFrame({"a": np.array([], "int64"), "b": np.array([], "int64"), "similarity": np.array([], "float64")})
    row_idx = accounts.get_indexer(rows["account_id"])
    col_codes, _ = pd.factorize(rows["value"])
    matrix = sp.csr_matrix(
        (weights.to_numpy("float64"), (row_idx, col_codes)), shape=(len(accounts), int(col_codes.max()) + 1)
    )
    transposed = matrix.T.tocsc()
    binary = matrix.astype(bool).astype("float64") if min_shared > 1 else None
    present = distinct(row_idx)
    parts = []
    for start in range(0, len(present), BLOCK_ROWS):
        block_rows = present[start : start + BLOCK_ROWS]
        product = (matrix[block_rows] @ transposed).tocsr()
        product.sort_indices()
        block = product.tocoo()
        a = block_rows[block.row]
        keep = (block.col > a) & (block.data >= min_sim)
        if binary is not None:  # same sparsity pattern (all weights are positive), so entries align
            counts = (binary[block_rows] @ binary.T).tocsr()
            counts.sort_indices()
            keep &= counts.data >= min_shared
        parts.append(pd.DataFrame({"a": a[keep], "b": block.col[keep], "similarity": np.minimum(block.data[keep], 1.0)}))
    return pd.concat(parts, ignore_index=True)


def _combine(similarities: list[pd.DataFrame], accounts: pd.Index, kinds: list[str], settings: Settings) -> pd.DataFrame:
    """One row per linked pair: per-kind similarity columns and their weighted sum."""
    columns = EDGE_KEY + ["weight"] + kinds
    if not similarities or all(s.empty for s in similarities):
        frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
        return frame.astype({"account_a": "string", "account_b": "string"})
    long = pd.concat(similarities, ignore_index=True)
    wide = long.pivot_table(index=["a", "b"], columns="kind", values="similarity", aggfunc="max", fill_value=0.0)
    wide = wide.reindex(columns=kinds, fill_value=0.0)
    weights = np.array([settings.signal_weight(k) for k in kinds])
    wide["weight"] = wide[kinds].to_numpy() @ weights
    wide = wide[wide["weight"] >= settings.linking.min_edge_weight].reset_index()
    wide["account_a"] = accounts[wide["a"].to_numpy()].astype("string")
    wide["account_b"] = accounts[wide["b"].to_numpy()].astype("string")
    wide.columns.name = None
    return wide[columns].sort_values(EDGE_KEY, ignore_index=True)
