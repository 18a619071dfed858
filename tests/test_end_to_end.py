"""End to end: the CLI on simulated scenarios and the committed demo fixture, as a user runs it."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_privacy import leaks, raw_prompts, workspace_strings

from graphlinker.sim.evaluate import evaluate
from graphlinker.sim.scenario import simulate

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"


# a developer's own settings or server must not change what these runs on the embedded store find
FOREIGN_ENV = ("GRAPHLINKER_CONFIG", "GRAPHLINKER_STORE", "NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    return subprocess.run([sys.executable, "-m", "graphlinker", *args], capture_output=True, text=True, cwd=cwd, env=env)


def run_json(scenario: Path, workspace: Path, *extra: str) -> dict:
    result = cli("run", str(scenario), "--workspace", str(workspace), "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # stdout holds the report and nothing else


@pytest.fixture(scope="module", params=[(11, 0.15), (23, 0.3)], ids=["seed11-scale0.15", "seed23-scale0.3"])
def simulated(request, tmp_path_factory):
    seed, scale = request.param
    scenario = tmp_path_factory.mktemp(f"scenario-{seed}")
    simulate(scenario, seed=seed, scale=scale)
    workspace = tmp_path_factory.mktemp(f"workspace-{seed}")
    return scenario, workspace, run_json(scenario, workspace)


def test_planted_operations_found_with_f1_at_least_095(simulated):
    scenario, _, report = simulated
    result = evaluate(report, scenario / "truth.csv")
    assert result.f1 >= 0.95, result.to_dict()


def test_no_lookalike_group_is_flagged(simulated):
    scenario, _, report = simulated
    result = evaluate(report, scenario / "truth.csv").to_dict()
    assert result["lookalike_groups_flagged"] == 0, result


def test_report_follows_the_json_contract(simulated):
    _, _, report = simulated
    assert set(report) >= {"run_id", "generated_at", "clusters"}
    scores = [c["risk_score"] for c in report["clusters"]]
    assert scores == sorted(scores, reverse=True)
    for cluster in report["clusters"]:
        assert cluster["size"] == len(cluster["accounts"]) >= 2
        assert 0.0 <= cluster["risk_score"] <= 1.0 and isinstance(cluster["flagged"], bool)
        assert all(set(r) == {"code", "detail", "weight"} for r in cluster["reasons"])
        assert isinstance(cluster["evidence"], dict)
    every_account = [a for c in report["clusters"] for a in c["accounts"]]
    assert len(every_account) == len(set(every_account))


def test_no_raw_prompt_reaches_workspace_or_report(simulated):
    """The privacy search of tests/test_privacy.py on these scenarios' workspaces and reports."""
    scenario, workspace, report = simulated
    blob, values = workspace_strings(workspace)
    leaked = leaks(raw_prompts(scenario), blob + json.dumps(report, ensure_ascii=False), values)
    assert not leaked, leaked[:3]


def test_same_input_same_report(simulated, tmp_path):
    scenario, _, report = simulated
    again = run_json(scenario, tmp_path / "again")
    def strip(r):
        return [(c["cluster_id"], c["risk_score"], c["flagged"], c["accounts"]) for c in r["clusters"]]

    assert strip(again) == strip(report)


def test_demo_fixture_runs_and_report_command_repeats_it(tmp_path):
    report = run_json(DEMO, tmp_path / "ws")
    result = evaluate(report, DEMO / "truth.csv")
    assert result.f1 >= 0.95 and result.to_dict()["lookalike_groups_flagged"] == 0
    again = cli("report", "--workspace", str(tmp_path / "ws"), "--format", "json")
    assert again.returncode == 0 and json.loads(again.stdout)["run_id"] == report["run_id"]
    top = cli("report", "--workspace", str(tmp_path / "ws"), "--format", "csv", "--top", "1")
    assert top.stdout.splitlines()[0].startswith("cluster_id,size,risk_score") and len(top.stdout.splitlines()) == 2
    table = cli("report", "--workspace", str(tmp_path / "ws"), "--min-risk", "0.99", "--format", "markdown")
    assert table.returncode == 0 and table.stdout.startswith("# graphlinker report")


