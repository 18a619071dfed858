"""One contract, both stores: the embedded workspace and a real Neo4j server give the same answers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graphlinker.ingest.readers import Quarantine
from graphlinker.pipeline import run
from graphlinker.settings import Settings
from graphlinker.store import LocalStore

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


@pytest.fixture(params=["local", "neo4j"])
def store(request, tmp_path):
    if request.param == "local":
        yield LocalStore(tmp_path / "ws")
        return
    from graphlinker.store.neo4j import Neo4jStore

    settings = request.getfixturevalue("neo4j_clean")
    with Neo4jStore(settings) as neo4j_store:
        yield neo4j_store


@pytest.fixture(scope="module")
def local_demo(tmp_path_factory):
    """The demo fixture run on the embedded store: the reference the Neo4j store must match."""
    store = LocalStore(tmp_path_factory.mktemp("reference"))
    outcome = run(DEMO, store, Settings.load(), Quarantine(None))
    return store, outcome.report


def _essentials(report: dict) -> list:
    return [(c["cluster_id"], c["size"], c["risk_score"], c["flagged"], c["accounts"], c["reasons"], c["evidence"]) for c in report["clusters"]]


def test_same_report_on_both_stores(store, local_demo):
    _, reference = local_demo
    report = run(DEMO, store, Settings.load(), Quarantine(None)).report
    assert _essentials(report) == _essentials(reference)
    assert report["summary"] == reference["summary"]


def test_graph_round_trips_identically(store, local_demo):
    reference_store, _ = local_demo
    run(DEMO, store, Settings.load(), Quarantine(None))
    key = ["account_id", "kind", "value"]
    ours = store.usage().sort_values(key, ignore_index=True)
    theirs = reference_store.usage().sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(ours.astype({"account_id": str, "kind": str, "value": str}),
                                  theirs.astype({"account_id": str, "kind": str, "value": str}), check_dtype=False)
    pd.testing.assert_frame_equal(store.stats().sort_values("account_id", ignore_index=True).astype({"account_id": str}),
                                  reference_store.stats().sort_values("account_id", ignore_index=True).astype({"account_id": str}),
                                  check_dtype=False)
    ours, theirs = store.templates().set_index("template_id"), reference_store.templates().set_index("template_id")
    assert len(ours) == len(theirs) and set(ours.index) == set(theirs.index)
    theirs = theirs.loc[ours.index]
    for column in ("exemplar", "extraction_tags", "prompt_count", "account_count", "first_seen", "last_seen"):
        assert ours[column].tolist() == theirs[column].tolist(), column
    assert [list(s) for s in ours["signature"]] == [list(s) for s in theirs["signature"]]
    assert all(len(s) == Settings.load().templates["num_perm"] for s in ours["signature"])
    # the usage-derived columns agree with the SENT_TEMPLATE usage itself
    sent = store.template_usage()
    assert ours["account_count"].to_dict() == sent.groupby("value")["account_id"].nunique().reindex(ours.index).fillna(0).astype(int).to_dict()
    assert (ours["first_seen"] == sent.groupby("value")["first_seen"].min().reindex(ours.index)).all()
    created = store.accounts().set_index("account_id")["created_at"].sort_index()
    assert created.equals(reference_store.accounts().set_index("account_id")["created_at"].sort_index())


def test_latest_report_and_run_history(store):
    assert store.latest_report() is None
    first = run(DEMO, store, Settings.load(), Quarantine(None)).report
    second = run(DEMO, store, Settings.load(), Quarantine(None)).report
    assert store.latest_report()["run_id"] == second["run_id"] != first["run_id"]
    runs = store.runs()
    assert [r["run_id"] for r in runs] == [first["run_id"], second["run_id"]]
    assert runs[-1]["outcome"] == "ok" and runs[-1]["counts"]["requests"] > 0


def test_running_twice_leaves_the_same_graph(store):
    run(DEMO, store, Settings.load(), Quarantine(None))
    usage, stats = store.usage(), store.stats()
    run(DEMO, store, Settings.load(), Quarantine(None))
    pd.testing.assert_frame_equal(store.usage().sort_values(["account_id", "kind", "value"], ignore_index=True),
                                  usage.sort_values(["account_id", "kind", "value"], ignore_index=True))
    pd.testing.assert_frame_equal(store.stats().sort_values("account_id", ignore_index=True),
                                  stats.sort_values("account_id", ignore_index=True))


def test_merge_adds_counts(store):
    t = pd.Timestamp("2026-09-01T00:00:00Z")
    accounts = pd.DataFrame({"account_id": ["a", "b"], "created_at": [t, pd.NaT]}).astype({"created_at": "datetime64[ns, UTC]"})
    usage = pd.DataFrame({"account_id": ["a", "b"], "kind": ["ip", "device"], "value": ["10.0.0.1", "d1"], "count": [2, 1],
                          "first_seen": [t, t], "last_seen": [t, t]})
    stats = pd.DataFrame({"account_id": ["a"], "requests": [2], "input_tokens": [10], "output_tokens": [20]})
    templates = pd.DataFrame({"template_id": ["t1"], "exemplar": ["x <num>"], "extraction_tags": ["cot_elicitation"], "prompt_count": [2],
                              "signature": [[7, 8, 9]]})
    store.reset_graph()
    usage = pd.concat([usage, usage.iloc[:1].assign(kind="template", value="t1")], ignore_index=True)
    store.merge_graph(accounts, usage, stats, templates)
    later = usage.assign(first_seen=t + pd.Timedelta(days=1), last_seen=t + pd.Timedelta(days=1))
    store.merge_graph(accounts, later, stats, templates.assign(extraction_tags="grader_prompt", exemplar="", signature=[[]]))
    merged = store.usage().set_index(["account_id", "kind", "value"])
    assert merged.loc[("a", "ip", "10.0.0.1"), "count"] == 4
    assert merged.loc[("a", "ip", "10.0.0.1"), "first_seen"] == t
    assert merged.loc[("a", "ip", "10.0.0.1"), "last_seen"] == t + pd.Timedelta(days=1)
    assert store.stats().set_index("account_id").loc["a", "requests"] == 4
    template = store.templates().set_index("template_id").loc["t1"]
    assert template["prompt_count"] == 4 and template["account_count"] == 1
    assert template["extraction_tags"] == "cot_elicitation;grader_prompt" and template["exemplar"] == "x <num>"
    assert list(template["signature"]) == [7, 8, 9]
    assert template["first_seen"] == t and template["last_seen"] == t + pd.Timedelta(days=1)


def test_reset_forgets_the_graph_but_keeps_runs(store):
    report = run(DEMO, store, Settings.load(), Quarantine(None)).report
    store.reset_graph()
    assert store.usage().empty and store.stats().empty
    assert store.latest_report()["run_id"] == report["run_id"]


# --- engine "gds": detection inside Neo4j gives the embedded engine's clusters --------------------------
@pytest.mark.neo4j
def test_gds_engine_gives_the_embedded_clusters(neo4j_clean, tmp_path):
    """A simulated scenario run end to end by the CLI, once on the embedded store with the default engine and
    once with ``--store neo4j`` and ``engine = "gds"``: the published clusters agree (NMI >= 0.98, issue 14;
    measured 1.000 at this scale), and GDS's catalog is left empty."""
    import json
    import os
    import subprocess
    import sys

    from neo4j import GraphDatabase
    from sklearn.metrics import normalized_mutual_info_score

    from graphlinker.sim.scenario import simulate

    scenario = tmp_path / "scenario"
    simulate(scenario, seed=1, scale=0.3)
    config = tmp_path / "gds.toml"
    config.write_text('[detection]\nengine = "gds"\n')
    env = {**os.environ, "NEO4J_URI": neo4j_clean["uri"], "NEO4J_USER": neo4j_clean["user"],
           "NEO4J_PASSWORD": neo4j_clean["password"], "NEO4J_DATABASE": neo4j_clean["database"] or "neo4j"}

    def cli(*args: str, env: dict) -> dict:
        result = subprocess.run([sys.executable, "-m", "graphlinker", "run", str(scenario), "--format", "json", *args],
                                capture_output=True, text=True, env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    local_env = {k: v for k, v in env.items() if not k.startswith("NEO4J_")}
    embedded = cli("--workspace", str(tmp_path / "ws"), env=local_env)
    in_neo4j = cli("--store", "neo4j", "--config", str(config), env=env)

    def clusters(report: dict) -> dict[str, str]:
        return {a: c["cluster_id"] for c in report["clusters"] for a in c["accounts"]}

    ours, theirs = clusters(in_neo4j), clusters(embedded)
    accounts = sorted(set(ours) | set(theirs))
    assert len(accounts) > 100
    agreement = normalized_mutual_info_score([ours.get(a, f"solo:{a}") for a in accounts],
                                             [theirs.get(a, f"solo:{a}") for a in accounts])
    assert agreement >= 0.98, agreement
    assert in_neo4j["summary"]["flagged_accounts"] == embedded["summary"]["flagged_accounts"]
    auth = (neo4j_clean["user"], neo4j_clean["password"])
    with GraphDatabase.driver(neo4j_clean["uri"], auth=auth, notifications_min_severity="OFF") as driver:
        records, _, _ = driver.execute_query("CALL gds.graph.list() YIELD graphName RETURN graphName",
                                             database_=neo4j_clean["database"])
        assert records == []
        # the memberships are written with the run, as every engine's
        members, _, _ = driver.execute_query("MATCH (:Account)-[m:MEMBER_OF]->(:Cluster) RETURN count(m) AS n",
                                             database_=neo4j_clean["database"])
        assert members[0]["n"] == len(ours)
        params, _, _ = driver.execute_query("MATCH (r:Run {latest: true}) RETURN r.params AS params",
                                            database_=neo4j_clean["database"])
        assert json.loads(params[0]["params"])["detection"]["engine"] == "gds"
