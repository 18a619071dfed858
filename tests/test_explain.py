"""`graphlinker explain ACCOUNT` and `Workspace.explain`: why an account is in its cluster.

Expected values never come from the code under test. What two accounts share is read from the fixture's CSVs
with plain pandas (cards from payments.csv, devices from identifiers.csv, IPs, their /24s and active minutes
from requests.csv.gz); each signal's share is recomputed from the shipped defaults.toml weights and the run's
published link columns; the core and the cheapest path are found again here by brute force.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from test_privacy import leaks, raw_prompts
from typer.testing import CliRunner

import graphlinker as gl
from graphlinker.analysis.explain import Explainer, explain_account, explain_inputs
from graphlinker.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
pytestmark = pytest.mark.usefixtures("no_store_from_env")  # tests/conftest.py: each test opens the store it means
WEIGHTS = tomllib.loads((ROOT / "graphlinker" / "settings" / "defaults.toml").read_text())["linking"]["weights"]
NOT_SIGNALS = ("account_a", "account_b", "weight", "cluster_id")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])



@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`graphlinker run fixtures/demo` on an embedded workspace: (workspace, the JSON report it printed)."""
    workspace = tmp_path_factory.mktemp("explain") / "ws"
    result = invoke("run", DEMO, "--workspace", workspace, "--store", "local", "--format", "json")
    assert result.exit_code == 0, result.output
    return workspace, json.loads(result.stdout)


@pytest.fixture(scope="module")
def links(demo) -> pd.DataFrame:
    with gl.open_workspace(demo[0]) as ws:
        return ws.links()


@pytest.fixture(scope="module")
def csv_truth() -> dict:
    """What each account used, straight from the fixture's CSVs: kind -> account -> set of values."""
    payments = pd.read_csv(DEMO / "payments.csv", dtype=str)
    identifiers = pd.read_csv(DEMO / "identifiers.csv", dtype=str)
    requests = pd.read_csv(DEMO / "requests.csv.gz", dtype=str, usecols=["account_id", "ts", "ip"])
    requests["subnet"] = [str(ipaddress.ip_network(f"{ip}/{24 if ':' not in ip else 48}", strict=False)) for ip in requests["ip"]]
    requests["minute"] = pd.to_datetime(requests["ts"], utc=True).dt.floor("min").dt.strftime("%Y-%m-%dT%H:%M:00Z")

    def sets(frame: pd.DataFrame, column: str) -> dict[str, set[str]]:
        return frame.groupby("account_id")[column].agg(set).to_dict()

    devices = identifiers[identifiers["kind"] == "device"]
    return {"payment": sets(payments, "payment_fingerprint"), "device": sets(devices, "value"), "ip": sets(requests, "ip"),
            "subnet": sets(requests, "subnet"), "time": sets(requests, "minute"),
            "users": {"payment": payments.groupby("payment_fingerprint")["account_id"].nunique().to_dict(),
                      "ip": requests.groupby("ip")["account_id"].nunique().to_dict()}}


