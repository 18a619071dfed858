"""The task-space coverage diagnostic: its three measures on a hand-made cluster."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_coverage as C  # noqa: E402


def test_coverage_measures_by_hand():
    # Three members walk one grid (template t1, items 1-4) between them; a's fourth request repeats its own
    # first; c also sends a template nobody else does.
    rows = [("a", "t1", 1), ("a", "t1", 2), ("a", "t1", 3), ("a", "t1", 1),
            ("b", "t1", 3), ("b", "t1", 4),
            ("c", "t1", 4), ("c", "t2", 9)]
    requests = pd.DataFrame(rows, columns=["account_id", "template", "digest"])
    clusters = [{"cluster_id": "cl-1", "size": 3, "flagged": False, "accounts": ["a", "b", "c"]},
                {"cluster_id": "cl-2", "size": 2, "flagged": False, "accounts": ["x", "y"]}]
    truth = pd.DataFrame({"account_id": ["a", "b", "c"], "op_id": ["op-refusal-1"] * 2 + ["lookalike-agency-1"]})
    table = C.coverage_rows(requests, clusters, truth)
    assert table["cluster_id"].tolist() == ["cl-1"]  # pairs are left out
    row = table.iloc[0]
    assert row["kind"] == "refusal"  # 2 of 3
    assert math.isclose(row["novelty"], 5 / 8)  # prompts 1, 2, 3, 4, 9 over 8 requests
    # a: 3 prompts / 1 template, b: 2 / 1, c: 2 / 2 -> median 2
    assert row["fills_per_template"] == 2.0
    # t1 is shared (3 senders); of its 7 requests, prompts 3 (a, b) and 4 (b, c) have two senders: 4 of 7
    assert math.isclose(row["cross_overlap"], 4 / 7)


def test_majority_below_half_is_mixed():
    requests = pd.DataFrame([("a", "t", 1), ("b", "t", 2), ("c", "t", 3), ("d", "t", 4)],
                            columns=["account_id", "template", "digest"])
    truth = pd.DataFrame({"account_id": ["a", "b"], "op_id": ["op-dialogue-1", "op-dialogue-1"]})
    table = C.coverage_rows(requests, [{"cluster_id": "c", "size": 4, "flagged": True, "accounts": list("abcd")}], truth)
    assert table.iloc[0]["kind"] == "mixed" and table.iloc[0]["cross_overlap"] == 0.0
