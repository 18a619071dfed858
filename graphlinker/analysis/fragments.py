"""Put back together the pieces modularity cuts one large ring into.

Louvain and Leiden optimise modularity, which prefers to split any large, uniformly
linked group into pieces (the resolution limit, Fortunato & Barthélemy 2007, PNAS
104:36): a 5,000-account operation whose members are all alike comes out as dozens of
communities, each linked to the others about as much as within. Two communities that
are joined by at least one link are merged here when their members resemble each other
*across* about as much as *within*: the median link weight of sampled cross pairs is
at least ``ratio`` times the smaller of the two communities' own medians, and at least
the minimum link weight. Distinct groups that touch through a few links — a class next
to a ring, two families — have cross pairs that are strangers, and stay apart. The
criterion is average linkage (UPGMA) over communities, estimated from samples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from graphlinker.analysis.candidates import hash64
from graphlinker.analysis.detection import canonical


def merge_fragments(communities: pd.DataFrame, edges: pd.DataFrame, similarity: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    min_weight: float, ratio: float = 0.5, samples: int = 16) -> pd.DataFrame:
    """Relabel ``communities`` (``account_id, community``) so that fragments of one group share a label."""
    if communities.empty or edges.empty:
        return communities
    label = communities.set_index("account_id")["community"]
    edges = edges[edges["account_a"].isin(label.index) & edges["account_b"].isin(label.index)]
    ca = edges["account_a"].map(label).to_numpy(dtype=np.int64)  # labels of linked accounts: never missing
    cb = edges["account_b"].map(label).to_numpy(dtype=np.int64)
    touching = pd.DataFrame({"a": np.minimum(ca, cb), "b": np.maximum(ca, cb)})[ca != cb].drop_duplicates()
    if touching.empty:
        return communities
    members = _hash_ordered_members(communities)
    within = _within_medians(members, similarity, samples)
    cross = _cross_medians(touching, members, similarity, samples)
    smaller = np.fmin(within.reindex(touching["a"]).to_numpy(), within.reindex(touching["b"]).to_numpy())
    threshold = np.fmax(min_weight, ratio * np.nan_to_num(smaller, nan=0.0))
    merge = touching[cross >= threshold]
    parent = _union(label.unique(), merge["a"].to_numpy(), merge["b"].to_numpy())
    merged = communities["community"].map(parent).to_numpy()
    return canonical(pd.Index(communities["account_id"].astype(str)), merged)


def _hash_ordered_members(communities: pd.DataFrame) -> dict[int, np.ndarray]:
    """Each community's members in a pseudo-random but reproducible order (hash of the account id)."""
    ids = communities["account_id"].astype(str)
    codes = pd.util.hash_pandas_object(ids, index=False).to_numpy(np.uint64)
    frame = pd.DataFrame({"account_id": ids.to_numpy(), "community": communities["community"].to_numpy(), "h": hash64(codes)})
    frame = frame.sort_values(["community", "h", "account_id"])
    return {c: g.to_numpy() for c, g in frame.groupby("community", sort=False)["account_id"]}


def _within_medians(members: dict[int, np.ndarray], similarity, samples: int) -> pd.Series:
    left, right, owner = [], [], []
    for community, ids in members.items():
        n = min(len(ids) - 1, samples)
        if n >= 1:
            left.append(ids[:n])
            right.append(ids[1 : n + 1])
            owner.append(np.full(n, community))
    if not left:
        return pd.Series(dtype="float64")
    weights = similarity(np.concatenate(left), np.concatenate(right))
    return pd.Series(weights).groupby(np.concatenate(owner)).median()


def _cross_medians(touching: pd.DataFrame, members: dict[int, np.ndarray], similarity, samples: int) -> np.ndarray:
    left, right, owner = [], [], []
    for row, (a, b) in enumerate(zip(touching["a"].to_numpy(), touching["b"].to_numpy())):
        first, second = members[a], members[b]
        n = min(samples, max(len(first), len(second)))
        left.append(first[np.arange(n) % len(first)])
        right.append(second[np.arange(n) % len(second)])
        owner.append(np.full(n, row))
    weights = similarity(np.concatenate(left), np.concatenate(right))
    return pd.Series(weights).groupby(np.concatenate(owner)).median().reindex(range(len(touching))).to_numpy()


def _union(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict:
    """Union-find over community labels; every label maps to the smallest label of its set."""
    parent = {int(x): int(x) for x in labels}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = root(int(x)), root(int(y))
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return {x: root(x) for x in parent}
