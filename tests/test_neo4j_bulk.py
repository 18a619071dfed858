"""Full runs through neo4j-admin's bulk importer (graphlinker.store.bulk_import) on the real managed server:
the same graph and clusters as batched MERGE and the embedded store, earlier runs kept, a failed import
reported as exit 5 with the server still up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from neo4j import GraphDatabase
from neo4j_fixtures import USAGE_TABLES, tables_in_neo4j

from graphlinker.devserver import server
from graphlinker.errors import StoreUnavailable
from graphlinker.ingest.readers import Quarantine
from graphlinker.pipeline import refresh, run
from graphlinker.settings import Settings
from graphlinker.sim.slices import split_by_time
from graphlinker.store import LocalStore
from graphlinker.store.bulk_import import ImportFiles, import_and_restart
from graphlinker.store.neo4j import Neo4jStore

pytestmark = pytest.mark.neo4j

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> list[Path]:
    return split_by_time(DEMO, tmp_path_factory.mktemp("slices"), 2)


def clusters(report: dict) -> dict:
    return {frozenset(c["accounts"]): (c["risk_score"], c["flagged"]) for c in report["clusters"]}


def history(settings: dict) -> tuple[list, list]:
    """Every published run's and cluster's properties, and the memberships (what a rebuild must keep)."""
    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        runs = driver.execute_query("MATCH (r:Run) RETURN properties(r) AS p ORDER BY r.run_id", database_=settings["database"]).records
        members = driver.execute_query("MATCH (a:Account)-[:MEMBER_OF]->(c:Cluster) RETURN a.account_id AS a, c.key AS c, "
                                       "properties(c) AS p ORDER BY c, a", database_=settings["database"]).records
    return [dict(r["p"]) for r in runs], [(m["a"], m["c"], dict(m["p"])) for m in members]


def test_a_bulk_run_gives_the_graph_and_clusters_of_the_embedded_store(neo4j_clean, neo4j_home, tmp_path):
    settings = {**neo4j_clean, "home": str(neo4j_home), "bulk": "on", "mirror": str(tmp_path / "mirror")}
    with Neo4jStore(settings) as store:
        report = run(DEMO, store, Settings.load(), Quarantine(None)).report
        in_memory = {name: getattr(store, name)() for name in USAGE_TABLES}
    local = run(DEMO, LocalStore(tmp_path / "ws"), Settings.load(), Quarantine(None)).report
    assert clusters(report) == clusters(local)
    for name, frame in tables_in_neo4j(neo4j_clean).items():
        pd.testing.assert_frame_equal(in_memory[name], frame, obj=name)


def test_a_bulk_rebuild_drops_the_mirror_of_the_database_it_replaced(neo4j_clean, neo4j_home, tmp_path):
    """The importer replaces the database (a new id, so a new mirror directory): the replaced database's copy of the
    whole graph goes with it, or every scheduled rebuild would leave one more behind."""
    settings = {**neo4j_clean, "home": str(neo4j_home), "bulk": "on", "mirror": str(tmp_path / "mirror")}
    copies = []
    for _ in range(2):
        with Neo4jStore(settings) as store:
            run(DEMO, store, Settings.load(), Quarantine(None))
        copies.append(sorted(p.name for p in (tmp_path / "mirror").iterdir()))
    assert len(copies[0]) == 1 and len(copies[1]) == 1
    assert copies[0] != copies[1]  # the second import made a new database, and only its copy is left


def test_a_bulk_rebuild_keeps_earlier_runs_and_refreshes_continue(neo4j_clean, neo4j_home, slices, tmp_path):
    merge = {**neo4j_clean, "home": str(neo4j_home), "bulk": "off", "mirror": "off"}
    with Neo4jStore(merge) as store:
        first = run(slices[0], store, Settings.load(), Quarantine(None)).report
    runs_before, members_before = history(neo4j_clean)
    with Neo4jStore({**merge, "bulk": "on"}) as store:
        second = run(slices[0], store, Settings.load(), Quarantine(None)).report
        third = refresh([slices[1]], store, Settings.load(), Quarantine(None)).report
        assert [r["run_id"] for r in store.runs()] == [first["run_id"], second["run_id"], third["run_id"]]
    runs_after, members_after = history(neo4j_clean)
    first_run = [r for r in runs_after if r["run_id"] == first["run_id"]]
    assert first_run == [dict(runs_before[0], latest=False)]
    assert [m for m in members_after if m[1].startswith(first["run_id"] + "/")] == members_before
    ws = LocalStore(tmp_path / "ws")
    run(slices[0], ws, Settings.load(), Quarantine(None))
    assert clusters(third) == clusters(refresh([slices[1]], ws, Settings.load(), Quarantine(None)).report)


def test_a_failed_import_is_a_store_error_and_the_server_comes_back(neo4j_clean, neo4j_home, tmp_path):
    files = ImportFiles(tmp_path, nodes=[("Account", tmp_path / "missing.csv")])
    with pytest.raises(StoreUnavailable, match="bulk import failed"):
        import_and_restart(Path(neo4j_home), files, neo4j_clean["database"])
    assert server.status(neo4j_home) is not None
    with GraphDatabase.driver(neo4j_clean["uri"], auth=(neo4j_clean["user"], neo4j_clean["password"])) as driver:
        driver.verify_connectivity()


def test_cli_bulk_option(neo4j_clean, neo4j_home, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.update(GRAPHLINKER_NEO4J_HOME=str(neo4j_home), GRAPHLINKER_NEO4J_MIRROR="off")
    command = [sys.executable, "-m", "graphlinker", "run", str(DEMO), "--store", "neo4j", "--format", "json",
               "-w", str(tmp_path / "ws")]
    bad = subprocess.run([*command, "--bulk", "sometimes"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "--bulk must be auto, on or off" in bad.stderr
    done = subprocess.run([*command, "--bulk", "on"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert len(tables_in_neo4j(neo4j_clean)["usage"]) > 0


def test_python_api_bulk_option(neo4j_clean, neo4j_home, monkeypatch):
    import graphlinker as gl
    from graphlinker.errors import ConfigError

    for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRAPHLINKER_NEO4J_MIRROR", "off")
    with pytest.raises(ConfigError, match="bulk must be one of"):
        gl.open_neo4j(home=neo4j_home, bulk="sometimes")
    with gl.open_neo4j(home=neo4j_home, bulk="on") as ws:
        ws.run(DEMO)
        assert ws.store.bulk_seconds["relationships"] == len(ws.store.usage()) > 0  # it went through the importer