def test_missing_required_file_is_a_one_line_error(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(DEMO, export)
    next(export.glob("requests.*")).unlink()
    result = cli("run", str(export), "--workspace", str(tmp_path / "ws"))
    assert result.returncode == 2
    assert "requests" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_strict_mode_turns_a_bad_row_into_exit_code_2(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(DEMO, export)
    accounts_path = next(export.glob("accounts.*"))
    accounts = pd.read_csv(accounts_path)
    accounts.loc[0, "created_at"] = "not-a-date"
    accounts.to_csv(accounts_path, index=False)
    lenient = cli("run", str(export), "--workspace", str(tmp_path / "ws1"), "--format", "json")
    assert lenient.returncode == 0 and "quarantined 1 bad rows" in lenient.stderr
    assert (tmp_path / "ws1" / "quarantine").exists()
    strict = cli("run", str(export), "--workspace", str(tmp_path / "ws2"), "--strict")
    assert strict.returncode == 2 and "bad_timestamp" in strict.stderr and "Traceback" not in strict.stderr


def test_report_before_any_run_says_so(tmp_path):
    result = cli("report", "--workspace", str(tmp_path / "empty"))
    assert result.returncode == 2 and "no run" in result.stderr


def test_unknown_format_is_rejected(tmp_path):
    result = cli("run", str(DEMO), "--workspace", str(tmp_path / "ws"), "--format", "yaml")
    assert result.returncode == 2 and "yaml" in result.stderr


def test_templates_command_lists_templates_largest_first_with_their_accounts(simulated):
    scenario, workspace, _ = simulated
    result = cli("templates", "--workspace", str(workspace), "--format", "json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["templates"]
    requests = pd.read_csv(next(scenario.glob("requests.*")))
    counts = [t["prompt_count"] for t in listed]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == len(requests)  # every request's prompt is in exactly one template
    senders = set(requests["account_id"])
    for template in listed:
        assert template["account_count"] == len(template["accounts"]) == len(set(template["accounts"])) >= 1
        assert set(template["accounts"]) <= senders
        assert template["first_seen"] <= template["last_seen"]
    # a planted extraction campaign shows up as a large shared template tagged as such
    assert any("cot_elicitation" in t["extraction_tags"] and t["account_count"] >= 5 for t in listed)
    csv_out = cli("templates", "--workspace", str(workspace), "--format", "csv", "--top", "5")
    rows = pd.read_csv(io.StringIO(csv_out.stdout))
    assert rows["template_id"].tolist() == [t["template_id"] for t in listed[:5]]
    assert rows["account_count"].tolist() == [t["account_count"] for t in listed[:5]]
    tagged = json.loads(cli("templates", "--workspace", str(workspace), "--format", "json", "--tag", "grader_prompt").stdout)["templates"]
    assert tagged and all("grader_prompt" in t["extraction_tags"] for t in tagged)


def test_ipv6_privacy_addresses_are_one_line_through_the_pipeline(tmp_path):
    """Students on IPv6 broadband get a new privacy address in their home's /64 every day: through ingest's
    canonical addresses, linking and scoring their cluster reads no IP rotation, and is not flagged."""
    scenario = tmp_path / "course"
    simulate(scenario, seed=4, scale=0.3, operations=[], lookalikes=["online_course"], sizes={"online_course": 40, "benign": 300})
    requests = pd.read_csv(scenario / "requests.csv", usecols=["account_id", "ip"])
    students = set(pd.read_csv(scenario / "truth.csv").query("op_id == 'lookalike-online_course-1'")["account_id"])
    own = requests[requests["account_id"].isin(students)]
    per_student = own[own["ip"].str.contains(":")].groupby("account_id")["ip"].nunique()
    assert per_student.median() >= 5, "the scenario must rotate privacy addresses for the test to mean anything"
    report = run_json(scenario, tmp_path / "ws")
    course = max(report["clusters"], key=lambda c: len(students & set(c["accounts"])))
    assert len(students & set(course["accounts"])) >= 0.8 * len(students)
    assert course["evidence"]["features"]["ip_rotation_share"] == 0.0
    assert not course["flagged"]
