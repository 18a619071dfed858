"""evaluate() against hand-computed precision/recall and per-group recovery."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_fscore_support
from typer.testing import CliRunner

from graphlinker.cli.app import app
from graphlinker.errors import InputError
from graphlinker.sim.evaluate import evaluate
from graphlinker.sim.scenario import generate

TRUTH = [
    ("a1", "op-a-1", "worker"), ("a2", "op-a-1", "worker"), ("a3", "op-a-1", "worker"), ("a4", "op-a-1", "payer"),
    ("b1", "op-b-1", "worker"), ("b2", "op-b-1", "worker"),
    ("l1", "lookalike-family-1", "lookalike"), ("l2", "lookalike-family-1", "lookalike"),
    ("u1", "lookalike-university-1", "lookalike"), ("u2", "lookalike-university-1", "lookalike"),
    ("u3", "lookalike-university-1", "lookalike"),
]


def cluster(cid, accounts, flagged=True, risk=None):
    risk = (0.9 if flagged else 0.1) if risk is None else risk
    return {"cluster_id": cid, "size": len(accounts), "risk_score": risk, "flagged": flagged,
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


def test_split_operation_false_cluster_and_flagged_lookalikes_by_hand(truth):
    # c3 (risk 0.95, flagged): x1 x2 x3        a false cluster of unlisted accounts
    # c1 (0.9, flagged):       a1 a2 a3        op-a, split in two ...
    # c2 (0.85, flagged):      a4              ... its fourth member alone
    # c4 (0.8, flagged):       l1 l2           the whole look-alike family flagged
    # c5 (0.2, not flagged):   b1 b2           op-b clustered but missed
    # flagged = 3 + 3 + 1 + 2 = 9 accounts in 4 clusters; positives (role != lookalike) = a1..a4 b1 b2 = 6
    # tp = 4 (a1..a4), fp = 5 (x1 x2 x3 unlisted + l1 l2 look-alikes), fn = 2 (b1 b2)
    # precision = 4/9, recall = 4/6 = 2/3, F1 = 2tp / (2tp + fp + fn) = 8/15
    #   (the same as 2PR / (P + R) = 2 (4/9)(2/3) / (4/9 + 2/3) = (16/27) / (10/9) = 8/15)
    result = evaluate(report(cluster("c3", ["x1", "x2", "x3"], risk=0.95), cluster("c1", ["a1", "a2", "a3"], risk=0.9),
                             cluster("c2", ["a4"], risk=0.85), cluster("c4", ["l1", "l2"], risk=0.8),
                             cluster("c5", ["b1", "b2"], flagged=False, risk=0.2)), truth)
    assert (result.tp, result.fp, result.fn) == (4, 5, 2)
    assert result.precision == pytest.approx(4 / 9)
    assert result.recall == pytest.approx(2 / 3)
    assert result.f1 == pytest.approx(8 / 15)
    assert (result.fp_lookalike, result.fp_unlisted) == (2, 3)
    assert (result.flagged_accounts, result.flagged_clusters) == (9, 4)
    # op-a: all 4 flagged over 2 clusters, best c1 (3 of its 4, nothing else in it): recall 1.0, one cluster 3/4,
    # so not recovered (needs >= 0.8); op-b: nothing flagged, but all of it in one (unflagged) cluster
    ops = {op.op_id: op for op in result.operations}
    a, b = ops["op-a-1"], ops["op-b-1"]
    assert (a.size, a.flagged, a.clusters, a.best_cluster, a.purity) == (4, 4, 2, "c1", 1.0)
    assert (a.recall, a.one_cluster_share, a.largest_cluster_share) == (1.0, 3 / 4, 3 / 4)
    assert (b.size, b.flagged, b.clusters, b.best_cluster, b.purity) == (2, 0, 0, None, None)
    assert (b.recall, b.one_cluster_share, b.largest_cluster_share) == (0.0, 0.0, 1.0)
    assert (result.operations_recovered, result.operations_total) == (0, 2)
    # look-alikes: the family 2 of 2 flagged, the university 0 of 3 -> 2 of 5 look-alike accounts, 1 group
    groups = {g.op_id: g for g in result.lookalikes}
    assert groups["lookalike-family-1"].share_flagged == 1.0 and groups["lookalike-university-1"].flagged == 0
    assert (result.lookalike_share_flagged, result.lookalike_groups_flagged) == (pytest.approx(2 / 5), 1)
    # ranking by risk: c3 N, c1 P (3/3 op-a), c2 P (1/1 op-a), c4 N (look-alikes), c5 P (2/2 op-b, ranked though
    # unflagged): AP = (1/2 + 2/3 + 3/5) / 3 = 53/90; 5 clusters, so precision@10 = 3/5
    assert (result.ranked_clusters, result.positive_clusters) == (5, 3)
    assert result.average_precision == pytest.approx(53 / 90)
    assert result.precision_at_10 == pytest.approx(3 / 5)


def test_simulated_truth_with_one_member_missed_and_one_lookalike_group_flagged():
    """evaluate() reads the simulator's truth as it is written (several operations, payers, many look-alike
    groups); the report flags every planted account but one and a whole look-alike group, so the expected
    numbers follow from the truth's counts (n planted accounts, g in the flagged group), not from a run."""
    truth = generate(seed=0, scale=0.05).truth
    assert truth["account_id"].is_unique
    planted = truth[truth["role"] != "lookalike"]
    lookalikes = truth[truth["role"] == "lookalike"]
    op_ids = sorted(planted["op_id"].unique())
    missed = planted.loc[planted["op_id"] == op_ids[0], "account_id"].iloc[-1]
    group_id = sorted(lookalikes["op_id"].unique())[0]
    group = lookalikes.loc[lookalikes["op_id"] == group_id, "account_id"].tolist()
    clusters = [cluster(op_id, [a for a in planted.loc[planted["op_id"] == op_id, "account_id"] if a != missed])
                for op_id in op_ids]
    result = evaluate(report(*clusters, cluster("false", group), cluster("missed", [missed], flagged=False)), truth)
    n, g = len(planted), len(group)
    assert n >= 10 and g >= 2 and len(op_ids) >= 2  # so the expectations below are not degenerate
    # tp = n - 1 (all planted accounts but `missed`), fp = g (the flagged group), fn = 1 (`missed`)
    assert (result.tp, result.fp, result.fn) == (n - 1, g, 1)
    assert result.precision == pytest.approx((n - 1) / (n - 1 + g))
    assert result.recall == pytest.approx((n - 1) / n)
    assert result.f1 == pytest.approx(2 * (n - 1) / (2 * (n - 1) + g + 1))
    assert (result.fp_lookalike, result.fp_unlisted, result.lookalike_groups_flagged) == (g, 0, 1)
    recall = {op.op_id: op.recall for op in result.operations}
    first_size = (planted["op_id"] == op_ids[0]).sum()
    assert recall == pytest.approx({op_id: (first_size - 1) / first_size if op_id == op_ids[0] else 1.0 for op_id in op_ids})


