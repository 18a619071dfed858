"""evaluate() against hand-computed precision/recall and per-group recovery."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_fscore_support

from graphlinker.errors import InputError
from graphlinker.evaluate import evaluate
from graphlinker.simulate import generate

TRUTH = [
    ("a1", "op-a-1", "worker"), ("a2", "op-a-1", "worker"), ("a3", "op-a-1", "worker"), ("a4", "op-a-1", "payer"),
    ("b1", "op-b-1", "worker"), ("b2", "op-b-1", "worker"),
    ("l1", "lookalike-family-1", "lookalike"), ("l2", "lookalike-family-1", "lookalike"),
    ("u1", "lookalike-university-1", "lookalike"), ("u2", "lookalike-university-1", "lookalike"),
    ("u3", "lookalike-university-1", "lookalike"),
]


def cluster(cid, accounts, flagged=True):
    return {"cluster_id": cid, "size": len(accounts), "risk_score": 0.9 if flagged else 0.1, "flagged": flagged,
            "accounts": accounts, "reasons": [], "evidence": {}}


def report(*clusters):
    return {"run_id": "r1", "generated_at": "2026-10-01T00:00:00Z", "clusters": list(clusters)}


@pytest.fixture
def truth(tmp_path):
    path = tmp_path / "truth.csv"
    pd.DataFrame(TRUTH, columns=["account_id", "op_id", "role"]).to_csv(path, index=False)
    return path


def test_account_level_metrics_by_hand(truth):
    # flagged = {a1, a2, a3, x1, b1, l1}; positives = {a1..a4, b1, b2}
    # tp = 4 (a1 a2 a3 b1), fp = 2 (x1 unlisted, l1 look-alike), fn = 2 (a4 b2)
    result = evaluate(report(cluster("c1", ["a1", "a2", "a3", "x1"]), cluster("c2", ["b1", "l1"]),
                             cluster("c3", ["a4", "b2", "u1"], flagged=False), cluster("c4", [])), truth)
    assert (result.tp, result.fp, result.fn) == (4, 2, 2)
    assert result.precision == pytest.approx(4 / 6)
    assert result.recall == pytest.approx(4 / 6)
    assert result.f1 == pytest.approx(4 / 6)
    assert (result.fp_lookalike, result.fp_unlisted) == (1, 1)
    assert (result.flagged_accounts, result.flagged_clusters) == (6, 2)


def test_per_operation_recovery_by_hand(truth):
    result = evaluate(report(cluster("c1", ["a1", "a2", "a3", "x1"]), cluster("c2", ["b1", "l1"])), truth)
    ops = {op.op_id: op for op in result.operations}
    assert set(ops) == {"op-a-1", "op-b-1"}
    a = ops["op-a-1"]
    assert (a.size, a.flagged, a.clusters, a.best_cluster) == (4, 3, 1, "c1")
    assert a.recall == pytest.approx(0.75) and a.purity == pytest.approx(0.75)
    b = ops["op-b-1"]
    assert (b.size, b.flagged, b.clusters, b.best_cluster) == (2, 1, 1, "c2")
    assert b.recall == pytest.approx(0.5) and b.purity == pytest.approx(0.5)


def test_lookalike_results_by_hand(truth):
    result = evaluate(report(cluster("c1", ["a1", "a2", "a3", "x1"]), cluster("c2", ["b1", "l1"])), truth)
    groups = {g.op_id: g for g in result.lookalikes}
    assert [g.op_id for g in result.lookalikes] == ["lookalike-family-1", "lookalike-university-1"]
    assert (groups["lookalike-family-1"].size, groups["lookalike-family-1"].flagged) == (2, 1)
    assert groups["lookalike-family-1"].share_flagged == pytest.approx(0.5)
    assert (groups["lookalike-university-1"].size, groups["lookalike-university-1"].flagged) == (3, 0)
    assert result.lookalike_share_flagged == pytest.approx(1 / 5)
    assert result.lookalike_groups_flagged == 1


def test_fragmented_operation_picks_the_biggest_then_purest_cluster(truth):
    # op-a: 2 members in c1 (pure), 1 in c2 (with 2 strangers), 1 in c3 alone -> 3 clusters
    result = evaluate(report(cluster("c1", ["a1", "a2"]), cluster("c2", ["a3", "z1", "z2"]), cluster("c3", ["a4"])), truth)
    a = next(op for op in result.operations if op.op_id == "op-a-1")
    assert (a.flagged, a.clusters, a.best_cluster, a.purity) == (4, 3, "c1", 1.0)
    # a tie on members is broken by purity: c5 (1 of 1) beats c4 (1 of 3)
    result = evaluate(report(cluster("c4", ["b1", "z1", "z2"]), cluster("c5", ["b2"])), truth)
    b = next(op for op in result.operations if op.op_id == "op-b-1")
    assert (b.clusters, b.best_cluster, b.purity) == (2, "c5", 1.0)


def test_empty_report_scores_zero(truth):
    result = evaluate(report(), truth)
    assert (result.precision, result.recall, result.f1) == (0.0, 0.0, 0.0)
    assert (result.tp, result.fp, result.fn) == (0, 0, 6)
    assert all(op.flagged == 0 and op.best_cluster is None and op.purity is None for op in result.operations)
    assert result.lookalike_share_flagged == 0.0 and result.lookalike_groups_flagged == 0
    unflagged_only = evaluate(report(cluster("c1", ["a1", "a2"], flagged=False)), truth)
    assert unflagged_only.precision == 0.0 and unflagged_only.recall == 0.0


def test_truth_without_positives(tmp_path):
    path = tmp_path / "truth.csv"
    pd.DataFrame([("l1", "lookalike-family-1", "lookalike")], columns=["account_id", "op_id", "role"]).to_csv(path, index=False)
    quiet = evaluate(report(), path)
    assert (quiet.precision, quiet.recall, quiet.f1) == (1.0, 1.0, 1.0)
    noisy = evaluate(report(cluster("c1", ["l1", "x1"])), path)
    assert (noisy.precision, noisy.recall, noisy.f1) == (0.0, 1.0, 0.0)
    assert noisy.lookalike_share_flagged == 1.0


def test_report_from_file_and_serialisable(truth, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report(cluster("c1", ["a1", "b1"]))))
    result = evaluate(path, truth)
    assert (result.tp, result.fp, result.fn) == (2, 0, 4)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["precision"] == 1.0 and data["operations"][0]["op_id"] == "op-a-1"


def test_bad_inputs_raise_input_error(truth, tmp_path):
    with pytest.raises(InputError):
        evaluate(tmp_path / "missing.json", truth)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError):
        evaluate(tmp_path / "bad.json", truth)
    with pytest.raises(InputError):
        evaluate({"clusters": "nope"}, truth)
    (tmp_path / "t.csv").write_text("account_id,op_id\na1,op-a-1\n")
    with pytest.raises(InputError):
        evaluate(report(), tmp_path / "t.csv")


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=30),
)
def test_matches_sklearn(labels):
    """Account-level metrics agree with scikit-learn on random truth/flag assignments."""
    truth = pd.DataFrame(
        [(f"acc{i}", "op-x-1" if positive else "lookalike-family-1", "worker" if positive else "lookalike")
         for i, (positive, _) in enumerate(labels)], columns=["account_id", "op_id", "role"])
    flagged = [f"acc{i}" for i, (_, hit) in enumerate(labels) if hit]
    result = evaluate(report(cluster("c1", flagged)), truth)
    y_true = [int(p) for p, _ in labels]
    y_pred = [int(h) for _, h in labels]
    if any(y_true) and any(y_pred):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="binary", zero_division=0)
        assert (result.precision, result.recall, result.f1) == pytest.approx((p, r, f))
    assert result.tp + result.fn == sum(y_true) and result.tp + result.fp == sum(y_pred)


def test_perfect_report_on_a_simulated_scenario():
    truth = generate(seed=0, scale=0.05).truth
    ops = truth[truth["role"] != "lookalike"]
    clusters = [cluster(op_id, group["account_id"].tolist()) for op_id, group in ops.groupby("op_id")]
    result = evaluate(report(*clusters), truth)
    assert (result.precision, result.recall, result.f1) == (1.0, 1.0, 1.0)
    assert len(result.operations) == 5 and all(op.purity == 1.0 and op.clusters == 1 for op in result.operations)
    assert result.lookalike_groups_flagged == 0 and len(result.lookalikes) >= 7
