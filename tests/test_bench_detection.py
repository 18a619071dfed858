"""The detection benchmark: folds never train on what they score, and one small real run end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_detection as B  # noqa: E402

from graphlinker.analysis.features import FEATURE_COLUMNS  # noqa: E402
from graphlinker.analysis.population import Population  # noqa: E402
from graphlinker.settings import Settings  # noqa: E402


def _report(op_accounts: list[str], lookalike_accounts: list[str], tag: str) -> dict:
    def cluster(cid, accounts, **features):
        row = {c: 0.0 for c in FEATURE_COLUMNS if c not in ("size", "requests", "output_tokens")}
        row.update(features)
        return {"cluster_id": cid, "size": len(accounts), "accounts": accounts, "risk_score": 0.5, "flagged": False,
                "evidence": {"features": row, "requests": 100, "output_tokens": 1000}}
    return {"clusters": [cluster(f"{tag}-op", op_accounts, extraction_share=0.6, independence=1.0, under_p95_share=1.0),
                         cluster(f"{tag}-la", lookalike_accounts, shared_payment_share=1.0, under_p95_share=1.0)]}


def _run(archetype: str, i: int, scale: float = 1.0) -> dict:
    ops = [f"{archetype}{scale:g}-{k}" for k in range(5)]
    las = [f"la{i}-{k}" for k in range(5)]
    truth = pd.DataFrame({"account_id": ops + las, "op_id": [f"op-{archetype}-1"] * 5 + ["lookalike-company-1"] * 5,
                          "role": ["worker"] * 5 + ["lookalike"] * 5})
    return {"archetype": archetype, "scale": scale, "report": _report(ops, las, f"{archetype}{scale:g}"), "truth": truth,
            "seconds": 1.0}


@pytest.fixture
def fitted_on(monkeypatch) -> list[list[str]]:
    """The scenario numbers each call of ``fit_scoring`` trained on, in call order."""
    seen = []
    real = B.fit_scoring

    def recording(features, positive, settings, *args):
        seen.append(sorted({i.split("/")[0] for i in features.index}))
        return real(features, positive, settings, *args)

    monkeypatch.setattr(B, "fit_scoring", recording)
    return seen


def test_each_fold_is_fitted_without_its_own_scenario(fitted_on):
    seen = fitted_on
    runs = [_run(a, i) for i, a in enumerate(["alpha", "beta", "gamma"])]
    op_rows, lookalike_rows = B.leave_one_out(runs, Settings.load())
    assert seen[:3] == [["1", "2"], ["0", "2"], ["0", "1"]]  # op folds leave their scenario out
    assert [r["archetype"] for r in op_rows] == ["alpha", "beta", "gamma"]
    assert [r["lookalike"] for r in lookalike_rows] == ["company"]
    # the look-alike fold saw no cluster that is mostly a company: only op clusters remain, all positive
    assert len(seen) == 4
    for row in op_rows:
        assert row["loo"]["recall"] == 1.0 and row["loo"]["lookalike_flagged"] == 0.0


def test_each_fold_leaves_out_its_archetype_at_every_scale(fitted_on):
    """With scales 0.3 and 1, the fold of alpha at 0.3 must not train on alpha at 1 (nor the reverse)."""
    seen = fitted_on
    runs = [_run(a, i, scale) for scale in (0.3, 1.0) for i, a in enumerate(["alpha", "beta", "gamma"])]
    op_rows, _ = B.leave_one_out(runs, Settings.load())
    # runs: 0 alpha@0.3, 1 beta@0.3, 2 gamma@0.3, 3 alpha@1, 4 beta@1, 5 gamma@1
    assert seen[:6] == [["1", "2", "4", "5"], ["0", "2", "3", "5"], ["0", "1", "3", "4"],
                        ["1", "2", "4", "5"], ["0", "2", "3", "5"], ["0", "1", "3", "4"]]
    assert [(r["archetype"], r["scale"]) for r in op_rows] == [(a, s) for s in (0.3, 1.0) for a in ("alpha", "beta", "gamma")]


def test_with_populations_each_fold_is_fitted_twice_and_never_on_its_own_scenario(fitted_on):
    """With ``population = "unflagged"`` the features depend on the weights' first flags, so each fold fits on
    the plain features, then on those its first fit measures: both fits without the held-out scenario."""
    runs = [_run(a, i) for i, a in enumerate(["alpha", "beta", "gamma"])]
    for r in runs:
        accounts = r["truth"]["account_id"]
        r["population"] = Population(pd.DataFrame({"requests": 10.0, "output_tokens": 1000.0, "input_tokens": 100.0,
                                                   "template_reuse": 2.0, "model_requests": 10.0, "new_model_requests": 0.0},
                                                  index=accounts.to_numpy()), pd.Index([]))
    B.leave_one_out(runs, Settings.load())
    assert Settings.load().scoring["population"] == "unflagged"
    assert fitted_on[:6] == [["1", "2"], ["1", "2"], ["0", "2"], ["0", "2"], ["0", "1"], ["0", "1"]]


def test_cluster_labels_take_the_majority_group():
    truth = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "op_id": ["op-x-1", "op-x-1", "lookalike-family-2", "op-y-1"],
                          "role": ["worker", "worker", "lookalike", "worker"]})
    report = {"clusters": [{"cluster_id": "c1", "accounts": ["a", "b", "c"]}, {"cluster_id": "c2", "accounts": ["c", "d"]},
                           {"cluster_id": "c3", "accounts": ["e", "f", "c"]}]}
    labels = B.cluster_labels(report, truth)
    assert labels.loc["c1"].tolist() == ["op-x-1", True, "x"]
    assert labels.loc["c2", "majority"] == "mixed" and not labels.loc["c2", "positive"]
    assert labels.loc["c3"].tolist() == ["benign", False, "benign"]


@pytest.mark.slow
def test_mean_average_precision_is_given_both_ways():
    def run(recovered: bool, ap):
        return {"held": {"recovered": recovered, "recall": 1.0 if recovered else 0.0, "average_precision": ap,
                         "lookalike_flagged": 0.0}}

    rows = [run(True, 1.0), run(False, 0.5), run(False, None)]  # the third has no cluster mostly of its operation
    s = B.summary(rows, [], "held")
    assert s["mean_average_precision"] == 0.75  # over the two runs that have a positive
    assert s["runs_without_a_majority_cluster"] == 1
    assert s["mean_average_precision_all_runs"] == 0.5  # (1.0 + 0.5 + 0) / 3
    assert s["archetypes_recovered"] == 1 and s["runs"] == 3


def test_small_leave_one_out_run_end_to_end(tmp_path):
    out = tmp_path / "detection.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_detection.py"), "--scales", "0.15",
                           "--ops", "naive,refusal", "--work", str(tmp_path / "work"), "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())["leave_one_out"]
    assert [r["archetype"] for r in result["operations"]] == ["naive", "refusal"]
    for row in result["operations"]:
        for which in ("default", "loo"):
            assert 0.0 <= row[which]["recall"] <= 1.0 and 0.0 <= row[which]["lookalike_flagged"] <= 1.0
    assert {r["lookalike"] for r in result["lookalikes"]} <= set(B.LOOKALIKES)
    assert "overall (loo)" in proc.stdout and "naive" in proc.stdout
    # the margin: the risk of the cluster holding most of the operation over the threshold it faces
    shipped = Settings.load().scoring["flag_threshold"]
    for row in result["operations"]:
        for which, threshold in (("default", shipped), ("loo", row["threshold"])):
            assert row[which]["margin"] == pytest.approx(row[which]["risk"] - threshold, abs=2e-4)
            if row[which]["recovered"]:  # flagged: at least the threshold
                assert row[which]["margin"] >= 0
    naive = next(r for r in result["operations"] if r["archetype"] == "naive")
    assert naive["default"]["recovered"] and naive["default"]["margin"] > 0
    # why a miss is a miss: the flag rule's conditions its cluster does not meet (none for a flagged cluster)
    assert naive["default"]["held_back_by"] == []
    for row in result["operations"]:
        for which in ("default", "loo"):
            assert not (row[which]["recovered"] and row[which]["held_back_by"])
    refusal = next(r for r in result["operations"] if r["archetype"] == "refusal")
    assert not refusal["loo"]["recovered"] and "below_threshold" in refusal["loo"]["held_back_by"]
    assert "refusal@0.15: " in proc.stdout