# ---- ranking quality: AP and precision@k over all clusters ordered by risk ----

def test_ranking_p_n_p_n_n_by_hand(truth):
    # ranks: 1 c1 (3/3 op-a: P), 2 c2 (unlisted: N), 3 c3 (2/2 op-b: P), 4 c4 (look-alikes: N), 5 c5 (N)
    # AP = (1/1 + 2/3) / 2 = 5/6; fewer than 10 clusters, so precision@10 = precision@50 = 2/5
    # c3 and c5 are unflagged and still ranked; the report lists them out of risk order on purpose
    result = evaluate(report(cluster("c5", ["u1", "u2", "u3"], flagged=False, risk=0.5),
                             cluster("c3", ["b1", "b2"], flagged=False, risk=0.7),
                             cluster("c1", ["a1", "a2", "a3"], risk=0.95),
                             cluster("c4", ["l1", "l2"], risk=0.6),
                             cluster("c2", ["x1", "x2"], risk=0.8)), truth)
    assert result.average_precision == pytest.approx(5 / 6)
    assert result.precision_at_10 == pytest.approx(2 / 5) and result.precision_at_50 == pytest.approx(2 / 5)
    assert (result.ranked_clusters, result.positive_clusters) == (5, 2)


def test_positive_needs_a_strict_majority_of_one_operation(truth):
    # c1: 2 of 3 op-a -> P; c2: 1 of 2 op-a (exactly half) -> N; c3: a4 + b1 + x4, 2 of 3 planted but of two
    # operations (1/3 each) -> N; c4: b2 + l1 + l2, 1 of 3 -> N. Ranking P N N N -> AP = 1/1 = 1.0
    result = evaluate(report(cluster("c1", ["a1", "a2", "x1"], risk=0.9), cluster("c2", ["a3", "x2"], risk=0.8),
                             cluster("c3", ["a4", "b1", "x4"], risk=0.7), cluster("c4", ["b2", "l1", "l2"], risk=0.6)), truth)
    assert (result.positive_clusters, result.average_precision) == (1, 1.0)
    assert result.precision_at_10 == pytest.approx(1 / 4)
    # the same clusters with the majority-of-one-operation cluster last: N N N P -> AP = 1/4
    result = evaluate(report(cluster("c1", ["a1", "a2", "x1"], risk=0.1), cluster("c2", ["a3", "x2"], risk=0.8),
                             cluster("c3", ["a4", "b1", "x4"], risk=0.7), cluster("c4", ["b2", "l1", "l2"], risk=0.6)), truth)
    assert result.average_precision == pytest.approx(1 / 4)


