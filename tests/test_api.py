"""The public Python API (``import graphlinker as gl``) on both stores, and ``--format parquet`` of the CLI.

The API must give what the CLI gives: its clusters are the JSON report's, its tables are the
CLI's parquet files, and on the embedded workspace and a real Neo4j server (tests/neo4j_fixtures.py)
the same run reads back as the same tables.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import networkx as nx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_privacy import leaks, raw_prompts
from typer.testing import CliRunner

import graphlinker as gl
from graphlinker.cli.app import app
from graphlinker.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
pytestmark = pytest.mark.usefixtures("no_store_from_env")  # tests/conftest.py: each test opens the store it means
TABLES = ("clusters", "members", "links", "evidence", "templates", "runs")


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])



@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """`graphlinker run fixtures/demo --format json` on an embedded workspace: (workspace, the JSON report)."""
    workspace = tmp_path_factory.mktemp("cli") / "ws"
    result = invoke("run", DEMO, "--workspace", workspace, "--store", "local", "--format", "json")
    assert result.exit_code == 0, result.output
    return workspace, json.loads(result.stdout)


@pytest.fixture(scope="module")
def local_ws(tmp_path_factory):
    """The demo run through the API on an embedded workspace: the reference for the Neo4j store."""
    with gl.open_workspace(tmp_path_factory.mktemp("api") / "ws") as ws:
        result = ws.run(DEMO)
        yield ws, result


def _first_flagged(ws: gl.Workspace) -> str:
    clusters = ws.clusters(flagged_only=True)
    assert len(clusters) >= 1
    return str(clusters["cluster_id"].iloc[0])


# --- the public surface ---------------------------------------------------------------------------

def test_all_declares_the_api_and_help_shows_it():
    expected = {"Workspace", "RunResult", "open_workspace", "open_neo4j", "load_settings", "Settings",
                "GraphlinkerError", "InputError", "ConfigError", "StoreUnavailable", "NoRunYet", "LockHeld",
                "NothingNew", "ExitCode"}
    assert set(gl.__all__) == expected == set(gl._PUBLIC)  # every declared name loads lazily
    for name in gl.__all__:
        assert getattr(gl, name) is not None
    from graphlinker import errors

    assert gl.NoRunYet is errors.NoRunYet and gl.NoRunYet.exit_code == ExitCode.BAD_INPUT
    shown = subprocess.run([sys.executable, "-c", "import graphlinker; help(graphlinker)"], capture_output=True, text=True,
                           env={"PAGER": "cat", "PATH": "/usr/bin:/bin"}, cwd=ROOT)
    assert shown.returncode == 0, shown.stderr
    for text in ("class Workspace", "open_workspace(", "open_neo4j(", "load_settings(", "class RunResult",
                 "clusters(self", "members(self", "links(self", "evidence(self", "templates(self", "runs(self",
                 "subgraph(self", "refresh(self", "arrow"):
        assert text in shown.stdout, text


def test_import_graphlinker_stays_light():
    code = "import sys, graphlinker; print(sorted(m for m in ('pandas', 'networkx', 'neo4j', 'pyarrow') if m in sys.modules))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert shown.returncode == 0 and shown.stdout.strip() == "[]", shown.stdout + shown.stderr


# --- the API equals the CLI ---------------------------------------------------------------------------

def test_clusters_equal_the_cli_json_report(cli_run):
    workspace, report = cli_run
    with gl.open_workspace(workspace) as ws:
        assert ws.report() == report
        clusters = ws.clusters()
        assert clusters.attrs["run_id"] == report["run_id"]
        expected = [(c["cluster_id"], c["size"], c["risk_score"], c["flagged"], [r["code"] for r in c["reasons"]], c["accounts"])
                    for c in report["clusters"]]
        got = [(r.cluster_id, r.size, r.risk_score, r.flagged, list(r.reason_codes), list(r.accounts))
               for r in clusters.itertuples(index=False)]
        assert got == expected
        assert clusters["links"].tolist() == [c["evidence"]["links"]["edges"] for c in report["clusters"]]
        flagged = ws.clusters(flagged_only=True, min_risk=0.5, top=3)
        assert flagged["cluster_id"].tolist() == [c["cluster_id"] for c in report["clusters"]
                                                  if c["flagged"] and c["risk_score"] >= 0.5][:3]


def test_cli_parquet_outputs_are_the_api_tables(cli_run, tmp_path):
    workspace, report = cli_run
    out = {name: tmp_path / f"{name}.parquet" for name in ("report", "templates", "runs")}
    for command, path in out.items():
        result = invoke(command, "--workspace", workspace, "--store", "local", "--format", "parquet", "-o", path)
        assert result.exit_code == 0, result.output
        assert result.stdout == ""  # nothing binary (or anything else) on stdout
    with gl.open_workspace(workspace) as ws:
        pd.testing.assert_frame_equal(pd.read_parquet(out["report"]), ws.clusters())
        pd.testing.assert_frame_equal(pd.read_parquet(out["templates"]), ws.templates(accounts=True))
        pd.testing.assert_frame_equal(pd.read_parquet(out["runs"]), ws.runs(), check_dtype=False)
    assert pq.read_schema(out["report"]).metadata[b"graphlinker.run_id"] == report["run_id"].encode()
    top = tmp_path / "top.parquet"
    assert invoke("report", "--workspace", workspace, "--store", "local", "--format", "parquet", "-o", top, "--top", "2").exit_code == 0
    assert pd.read_parquet(top)["cluster_id"].tolist() == [c["cluster_id"] for c in report["clusters"][:2]]


def test_parquet_is_refused_without_an_output_file(cli_run, tmp_path):
    workspace, _ = cli_run
    for command in (["report"], ["templates"], ["runs"], ["run", DEMO]):
        result = invoke(*command, "--workspace", workspace, "--store", "local", "--format", "parquet")
        assert result.exit_code == ExitCode.BAD_INPUT, result.output
        assert "-o/--output FILE" in result.output and result.stdout.count("\n") <= 1
    missing = invoke("report", "--workspace", workspace, "--store", "local", "--format", "parquet", "-o", tmp_path / "no" / "x.parquet")
    assert missing.exit_code == ExitCode.BAD_INPUT and "does not exist" in missing.output
    assert not list(tmp_path.iterdir())


def test_output_file_takes_the_text_formats_too(cli_run, tmp_path):
    workspace, report = cli_run
    result = invoke("report", "--workspace", workspace, "--store", "local", "--format", "json", "-o", tmp_path / "r.json")
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads((tmp_path / "r.json").read_text()) == report
    result = invoke("runs", "--workspace", workspace, "--store", "local", "--format", "json", "-o", tmp_path / "runs.json")
    assert result.exit_code == 0 and json.loads((tmp_path / "runs.json").read_text())[0]["run_id"] == report["run_id"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


# --- what each table holds ---------------------------------------------------------------------------

def test_members_links_evidence_and_subgraph_agree_with_the_report(local_ws):
    ws, result = local_ws
    report = ws.report()
    assert result.report == report and result.run_id == report["run_id"] and result.summary == report["summary"]
    cid = _first_flagged(ws)
    entry = ws.cluster(cid)
    members = ws.members(cid)
    assert members["account_id"].tolist() == entry["accounts"] and set(members["cluster_id"]) == {cid}
    assert members["requests"].sum() == entry["evidence"]["requests"]
    assert members["created_at"].min().isoformat() == entry["evidence"]["created"]["first"]
    everyone = ws.members()
    assert len(everyone) == sum(c["size"] for c in report["clusters"])

    links = ws.links(cid)
    assert len(links) == entry["evidence"]["links"]["edges"] > 0
    assert set(links["account_a"]) | set(links["account_b"]) <= set(entry["accounts"])
    assert (links["cluster_id"] == cid).all()
    for signal, count in entry["evidence"]["links"]["by_signal"].items():
        assert int((links[signal] > 0).sum()) == count, signal
    all_links = ws.links()
    assert len(all_links[all_links["cluster_id"] == cid]) == len(links)

    evidence = ws.evidence(cid)
    assert set(evidence["cluster_id"]) == {cid}
    reasons = evidence[evidence["section"] == "reason"]
    assert reasons["kind"].tolist() == [r["code"] for r in entry["reasons"]]
    assert reasons["number"].tolist() == [r["weight"] for r in entry["reasons"]]
    shared = evidence[evidence["section"] == "identifier"]
    assert sorted(zip(shared["kind"], shared["value"], shared["accounts"], strict=True)) == sorted(
        (kind, item["value"], item["accounts"]) for kind, items in entry["evidence"]["shared_identifiers"].items() for item in items)
    templates = evidence[evidence["section"] == "template"]
    assert templates["value"].tolist() == [t["template_id"] for t in entry["evidence"]["templates"]]
    features = evidence[evidence["section"] == "feature"].set_index("kind")["number"].to_dict()
    assert features == entry["evidence"]["features"]
    assert set(ws.evidence()["cluster_id"]) == {c["cluster_id"] for c in report["clusters"]}

    graph = ws.subgraph(cid)
    assert isinstance(graph, nx.Graph) and not graph.is_directed()
    assert set(graph.nodes) == set(entry["accounts"]) and graph.number_of_edges() == len(links)
    assert graph.graph["cluster_id"] == cid and graph.graph["run_id"] == report["run_id"] and graph.graph["flagged"]
    a, b = links["account_a"].iloc[0], links["account_b"].iloc[0]
    assert graph.edges[a, b]["weight"] == pytest.approx(links["weight"].iloc[0])
    assert graph.nodes[a]["requests"] == int(members.set_index("account_id").loc[a, "requests"])


def test_templates_and_runs_tables(local_ws):
    ws, result = local_ws
    templates = ws.templates(accounts=True)
    assert len(templates) == len(ws.store.templates()) and "signature" not in templates
    assert (templates["account_count"] == templates["accounts"].map(len)).all()
    assert templates["prompt_count"].is_monotonic_decreasing or len(templates) < 2
    tagged = ws.templates(tag="cot_elicitation", min_accounts=2, top=5)
    assert len(tagged) <= 5 and all("cot_elicitation" in tags for tags in tagged["extraction_tags"])
    assert (tagged["account_count"] >= 2).all()
    runs = ws.runs()
    assert runs["run_id"].tolist()[-1] == result.run_id
    last = runs.iloc[-1]
    assert last["command"] == "run" and last["clusters"] == result.summary["clusters"]
    assert last["input_files"] == 4 and last["new_rows"] == result.new_rows


def test_arrow_tables(local_ws):
    ws, result = local_ws
    cid = _first_flagged(ws)
    for name in TABLES:
        method = getattr(ws, name)
        frame = method(cid) if name in ("members", "links", "evidence") else method()
        table = method(cid, arrow=True) if name in ("members", "links", "evidence") else method(arrow=True)
        assert isinstance(table, pa.Table), name
        assert table.column_names == list(frame.columns) and table.num_rows == len(frame), name
        if name not in ("templates", "runs"):
            assert table.schema.metadata[b"graphlinker.run_id"] == result.run_id.encode(), name
    assert pa.types.is_list(ws.clusters(arrow=True).schema.field("accounts").type)


def test_no_raw_prompt_in_any_table(tmp_path):
    """test_privacy's search and scenario, over everything the API returns."""
    from graphlinker.sim.scenario import simulate

    scenario = tmp_path / "scenario"
    simulate(scenario, seed=5, scale=0.12)
    values: set[str] = set()
    with gl.open_workspace(tmp_path / "ws") as ws:
        ws.run(scenario)
        blobs = [json.dumps(ws.report())]
        for name in TABLES:
            frame = getattr(ws, name)(accounts=True) if name == "templates" else getattr(ws, name)()
            for column in frame.columns:
                for value in frame[column].dropna():
                    items = value if isinstance(value, list) else [value]
                    values.update(str(item) for item in items)
        for cid in ws.clusters()["cluster_id"].head(5):
            blobs.append(json.dumps(nx.node_link_data(ws.subgraph(cid), edges="links"), default=str))
    assert len(values) > 1000  # the search saw the tables, not empty frames
    leaked = leaks(raw_prompts(scenario), "\n".join(blobs + sorted(values)), values)
    assert not leaked, leaked[:3]