def explain_json(workspace: Path, account: str, *extra) -> dict:
    result = invoke("explain", account, "--workspace", workspace, "--store", "local", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cluster_of(report: dict, account: str) -> dict | None:
    return next((c for c in report["clusters"] if account in c["accounts"]), None)


def min_cost_path(edges: pd.DataFrame, source: str, target: str) -> float:
    """The cheapest chain from source to target at 1/weight per link, by Bellman-Ford (no library)."""
    cost = {source: 0.0}
    pairs = [(a, b, 1.0 / w) for a, b, w in zip(edges["account_a"], edges["account_b"], edges["weight"])]
    for _ in range(len(set(edges["account_a"]) | set(edges["account_b"]))):
        for a, b, c in pairs:
            for x, y in ((a, b), (b, a)):
                if x in cost and cost[x] + c < cost.get(y, float("inf")) - 1e-12:
                    cost[y] = cost[x] + c
    return cost[target]


# --- the embedded store, through the real CLI --------------------------------------------------------

def test_explain_names_the_cluster_and_the_identifiers_the_csvs_show_shared(demo, links, csv_truth):
    workspace, report = demo
    ring = report["clusters"][0]  # the riskiest cluster of the run
    account = ring["accounts"][0]
    result = explain_json(workspace, account, "--links", 50)

    assert result["run_id"] == report["run_id"] and result["account_id"] == account
    assert result["cluster"]["cluster_id"] == ring["cluster_id"] and result["cluster"]["size"] == ring["size"]
    assert result["cluster"]["flagged"] == ring["flagged"] and result["cluster"]["risk_score"] == ring["risk_score"]
    assert "is in cluster " + ring["cluster_id"] in result["message"]

    touching = links[(links["account_a"] == account) | (links["account_b"] == account)]
    partners = set(touching["account_a"]) | set(touching["account_b"])
    partners.discard(account)
    assert result["links_total"] == len(touching) and {x["partner"] for x in result["links"]} == partners
    members = set(ring["accounts"])
    assert result["links_in_cluster"] == len(partners & members)
    shown = [(x["partner"] in members, x["weight"]) for x in result["links"]]
    assert shown == sorted(shown, key=lambda s: (not s[0], -s[1]))  # members first, then the strongest first

    checked = 0
    for link in result["links"]:
        other = link["partner"]
        for kind in ("payment", "device", "ip", "subnet"):
            expected = csv_truth[kind].get(account, set()) & csv_truth[kind].get(other, set())
            entry = link["shared"].get(kind)
            assert (entry["count"] if entry else 0) == len(expected), (other, kind)
            if entry:
                assert {v["value"] for v in entry["values"]} <= expected and len(entry["values"]) == min(5, len(expected))
                checked += 1
            if entry and kind in csv_truth["users"]:
                assert all(v["used_by"] == csv_truth["users"][kind][v["value"]] for v in entry["values"])
        minutes = sorted(csv_truth["time"].get(account, set()) & csv_truth["time"].get(other, set()))
        time = link["shared"].get("time")
        assert (time["count"] if time else 0) == len(minutes)
        if minutes:
            assert time["first"] == minutes[0]
    assert checked >= 10  # the ring shares cards, devices and IPs: the comparison above had something to compare


def test_each_signals_share_is_its_weight_times_similarity_over_the_link_weight(demo, links):
    workspace, report = demo
    account = report["clusters"][1]["accounts"][0]
    result = explain_json(workspace, account, "--links", 50)
    signals = [c for c in links.columns if c not in NOT_SIGNALS]
    assert result["signal_weights"] == {s: WEIGHTS[s] for s in signals}
    by_pair = {frozenset((a, b)): row for a, b, row in zip(links["account_a"], links["account_b"], links.to_dict("records"))}
    for link in result["links"]:
        row = by_pair[frozenset((account, link["partner"]))]
        assert link["weight"] == pytest.approx(row["weight"], abs=1e-6)
        assert sum(WEIGHTS[s] * row[s] for s in signals) == pytest.approx(row["weight"], rel=1e-9)  # the documented sum
        expected = {s: WEIGHTS[s] * row[s] for s in signals if row[s] > 0}
        assert {s["signal"] for s in link["signals"]} == set(expected)
        for s in link["signals"]:
            assert s["similarity"] == pytest.approx(row[s["signal"]], abs=1e-6)
            assert s["contribution"] == pytest.approx(expected[s["signal"]], abs=1e-6)
            assert s["share"] == pytest.approx(expected[s["signal"]] / row["weight"], abs=1e-6)
        assert sum(s["share"] for s in link["signals"]) == pytest.approx(1.0, abs=1e-5)
        assert link["top_signal"] == max(expected, key=lambda k: expected[k])


def test_the_path_reaches_the_highest_weighted_degree_member_at_least_cost(demo, links):
    workspace, report = demo
    with gl.open_workspace(workspace) as ws:
        inputs = explain_inputs(ws)
        explainer = Explainer(inputs.report, inputs.links, inputs.usage, inputs.templates, inputs.linking)
        checked_hops = set()
        for cluster in report["clusters"][:4]:
            inside = links[links["cluster_id"] == cluster["cluster_id"]]
            degree = pd.concat([inside.groupby("account_a")["weight"].sum(), inside.groupby("account_b")["weight"].sum()])
            degree = degree.groupby(level=0).sum()
            core = sorted(degree.index, key=lambda a: (-degree[a], a))[0]
            for account in cluster["accounts"]:
                result = explainer.explain(account, top_links=1)
                assert result["core"]["account_id"] == core
                assert result["core"]["weighted_degree"] == pytest.approx(degree[core], abs=1e-6)
                path = result["path"]
                assert path["accounts"][0] == account and path["accounts"][-1] == core
                if account == core:
                    assert result["core"]["is_this_account"] and path["steps"] == []
                    continue
                assert path["total_cost"] == pytest.approx(min_cost_path(inside, account, core), abs=1e-6)
                for step in path["steps"]:
                    pair = inside[((inside["account_a"] == step["from"]) & (inside["account_b"] == step["to"]))
                                  | ((inside["account_a"] == step["to"]) & (inside["account_b"] == step["from"]))]
                    assert len(pair) == 1 and step["weight"] == pytest.approx(pair["weight"].iloc[0], abs=1e-6)
                assert path["weakest_weight"] == min(s["weight"] for s in path["steps"])
                checked_hops.add(len(path["steps"]))
        assert {1, 2} <= checked_hops  # direct links and detours were both checked
    table = invoke("explain", report["clusters"][0]["accounts"][0], "--workspace", workspace, "--store", "local")
    assert table.exit_code == 0, table.output
    assert "Evidence path to the core" in table.stdout and "1/weight" in table.stdout


def test_the_table_shows_the_cluster_links_templates_and_path(demo, links):
    workspace, report = demo
    ring = report["clusters"][0]
    account = ring["accounts"][1]
    result = invoke("explain", account, "--workspace", workspace, "--store", "local", "--links", "3")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert f"{account} is in cluster {ring['cluster_id']}" in text and "flagged" in text
    assert "Strongest links (3 of" in text and "members first" in text
    mine = links[(links["account_a"] == account) | (links["account_b"] == account)].nlargest(1, "weight")
    strongest = (set(mine[["account_a", "account_b"]].iloc[0]) - {account}).pop()
    assert strongest in text
    assert "Templates shared with those partners" in text and "<num>" in text  # redacted exemplars
    assert not leaks(raw_prompts(DEMO), text, set())
    assert "not flagged because" not in text  # the demo's first cluster is flagged


def test_an_unflagged_clusters_explanation_says_what_holds_it_back(demo):
    workspace, report = demo
    quiet = next(c for c in report["clusters"] if not c["flagged"] and c["size"] >= 3)
    gates = [g["gate"] for g in quiet["evidence"]["not_flagged_because"]]
    assert gates  # the report lists every condition of the flag rule an unflagged cluster misses
    result = invoke("explain", quiet["accounts"][0], "--workspace", workspace, "--store", "local")
    assert result.exit_code == 0, result.output
    assert f"not flagged because: {', '.join(gates)}" in result.stdout
    assert explain_json(workspace, quiet["accounts"][0])["cluster"]["not_flagged_because"] == gates


def test_json_output_carries_no_raw_prompt_and_o_writes_the_file(demo, tmp_path):
    workspace, report = demo
    target = tmp_path / "explain.json"
    account = report["clusters"][0]["accounts"][2]
    result = invoke("explain", account, "--workspace", workspace, "--store", "local", "--format", "json", "-o", target)
    assert result.exit_code == 0, result.output
    written = target.read_text()
    assert json.loads(written)["account_id"] == account
    templates = [t for link in json.loads(written)["links"] for t in link["shared"].get("template", {}).get("templates", [])]
    with gl.open_workspace(workspace) as ws:
        stored = dict(zip(ws.templates()["template_id"], ws.templates()["exemplar"]))
    assert templates and all(t["exemplar"] == stored[t["template_id"]] for t in templates)  # the redacted exemplar kept
    assert not leaks(raw_prompts(DEMO), written, {t["exemplar"] for t in templates})


def test_an_account_in_no_cluster_is_said_so_with_exit_0(demo):
    workspace, report = demo
    accounts = pd.read_csv(DEMO / "accounts.csv", dtype=str)["account_id"]
    clustered = {a for c in report["clusters"] for a in c["accounts"]}
    loner = sorted(set(accounts) - clustered)[0]
    result = explain_json(workspace, loner)
    assert result["cluster"] is None and result["core"] is None and result["path"] is None
    assert result["message"].startswith(f"{loner} is in no cluster of run {report['run_id']}")
    table = invoke("explain", loner, "--workspace", workspace, "--store", "local")
    assert table.exit_code == 0 and "is in no cluster" in table.stdout


def test_an_account_outside_any_cluster_still_shows_its_strongest_links(demo, links):
    """The pure function: the demo's data with one cluster taken out of the report, as if detection had left it out."""
    workspace, report = demo
    with gl.open_workspace(workspace) as ws:
        inputs = explain_inputs(ws)
    ring = report["clusters"][0]
    account = ring["accounts"][0]
    without = {**inputs.report, "clusters": [c for c in inputs.report["clusters"] if c["cluster_id"] != ring["cluster_id"]]}
    result = explain_account(without, inputs.links, inputs.usage, inputs.templates, account, linking=inputs.linking, top_links=3)
    assert result["cluster"] is None and result["core"] is None and "is in no cluster" in result["message"]
    mine = links[(links["account_a"] == account) | (links["account_b"] == account)]
    assert result["links_total"] == len(mine) > 3
    assert [x["weight"] for x in result["links"]] == pytest.approx(sorted(mine["weight"], reverse=True)[:3], abs=1e-6)


def test_links_to_other_clusters_come_after_the_members(demo, links):
    workspace, report = demo
    across = links[links["cluster_id"].isna()]
    clustered = {a: c["cluster_id"] for c in report["clusters"] for a in c["accounts"]}
    across = across[across["account_a"].isin(clustered) & across["account_b"].isin(clustered)]
    assert len(across), "the demo has links between clusters"
    account = across["account_a"].iloc[0]
    result = explain_json(workspace, account, "--links", 100)
    flags = [x["same_cluster"] for x in result["links"]]
    assert True in flags and False in flags and flags == sorted(flags, reverse=True)
    outside = next(x for x in result["links"] if not x["same_cluster"])
    assert outside["partner_cluster_id"] == clustered[outside["partner"]] != clustered[account]


def test_an_unknown_account_exits_2_with_one_line(demo):
    workspace, _ = demo
    result = invoke("explain", "acct_no_such_account", "--workspace", workspace, "--store", "local")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: unknown account 'acct_no_such_account'")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    with gl.open_workspace(workspace) as ws, pytest.raises(gl.InputError, match="unknown account"):
        ws.explain("acct_no_such_account")


def test_bad_options_and_no_workspace_exit_2(demo, tmp_path):
    workspace, report = demo
    account = report["clusters"][0]["accounts"][0]
    assert invoke("explain", account, "--workspace", workspace, "--store", "local", "--links", "0").exit_code == 2
    bad = invoke("explain", account, "--workspace", workspace, "--store", "local", "--format", "csv")
    assert bad.exit_code == 2 and "--format 'csv'" in bad.stderr
    missing = invoke("explain", account, "--workspace", tmp_path / "none", "--store", "local")
    assert missing.exit_code == 2 and "no run yet" in missing.stderr
    unknown_run = invoke("explain", account, "--workspace", workspace, "--store", "local", "--run", "run-nope")
    assert unknown_run.exit_code == 2 and "unknown run" in unknown_run.stderr


def test_the_api_gives_the_clis_dict_and_explains_an_earlier_run(demo, tmp_path):
    workspace, report = demo
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    account = report["clusters"][0]["accounts"][0]
    cli = explain_json(copy, account)
    with gl.open_workspace(copy) as ws:
        assert ws.explain(account) == cli
        verdict = invoke("verdict", report["clusters"][0]["cluster_id"], "confirmed", "--by", "tester", "--workspace", copy,
                         "--store", "local")
        assert verdict.exit_code == 0, verdict.output
        again = ws.run(DEMO)  # a second run: the first is now an earlier one
        earlier = ws.explain(account, run_id=report["run_id"])
        latest = ws.explain(account)
    assert earlier["run_id"] == report["run_id"] and latest["run_id"] == again.run_id
    assert earlier["cluster"]["verdict"]["verdict"] == "confirmed"  # given after that run: shown beside it
    assert latest["cluster"]["verdict"]["effect"] == "kept flagged" and latest["cluster"]["flagged"]
    assert explain_json(copy, account, "--run", report["run_id"])["run_id"] == report["run_id"]


# --- Neo4j ------------------------------------------------------------------------------------------

@pytest.mark.neo4j
def test_explain_on_neo4j_and_an_earlier_run_there_exits_2(neo4j_clean, demo, csv_truth):
    env = {**os.environ, "NEO4J_URI": neo4j_clean["uri"], "NEO4J_USER": neo4j_clean["user"],
           "NEO4J_PASSWORD": neo4j_clean["password"], "NEO4J_DATABASE": neo4j_clean["database"] or "neo4j",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "graphlinker", *args, "--store", "neo4j"], capture_output=True,
                              text=True, env=env, timeout=600)

    first = cli("run", str(DEMO), "--format", "json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    ring = report["clusters"][0]
    account = ring["accounts"][0]
    shown = cli("explain", account, "--format", "json", "--links", "50")
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert result["cluster"]["cluster_id"] == ring["cluster_id"] and result["run_id"] == report["run_id"]
    for link in result["links"]:
        expected = csv_truth["payment"].get(account, set()) & csv_truth["payment"].get(link["partner"], set())
        assert {v["value"] for v in link["shared"].get("payment", {}).get("values", [])} == expected
        assert sum(WEIGHTS[s["signal"]] * s["similarity"] for s in link["signals"]) == pytest.approx(link["weight"], abs=1e-5)
    embedded = explain_json(demo[0], account, "--links", "50")
    assert [x["partner"] for x in result["links"]] == [x["partner"] for x in embedded["links"]]
    assert result["path"]["accounts"] == embedded["path"]["accounts"]
    table = cli("explain", account)
    assert table.returncode == 0 and f"{account} is in cluster {ring['cluster_id']}" in table.stdout

    second = cli("run", str(DEMO), "--format", "json")
    assert second.returncode == 0, second.stderr
    earlier = cli("explain", account, "--run", report["run_id"])
    assert earlier.returncode == 2 and "Traceback" not in earlier.stderr
    assert "keeps only the latest run's" in earlier.stderr and report["run_id"] in earlier.stderr
    with gl.open_neo4j(**neo4j_clean) as ws:
        with pytest.raises(gl.InputError, match="keeps only the latest run's"):
            ws.explain(account, run_id=report["run_id"])
        assert ws.explain(account)["run_id"] == json.loads(second.stdout)["run_id"]