def test_fragments_of_one_operation_are_each_positive(truth):
    # op-a split in two pure clusters at ranks 1 and 3 around a negative: AP = (1 + 2/3) / 2
    result = evaluate(report(cluster("c1", ["a1", "a2"], risk=0.9), cluster("c2", ["x1", "x2"], risk=0.8),
                             cluster("c3", ["a3", "a4"], risk=0.7)), truth)
    assert result.positive_clusters == 2 and result.average_precision == pytest.approx(5 / 6)


def test_ranking_ties_larger_cluster_then_cluster_id(truth):
    # equal risk: the larger negative c9 (3 accounts) ranks before the positive c1 (2 accounts): N P -> AP = 1/2
    # (report order, or cluster_id order, would put c1 first and give 1.0)
    result = evaluate(report(cluster("c1", ["a1", "a2"], risk=0.5), cluster("c9", ["x1", "x2", "x3"], risk=0.5)), truth)
    assert result.average_precision == pytest.approx(1 / 2)
    # equal risk and size: plain string order of cluster_id, "c10" < "c2": P (c10) then N (c2) -> AP = 1.0;
    # the report lists c2 first, so keeping report order would give 1/2
    result = evaluate(report(cluster("c2", ["x1", "x2"], risk=0.5), cluster("c10", ["b1", "b2"], risk=0.5)), truth)
    assert result.average_precision == 1.0
    result = evaluate(report(cluster("c10", ["x1", "x2"], risk=0.5), cluster("c2", ["b1", "b2"], risk=0.5)), truth)
    assert result.average_precision == pytest.approx(1 / 2)
    # size counts distinct accounts: c0 lists x1 three times and is smaller than c1 -> P N -> AP = 1.0
    result = evaluate(report(cluster("c0", ["x1", "x1", "x1"], risk=0.5), cluster("c1", ["a1", "a2"], risk=0.5)), truth)
    assert result.average_precision == 1.0