# --- refresh, earlier runs, bad rows, settings -----------------------------------------------------------

def test_refresh_earlier_runs_and_nothing_new(tmp_path):
    inputs = [DEMO / "accounts.csv", DEMO / "payments.csv", DEMO / "requests.csv.gz"]
    with gl.Workspace(tmp_path / "ws") as ws:
        first = ws.refresh(inputs)
        assert first.new_rows > 0 and first.report["clusters"]
        second = ws.refresh([*inputs, DEMO / "identifiers.csv"])
        assert second.skipped_files == 3 and second.run_id != first.run_id
        with pytest.raises(gl.NothingNew) as caught:
            ws.refresh(DEMO)
        assert caught.value.exit_code == ExitCode.NOTHING_NEW
        runs = ws.runs()
        assert runs["run_id"].tolist() == [first.run_id, second.run_id] and set(runs["command"]) == {"refresh"}
        assert ws.report(first.run_id) == first.report
        earlier = ws.clusters(first.run_id)
        assert earlier["cluster_id"].tolist() == [c["cluster_id"] for c in first.report["clusters"]]
        cid = earlier["cluster_id"].iloc[0]
        assert len(ws.links(cid, run_id=first.run_id)) == first.report["clusters"][0]["evidence"]["links"]["edges"]
        assert ws.members(cid, run_id=first.run_id)["account_id"].tolist() == first.report["clusters"][0]["accounts"]


