"""Scoring that learns from verdicts: ``graphlinker train``, ``Workspace.train`` and ``[scoring] model``.

On the demo: a run, verdicts on four clusters (two rings confirmed, a university and a company look-alike
benign) and one unsure, then a model trained on them. Expected values come from the verdicts the tests
give, the demo's CSV truth and the report's own numbers, recomputed here by the documented formulas
(``risk = σ(intercept + Σ weights)``, ``weight = coefficient × ramp(feature)``), never from the code
under test. One test runs the same on Neo4j and checks that both stores train the same model.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import graphlinker as gl
from graphlinker.analysis.scoring import REASONS
from graphlinker.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
CONFIRMED = ["cl-562c0fc8a0", "cl-1a8c3c5a62"]  # hydra and naive rings, flagged in the demo's run
BENIGN = ["cl-4b1b2c9ca6", "cl-bd4401df36"]  # a university and a company look-alike, unflagged
UNSURE = "cl-6a33e96e1a"
# Reasons whose strength is a plain ramp of one feature (README "How it decides"), to recompute weights here.
PLAIN = {"extraction_prompts": "extraction_share", "high_output_volume": "output_per_account_ratio",
         "synchronised_activity": "synchronised_share", "automation": "sdk_share", "shared_payment": "shared_payment_share",
         "independent_accounts": "independence", "lockstep": "cohesion"}


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def give_verdicts(workspace: Path, *where: object) -> None:
    for cid, decision in [*((c, "confirmed") for c in CONFIRMED), *((c, "benign") for c in BENIGN), (UNSURE, "unsure")]:
        result = invoke("verdict", cid, decision, "--by", "tester", "-w", workspace, *where)
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    """The demo run once: ``pristine`` (no verdict), ``judged`` (the verdicts above), the run's report."""
    base = tmp_path_factory.mktemp("train")
    result = invoke("run", DEMO, "-w", base / "pristine", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    shutil.copytree(base / "pristine", base / "judged")
    give_verdicts(base / "judged")
    return {"pristine": base / "pristine", "judged": base / "judged", "report": report}


def copy_of(demo: dict, which: str, tmp_path: Path) -> Path:
    shutil.copytree(demo[which], tmp_path / which)
    return tmp_path / which


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def ramp(value: float, low: float, high: float) -> float:
    return min(max((value - low) / (high - low), 0.0), 1.0)


def majority_positive(report: dict) -> dict[str, bool]:
    """Per cluster: more than half of its accounts in one planted operation (truth.csv, role not lookalike)."""
    truth = pd.read_csv(DEMO / "truth.csv", dtype=str)
    op = truth[truth["role"] != "lookalike"].set_index("account_id")["op_id"]
    out = {}
    for c in report["clusters"]:
        counts = op.reindex(c["accounts"]).dropna().value_counts()
        out[c["cluster_id"]] = bool(len(counts)) and 2 * int(counts.iloc[0]) > len(c["accounts"])
    return out


def check_model_document(model: dict) -> None:
    codes = [r.code for r in REASONS]
    assert model["format"] == "graphlinker-scoring-model" and model["format_version"] == 1
    assert model["features"] == codes and set(model["coefficients"]) == set(codes) == set(model["ramps"])
    assert all(v >= 0 for v in model["coefficients"].values())  # a reason that fires never lowers the risk
    assert any(v > 0 for v in model["coefficients"].values())
    assert model["graphlinker_version"] == gl.__version__ and model["trained_at"][:2] == "20"
    training = model["training"]
    assert training["verdicts"] == {"confirmed": 2, "benign": 2, "unsure": 1, "skipped": 0}
    assert (training["clusters"], training["positive"], training["negative"]) == (4, 2, 2)


def check_explained(report: dict, model: dict) -> None:
    """Every score is σ(intercept + Σ its reasons' weights), each weight coefficient × strength, largest first."""
    by_id = {c["cluster_id"]: c for c in report["clusters"]}
    for c in report["clusters"]:
        weights = [r["weight"] for r in c["reasons"]]
        assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
        expected = sigmoid(model["intercept"] + sum(weights)) * c["size"] / (c["size"] + 1.0)  # shipped size_prior 1
        assert c["risk_score"] == pytest.approx(expected, abs=0.02), c["cluster_id"]  # listed weights >= 0.005, rounded
        features = c["evidence"]["features"]
        for reason in c["reasons"]:
            if reason["code"] in PLAIN:
                strength = ramp(features[PLAIN[reason["code"]]], *model["ramps"][reason["code"]])
                assert reason["weight"] == pytest.approx(model["coefficients"][reason["code"]] * strength, abs=2e-3)
    ring = by_id[CONFIRMED[0]]
    assert ring["risk_score"] > max(by_id[b]["risk_score"] for b in BENIGN)


# --- the CLI, embedded store ------------------------------------------------------------------------------

def test_train_writes_a_readable_model_of_the_verdicts_and_a_summary(demo, tmp_path):
    result = invoke("train", "-w", demo["judged"], "-o", tmp_path / "model.json")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the model went to the file; what it learnt to stderr
    assert "trained on 4 clusters: 2 confirmed and 2 benign verdict(s), 1 unsure left out" in result.stderr
    assert f'[scoring] model = "{tmp_path / "model.json"}"' in result.stderr
    assert "few labelled clusters" in result.stderr  # four verdicts are few, and it says so
    text = (tmp_path / "model.json").read_text()
    model = json.loads(text)
    check_model_document(model)
    accounts = pd.read_csv(DEMO / "accounts.csv", dtype=str)["account_id"]
    assert not any(a in text for a in accounts) and "cl-" not in text  # no account or cluster id in a file that travels
    assert model["threshold"] is None
    printed = invoke("train", "-w", demo["judged"])  # no -o: the model on stdout
    assert printed.exit_code == 0
    again = json.loads(printed.stdout)
    assert again["coefficients"] == model["coefficients"] and again["intercept"] == model["intercept"]


def test_a_run_with_the_model_explains_each_score_and_the_rule_keeps_flagging(demo, tmp_path):
    workspace = copy_of(demo, "judged", tmp_path)
    assert invoke("train", "-w", workspace, "-o", tmp_path / "model.json").exit_code == 0
    model = json.loads((tmp_path / "model.json").read_text())
    config = tmp_path / "lab.toml"
    config.write_text(f'[scoring]\nmodel = "{tmp_path / "model.json"}"\n')
    result = invoke("run", DEMO, "-w", workspace, "--config", config, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    check_explained(report, model)
    before = {c["cluster_id"]: c for c in demo["report"]["clusters"]}
    after = {c["cluster_id"]: c for c in report["clusters"]}
    assert {k for k, c in after.items() if c["flagged"]} == {k for k, c in before.items() if c["flagged"]}
    assert max(abs(after[k]["risk_score"] - before[k]["risk_score"]) for k in after) > 0.05  # the model's scores
    risks = [c["risk_score"] for c in report["clusters"]]
    assert risks == sorted(risks, reverse=True)
    with gl.open_workspace(workspace) as ws:  # the run's record keeps its settings, the model's path with them
        assert ws.store.runs()[-1]["params"]["scoring"]["model"] == str(tmp_path / "model.json")


def test_with_a_threshold_the_model_withdraws_flags_below_it(demo, tmp_path):
    workspace = copy_of(demo, "judged", tmp_path)
    threshold = 0.999
    assert invoke("train", "-w", workspace, "-o", tmp_path / "model.json", "--threshold", threshold).exit_code == 0
    (tmp_path / "lab.toml").write_text(f'[scoring]\nmodel = "{tmp_path / "model.json"}"\n')
    result = invoke("run", DEMO, "-w", workspace, "--config", tmp_path / "lab.toml", "--format", "json")
    assert result.exit_code == 0, result.output
    before = {c["cluster_id"] for c in demo["report"]["clusters"] if c["flagged"]}
    after = {c["cluster_id"]: c for c in json.loads(result.stdout)["clusters"]}
    unsure = {k for k in before - set(CONFIRMED) if abs(after[k]["risk_score"] - threshold) < 1e-3}
    assert not unsure, unsure  # no score so near the threshold that rounding decides
    kept = set(CONFIRMED) | {k for k in before if after[k]["risk_score"] >= threshold}  # confirmed verdicts stay flagged
    assert {k for k, c in after.items() if c["flagged"]} == kept
    assert kept < before  # some flag was withdrawn
    for k in before - kept:  # and the report says it was the model's threshold
        gates = {g["gate"]: g["detail"] for g in after[k]["evidence"]["not_flagged_because"]}
        assert "below_model_threshold" in gates and "is below its threshold" in gates["below_model_threshold"]


def test_errors_are_one_line_with_exit_code_2(demo, tmp_path):
    def refused(*args: object, says: str) -> None:
        result = invoke("train", *args)
        assert result.exit_code == 2, result.output
        assert says in result.stderr and "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1

    refused("-w", tmp_path / "nowhere", says="no run yet")
    refused("-w", demo["pristine"], says="needs at least one confirmed and one benign cluster; have 0 confirmed and 0 benign")
    refused("-w", demo["judged"], "--threshold", "1.5", says="--threshold must be a probability")
    refused("-w", demo["judged"], "--from-truth", tmp_path / "missing.csv", says="no such file")
    (tmp_path / "bad.csv").write_text("account_id,label\nacct_1,x\n")
    refused("-w", demo["judged"], "--from-truth", tmp_path / "bad.csv", says="lacks column(s): op_id, role")
    (tmp_path / "other.csv").write_text("account_id,op_id,role\nacct_elsewhere,op-x-1,worker\n")
    refused("-w", demo["judged"], "--from-truth", tmp_path / "other.csv", says="is it the truth of the scenario")
    refused("-w", demo["judged"], "-o", tmp_path / "no" / "model.json", says="does not exist")
    assert not list(tmp_path.glob("*.json"))  # nothing written by a refused command


def _document() -> dict:
    codes = [r.code for r in REASONS]
    return {"format": "graphlinker-scoring-model", "format_version": 1, "coefficients": dict.fromkeys(codes, 1.0),
            "intercept": -2.0, "threshold": None, "ramps": dict.fromkeys(codes, [0.0, 1.0])}


@pytest.mark.parametrize(("content", "says"), [
    (None, "not found"),
    (b"\x80\x04\x95 a pickle", "is not JSON"),
    (json.dumps({"format": "something else"}), "is not a graphlinker scoring model"),
    (json.dumps({**_document(), "format_version": 9}), "has format_version 9"),
    (json.dumps({**_document(), "coefficients": {**_document()["coefficients"], "automation": -1.0}}),
     "coefficient of automation must be a finite number >= 0"),
    (json.dumps({**_document(), "coefficients": {"automation": 1.0}}), "lacks reason code(s) extraction_prompts"),
    (json.dumps({**_document(), "threshold": 2}), "threshold must be null or a number strictly between 0 and 1"),
    (json.dumps({**_document(), "ramps": {**_document()["ramps"], "lockstep": [1, 1]}}), "ramp of lockstep must be two different numbers"),
])
def test_a_missing_or_malformed_model_file_is_a_config_error(tmp_path, content, says):
    model = tmp_path / "model.json"
    if content is not None:
        model.write_bytes(content if isinstance(content, bytes) else content.encode())
    config = tmp_path / "lab.toml"
    config.write_text(f'[scoring]\nmodel = "{model}"\n')
    for args in (["run", DEMO, "-w", tmp_path / "ws"], ["config", "show"]):
        result = invoke(*args, "--config", config)
        assert result.exit_code == 2, result.output
        line = result.stderr.strip()
        assert line.startswith(f"error: scoring.model: model file {model}") or line.startswith("error: scoring.model: cannot")
        assert says in line and f"(in {config})" in line and len(line.splitlines()) == 1
    assert not (tmp_path / "ws").exists()  # refused before anything was loaded
    (tmp_path / "typed.toml").write_text("[scoring]\nmodel = 3\n")
    result = invoke("config", "show", "--config", tmp_path / "typed.toml")
    assert result.exit_code == 2 and "scoring.model: must be the path of a model file" in result.stderr


# --- the API ----------------------------------------------------------------------------------------------

def test_the_api_trains_on_verdicts_and_on_simulated_truth(demo, tmp_path):
    positive = majority_positive(demo["report"])
    with gl.open_workspace(copy_of(demo, "pristine", tmp_path)) as ws:
        with pytest.raises(gl.InputError, match="at least one confirmed and one benign"):
            ws.train()
        from_truth = ws.train(truth=DEMO / "truth.csv")  # no verdict: every cluster labelled by the truth
    counts = from_truth["training"]["truth"]
    assert (counts["positive"], counts["negative"]) == (sum(positive.values()), len(positive) - sum(positive.values()))
    assert counts["positive"] == 5  # the demo's five rings, each its own cluster
    with gl.open_workspace(copy_of(demo, "judged", tmp_path)) as ws:
        both = ws.train(tmp_path / "both.json", truth=DEMO / "truth.csv")
        assert json.loads((tmp_path / "both.json").read_text()) == both
        only_verdicts = ws.train()
    judged = set(CONFIRMED) | set(BENIGN) | {UNSURE}  # a verdict wins: the truth labels the other clusters only
    rest = [k for k in positive if k not in judged]
    assert both["training"]["truth"]["positive"] == sum(positive[k] for k in rest)
    assert both["training"]["clusters"] == 4 + len(rest)
    check_model_document(only_verdicts)
    assert not (tmp_path / "pristine" / "model.json").exists()  # train() without a path writes nothing


def test_training_needs_scikit_learn_but_scoring_with_a_model_does_not(demo, tmp_path):
    workspace = copy_of(demo, "judged", tmp_path)
    assert invoke("train", "-w", workspace, "-o", tmp_path / "model.json").exit_code == 0
    (tmp_path / "lab.toml").write_text(f'[scoring]\nmodel = "{tmp_path / "model.json"}"\n')
    hide = "import sys; sys.modules['sklearn'] = None; from graphlinker.cli.app import app; app()"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}

    def cli(*args: object) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", hide, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)

    refused = cli("train", "-w", workspace)
    assert refused.returncode == 2 and "graphlinker[learn]" in refused.stderr and "Traceback" not in refused.stderr
    scored = cli("run", DEMO, "-w", workspace, "--config", tmp_path / "lab.toml", "--format", "json", "--no-progress")
    assert scored.returncode == 0, scored.stderr
    check_explained(json.loads(scored.stdout), json.loads((tmp_path / "model.json").read_text()))


# --- Neo4j ------------------------------------------------------------------------------------------------

@pytest.mark.neo4j
def test_train_on_neo4j_gives_the_embedded_stores_model(neo4j_clean, demo, tmp_path, monkeypatch):
    for name, key in (("NEO4J_URI", "uri"), ("NEO4J_USER", "user"), ("NEO4J_PASSWORD", "password")):
        monkeypatch.setenv(name, neo4j_clean[key])
    monkeypatch.setenv("NEO4J_DATABASE", neo4j_clean["database"] or "neo4j")
    where = ("--store", "neo4j")
    first = invoke("run", DEMO, "-w", tmp_path / "ws", *where, "--format", "json")
    assert first.exit_code == 0, first.output
    assert {c["cluster_id"] for c in json.loads(first.stdout)["clusters"]} >= set(CONFIRMED) | set(BENIGN) | {UNSURE}
    give_verdicts(tmp_path / "ws", *where)
    result = invoke("train", "-w", tmp_path / "ws", *where, "-o", tmp_path / "model.json")
    assert result.exit_code == 0, result.output
    model = json.loads((tmp_path / "model.json").read_text())
    check_model_document(model)
    embedded = invoke("train", "-w", demo["judged"], "--store", "local")
    assert embedded.exit_code == 0
    assert json.loads(embedded.stdout)["coefficients"] == pytest.approx(model["coefficients"], abs=1e-4)
    (tmp_path / "lab.toml").write_text(f'[scoring]\nmodel = "{tmp_path / "model.json"}"\n')
    again = invoke("run", DEMO, "-w", tmp_path / "ws", *where, "--config", tmp_path / "lab.toml", "--format", "json")
    assert again.exit_code == 0, again.output
    check_explained(json.loads(again.stdout), model)
    with gl.open_neo4j(**neo4j_clean) as ws:
        assert ws.train(truth=DEMO / "truth.csv")["training"]["truth"]["positive"] == 5 - len(CONFIRMED)


@pytest.mark.parametrize("code, ramp", [("shared_identifiers", [0.30, 0.90]), ("ip_rotation", [0.25, 0.75])])
def test_a_model_trained_before_a_reason_existed_still_loads_without_it(tmp_path, code, ramp):
    """A model file of format 1 written before the reason code was added lacks it: it never learnt that reason, so it
    reads as coefficient 0 (with a ramp of its own); any other missing code is still refused."""
    from graphlinker.analysis.scoring_model import load_model
    from graphlinker.errors import ConfigError

    older = _document()
    for table in ("coefficients", "ramps"):
        older[table] = {c: v for c, v in older[table].items() if c != code}
    path = tmp_path / "older.json"
    path.write_text(json.dumps(older))
    model = load_model(str(path))
    assert model.coefficients[code] == 0.0 and model.coefficients["automation"] == 1.0
    assert model.ramps[code] == ramp
    without_automation = {**older, "coefficients": {c: v for c, v in older["coefficients"].items() if c != "automation"}}
    path.write_text(json.dumps(without_automation))
    with pytest.raises(ConfigError, match="lacks reason code"):
        load_model(str(path))