def test_precision_at_k_with_more_than_ten_clusters(truth):
    # 12 clusters, positives at ranks 1 (op-a) and 11 (op-b), negatives are unlisted pairs
    # AP = (1/1 + 2/11) / 2; precision@10 = 1/10; precision@50 = 2/12 (only 12 clusters)
    negatives = [cluster(f"n{i:02d}", [f"x{i}a", f"x{i}b"], risk=0.8 - i * 0.01) for i in range(10)]
    clusters = [cluster("p1", ["a1", "a2", "a3", "a4"], risk=0.95), *negatives[:9],
                cluster("p2", ["b1", "b2"], risk=0.5), negatives[9] | {"risk_score": 0.4}]
    result = evaluate(report(*clusters), truth)
    assert (result.ranked_clusters, result.positive_clusters) == (12, 2)
    assert result.average_precision == pytest.approx((1 + 2 / 11) / 2)
    assert result.precision_at_10 == pytest.approx(1 / 10)
    assert result.precision_at_50 == pytest.approx(2 / 12)


def test_ranking_without_positives_is_none_not_one(truth):
    result = evaluate(report(cluster("c1", ["x1", "x2"]), cluster("c2", ["l1", "l2", "a1"], flagged=False)), truth)
    assert result.average_precision is None
    assert (result.precision_at_10, result.precision_at_50) == (0.0, 0.0)
    assert (result.ranked_clusters, result.positive_clusters) == (2, 0)
    empty = evaluate(report(), truth)
    assert (empty.average_precision, empty.precision_at_10, empty.precision_at_50) == (None, None, None)
    assert (empty.ranked_clusters, empty.positive_clusters) == (0, 0)
    data = json.loads(json.dumps(empty.to_dict()))
    assert data["average_precision"] is None and data["precision_at_10"] is None


def test_ranking_rejects_a_non_numeric_risk_score(truth):
    with pytest.raises(InputError):
        evaluate(report(cluster("c1", ["a1"], risk="high")), truth)
    with pytest.raises(InputError):
        evaluate(report(cluster("c1", ["a1"], risk=float("nan"))), truth)


# ---- per operation: one_cluster_share / largest_cluster_share; operations_recovered ----

def test_one_cluster_and_largest_cluster_share_by_hand(truth):
    # op-a: a1 alone in flagged c1, a2 a3 a4 in unflagged c2 -> one flagged cluster 1/4, any cluster 3/4
    # op-b: b1 b2 in unflagged c3 only -> 0.0 flagged, 1.0 any
    result = evaluate(report(cluster("c1", ["a1", "x1"]), cluster("c2", ["a2", "a3", "a4"], flagged=False),
                             cluster("c3", ["b1", "b2", "x2"], flagged=False)), truth)
    ops = {op.op_id: op for op in result.operations}
    assert ops["op-a-1"].one_cluster_share == pytest.approx(1 / 4)
    assert ops["op-a-1"].largest_cluster_share == pytest.approx(3 / 4)
    assert (ops["op-b-1"].one_cluster_share, ops["op-b-1"].largest_cluster_share) == (0.0, 1.0)
    # fragmented but all flagged: op-a 2 + 1 + 1 -> 2/4 in one flagged cluster, recall 1.0, so not recovered
    result = evaluate(report(cluster("c1", ["a1", "a2"]), cluster("c2", ["a3", "z1", "z2"]), cluster("c3", ["a4"])), truth)
    a = next(op for op in result.operations if op.op_id == "op-a-1")
    assert (a.recall, a.one_cluster_share, a.largest_cluster_share) == (1.0, 0.5, 0.5)
    assert (result.operations_recovered, result.operations_total) == (0, 2)
    # nothing in any cluster
    result = evaluate(report(), truth)
    assert all(op.one_cluster_share == 0.0 and op.largest_cluster_share == 0.0 for op in result.operations)


def test_lookalike_members_of_an_operation_do_not_count_in_its_shares(tmp_path):
    # op-m has 2 real members and 1 member marked lookalike: its size is 2, and the cluster {m1, m2, m3}
    # holds 2 of them (share 1.0) and is positive (2 of 3 accounts > half)
    truth = pd.DataFrame([("m1", "op-m-1", "worker"), ("m2", "op-m-1", "payer"), ("m3", "op-m-1", "lookalike")],
                         columns=["account_id", "op_id", "role"])
    result = evaluate(report(cluster("c1", ["m1", "m2", "m3"])), truth)
    (op,) = result.operations
    assert (op.size, op.one_cluster_share, op.largest_cluster_share) == (2, 1.0, 1.0)
    assert result.positive_clusters == 1 and result.operations_recovered == 1