def test_bad_rows_are_quarantined_with_a_warning_or_refused_when_strict(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(DEMO, export)
    with open(export / "payments.csv", "a") as handle:
        handle.write(",card_0000000000000000,400226,US,2026-03-08T17:56:26Z\n")  # no account id
    with gl.open_workspace(tmp_path / "ws") as ws:
        with pytest.warns(UserWarning, match="quarantined 1 bad rows"):
            result = ws.run(export)
        assert sum(result.quarantined.values()) == 1 and result.summary["quarantined_rows"] == 1
        assert result.quarantine_dir is not None and result.quarantine_dir.is_relative_to(tmp_path / "ws" / "quarantine")
        assert any(result.quarantine_dir.iterdir())
        with pytest.raises(gl.InputError, match="row"):
            ws.run(export, strict=True)
        assert ws.report()["run_id"] == result.run_id  # the refused run published nothing


def test_settings_from_an_object_or_a_file(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("[scoring]\nflag_threshold = 0.99\n")
    settings = gl.load_settings(config)
    assert isinstance(settings, gl.Settings) and settings.scoring["flag_threshold"] == 0.99
    with gl.open_workspace(tmp_path / "ws") as ws:
        by_object = ws.run(DEMO, settings=settings)
        by_file = ws.run(DEMO, settings=config)
        assert by_object.summary["flagged_clusters"] == by_file.summary["flagged_clusters"] == 0
    (tmp_path / "bad.toml").write_text("[scoring]\nflag_threshold = 1.5\n")
    with pytest.raises(gl.ConfigError, match="flag_threshold"):
        gl.load_settings(tmp_path / "bad.toml")


def test_errors_are_the_clis(tmp_path, monkeypatch):
    with gl.open_workspace(tmp_path / "ws") as ws:
        for read in (ws.report, ws.clusters, ws.members, ws.links, ws.evidence):
            with pytest.raises(gl.NoRunYet):
                read()
        assert ws.templates().empty and ws.runs().empty
        with pytest.raises(gl.InputError):
            ws.run(tmp_path / "missing-export")
        ws.run(DEMO)
        with pytest.raises(gl.InputError, match="unknown run"):
            ws.clusters("run-nope")
        for read in (ws.cluster, ws.members, ws.links, ws.evidence, ws.subgraph):
            with pytest.raises(gl.InputError, match="no cluster"):
                read("cl-nope")
        monkeypatch.setitem(sys.modules, "networkx", None)
        with pytest.raises(ImportError, match=r"pip install 'graphlinker\[networkx\]'"):
            ws.subgraph(_first_flagged(ws))
    assert "closed" in repr(ws)
    with pytest.raises(gl.StoreUnavailable, match="closed"):
        ws.clusters()
    with pytest.raises(gl.StoreUnavailable) as caught:
        gl.open_neo4j("bolt://127.0.0.1:1", password="x")
    assert caught.value.exit_code == ExitCode.STORE_UNAVAILABLE


def test_default_workspace_is_the_clis(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHLINKER_WORKSPACE", str(tmp_path / "from-env"))
    with gl.open_workspace() as ws:
        assert ws.path == tmp_path / "from-env" and ws.kind == "local"
    monkeypatch.delenv("GRAPHLINKER_WORKSPACE")
    monkeypatch.chdir(tmp_path)
    with gl.Workspace() as ws:
        assert ws.path == Path(".graphlinker")


# --- Neo4j: the same tables from a real server ---------------------------------------------------------

def _stored_zero_signals(settings: dict) -> int:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        records = driver.execute_query("MATCH ()-[l:LINKED]->() UNWIND keys(l) AS k WITH l[k] AS v WHERE v = 0 "
                                       "RETURN count(*) AS n", database_=settings["database"]).records
    return records[0]["n"]


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reset_index(drop=True)


@pytest.mark.neo4j
def test_the_api_on_neo4j_gives_the_embedded_stores_tables(neo4j_clean, local_ws, tmp_path):
    local, _ = local_ws
    with gl.open_neo4j(**neo4j_clean, workspace=tmp_path / "quarantine-home") as ws:
        assert ws.kind == "neo4j"
        result = ws.run(DEMO)
        pd.testing.assert_frame_equal(ws.clusters(), local.clusters())
        pd.testing.assert_frame_equal(ws.evidence(), local.evidence())
        pd.testing.assert_frame_equal(ws.members(), local.members())
        ours, theirs = ws.links(), local.links()
        assert list(ours.columns) == list(theirs.columns)
        pd.testing.assert_frame_equal(ours, theirs, atol=1e-6, rtol=0)  # Neo4j keeps similarities to 6 places
        signals = [c for c in theirs.columns if c not in ("account_a", "account_b", "weight", "cluster_id")]
        assert (theirs[signals] == 0).any().any()  # links with a zero signal exist, so the next line can fail
        assert _stored_zero_signals(neo4j_clean) == 0  # Neo4j stores only a link's non-zero signals
        pd.testing.assert_frame_equal(ws.templates(accounts=True), local.templates(accounts=True))
        cid = _first_flagged(ws)
        ours, theirs = ws.subgraph(cid), local.subgraph(cid)
        assert set(ours.nodes) == set(theirs.nodes) and {frozenset(e) for e in ours.edges} == {frozenset(e) for e in theirs.edges}
        assert dict(ours.nodes(data=True)) == dict(theirs.nodes(data=True))
        assert {k: v for k, v in ours.graph.items() if k != "run_id"} == {k: v for k, v in theirs.graph.items() if k != "run_id"}
        assert ws.runs()["run_id"].tolist() == [result.run_id]
        again = ws.run(DEMO)
        assert ws.runs()["run_id"].tolist() == [result.run_id, again.run_id]
        assert ws.clusters(result.run_id)["cluster_id"].tolist() == ws.clusters()["cluster_id"].tolist()
        with pytest.raises(gl.InputError, match="latest run's only"):
            ws.links(run_id=result.run_id)
        with pytest.raises(gl.NothingNew):
            ws.refresh(DEMO)


@pytest.mark.neo4j
def test_open_neo4j_finds_the_managed_server_like_the_cli(neo4j_clean, neo4j_home, monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHLINKER_NEO4J_HOME", str(neo4j_home))
    with gl.open_neo4j() as ws:
        assert ws.path is None
        with pytest.raises(gl.NoRunYet):
            ws.clusters()
        ws.run(DEMO)
        flagged = ws.clusters(flagged_only=True)
    # the CLI's parquet outputs of the analyst queries, from the same server
    out = tmp_path / "riskiest.parquet"
    result = invoke("query", "run", "riskiest-clusters", "-p", "limit=50", "--format", "parquet", "-o", out)
    assert result.exit_code == 0, result.output
    rows = pd.read_parquet(out)
    assert rows[rows["flagged"]]["cluster_id"].tolist()[: len(flagged)] == flagged["cluster_id"].tolist()
    assert json.loads(pq.read_schema(out).metadata[b"graphlinker.query"]) == "riskiest-clusters"
    members = tmp_path / "members.parquet"
    cypher = ("MATCH (a:Account)-[:MEMBER_OF]->(c:Cluster {flagged: true}) "
              "RETURN c.cluster_id AS cluster_id, collect(a.account_id) AS accounts, count(a) AS size")
    result = invoke("cypher", cypher, "--format", "parquet", "-o", members)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(members).set_index("cluster_id")
    assert table["size"].to_dict() == dict(zip(flagged["cluster_id"], flagged["size"], strict=True))
    assert sorted(table.loc[flagged["cluster_id"].iloc[0], "accounts"]) == flagged["accounts"].iloc[0]
    refused = invoke("cypher", cypher, "--format", "parquet")
    assert refused.exit_code == ExitCode.BAD_INPUT and "-o/--output FILE" in refused.output


def test_warnings_do_not_fire_on_a_clean_export(tmp_path):
    with gl.open_workspace(tmp_path / "ws") as ws, warnings.catch_warnings():
        warnings.simplefilter("error")
        result = ws.run(DEMO)
    assert result.warnings == () and result.quarantined == {} and result.quarantine_dir is None
