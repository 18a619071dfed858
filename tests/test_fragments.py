"""Merging the pieces modularity cuts one ring into, and keeping distinct groups apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphlinker.analysis.fragments import merge_fragments


def _similarity(group_of: dict[str, str], inside: float, across: dict[frozenset, float]):
    def similarity(left, right):
        out = []
        for a, b in zip(left, right):
            ga, gb = group_of[a], group_of[b]
            out.append(inside if ga == gb else across.get(frozenset((ga, gb)), 0.0))
        return np.array(out)
    return similarity


def _communities(assignment: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"account_id": list(assignment), "community": list(assignment.values())})


def test_pieces_of_one_ring_are_merged_and_a_touching_group_is_not():
    ring = [f"r{i}" for i in range(60)]
    klass = [f"c{i}" for i in range(20)]
    group_of = {a: "ring" for a in ring} | {a: "class" for a in klass}
    # Louvain cut the ring into three pieces; the class touches the ring through one link.
    assignment = {a: i // 20 for i, a in enumerate(ring)} | {a: 3 for a in klass}
    edges = pd.DataFrame({"account_a": ["r0", "r20", "r5", "c0"], "account_b": ["r25", "r45", "r50", "r1"]})
    merged = merge_fragments(_communities(assignment), edges, _similarity(group_of, 1.0, {}), min_weight=0.12)
    labels = merged.set_index("account_id")["community"]
    assert labels[ring].nunique() == 1
    assert labels[klass].nunique() == 1 and labels["c0"] != labels["r0"]


def test_weakly_alike_groups_stay_apart():
    """Across-group pairs at 0.2 of the within similarity: below fragment_ratio 0.25, not one ring."""
    a, b = [f"a{i}" for i in range(10)], [f"b{i}" for i in range(10)]
    group_of = {x: "a" for x in a} | {x: "b" for x in b}
    edges = pd.DataFrame({"account_a": ["a0"], "account_b": ["b0"]})
    sim = _similarity(group_of, 2.0, {frozenset(("a", "b")): 0.4})
    merged = merge_fragments(_communities({x: 0 for x in a} | {x: 1 for x in b}), edges, sim, min_weight=0.12, ratio=0.25)
    assert merged["community"].nunique() == 2
    sim = _similarity(group_of, 2.0, {frozenset(("a", "b")): 0.6})  # 0.3 of within: merged
    merged = merge_fragments(_communities({x: 0 for x in a} | {x: 1 for x in b}), edges, sim, min_weight=0.12, ratio=0.25)
    assert merged["community"].nunique() == 1


def test_cross_pairs_below_the_minimum_link_weight_never_merge():
    a, b = [f"a{i}" for i in range(5)], [f"b{i}" for i in range(5)]
    group_of = {x: "a" for x in a} | {x: "b" for x in b}
    edges = pd.DataFrame({"account_a": ["a0"], "account_b": ["b0"]})
    sim = _similarity(group_of, 0.1, {frozenset(("a", "b")): 0.1})  # as alike across as within, but not linked
    merged = merge_fragments(_communities({x: 0 for x in a} | {x: 1 for x in b}), edges, sim, min_weight=0.12)
    assert merged["community"].nunique() == 2