def test_operations_recovered_thresholds_are_inclusive():
    truth = pd.DataFrame(
        [(f"c{i}", "op-c-1", "worker") for i in range(10)]
        + [(f"d{i}", "op-d-1", "worker") for i in range(5)]
        + [(f"e{i}", "op-e-1", "worker") for i in range(5)]
        + [(f"f{i}", "op-f-1", "worker") for i in range(10)],
        columns=["account_id", "op_id", "role"])
    result = evaluate(report(
        cluster("k1", [f"c{i}" for i in range(9)]),  # op-c: recall 9/10 = 0.9, one cluster 0.9 -> recovered
        cluster("k2", ["d0", "d1", "d2", "d3"]), cluster("k3", ["d4", "y1"]),  # op-d: recall 1.0, one cluster 0.8 -> recovered
        cluster("k4", ["e0", "e1", "e2", "e3"]), cluster("k5", ["e4"], flagged=False),  # op-e: recall 0.8 -> not
        cluster("k6", [f"f{i}" for i in range(7)]), cluster("k7", ["f7", "f8", "f9"]),  # op-f: recall 1.0, one cluster 0.7 -> not
    ), truth)
    ops = {op.op_id: op for op in result.operations}
    assert (ops["op-c-1"].recall, ops["op-c-1"].one_cluster_share) == (0.9, 0.9)
    assert (ops["op-d-1"].recall, ops["op-d-1"].one_cluster_share) == (1.0, 0.8)
    assert (ops["op-e-1"].recall, ops["op-e-1"].one_cluster_share, ops["op-e-1"].largest_cluster_share) == (0.8, 0.8, 0.8)
    assert (ops["op-f-1"].recall, ops["op-f-1"].one_cluster_share) == (1.0, 0.7)
    assert (result.operations_recovered, result.operations_total) == (2, 4)


def test_cli_evaluate_reports_ranking_and_recovery(truth, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report(cluster("c1", ["a1", "a2", "a3", "a4"], risk=0.95), cluster("c2", ["x1", "x2"], risk=0.8),
                                      cluster("c3", ["b1", "b2"], flagged=False, risk=0.7))))
    result = CliRunner().invoke(app, ["evaluate", str(path), str(truth), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["average_precision"] == pytest.approx((1 + 2 / 3) / 2)
    assert (data["precision_at_10"], data["precision_at_50"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert (data["ranked_clusters"], data["positive_clusters"]) == (3, 2)
    assert (data["operations_recovered"], data["operations_total"]) == (1, 2)
    ops = {op["op_id"]: op for op in data["operations"]}
    assert (ops["op-a-1"]["one_cluster_share"], ops["op-a-1"]["largest_cluster_share"]) == (1.0, 1.0)
    assert (ops["op-b-1"]["one_cluster_share"], ops["op-b-1"]["largest_cluster_share"]) == (0.0, 1.0)
    table = CliRunner().invoke(app, ["evaluate", str(path), str(truth)])
    assert table.exit_code == 0, table.output
    assert "average precision 0.833" in table.stdout and "precision@10 0.667" in table.stdout
    assert "ranking of 3 clusters by risk (2 positive)" in table.stdout
    assert "operations recovered (recall >= 0.9, one flagged cluster >= 0.8): 1 of 2" in table.stdout
    assert "one flagged cluster" in table.stdout and "largest any cluster" in table.stdout
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(report()))
    table = CliRunner().invoke(app, ["evaluate", str(empty), str(truth)])
    assert table.exit_code == 0 and "average precision n/a" in table.stdout
    assert json.loads(CliRunner().invoke(app, ["evaluate", str(empty), str(truth), "-f", "json"]).stdout)["average_precision"] is None
