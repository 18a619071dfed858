"""kill -9 a real `graphlinker refresh` at several points, on both stores: readers keep seeing the
previous run, and running the refresh again ends in exactly the state of an uninterrupted refresh.

Each kill point is an event, not a time: the refresh runs under ``proc_events_pause``, which stops it (SIGSTOP)
when a named function of the phase is entered. While it is stopped the test checks, from outside, that the store
really is in that phase (who holds the lock, the staged snapshot or Neo4j batch, an unpublished run, the progress
lines printed so far), then kills it with SIGKILL."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from proc_events_pause import Stopped, stopped_at

from graphlinker.sim.slices import split_by_time
from graphlinker.store import LocalStore

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
USAGE_KEY = ["account_id", "kind", "value"]
# Where each kill lands, per store (local, neo4j): the call that stops the refresh (MODULE:QUALNAME; #N: its N-th
# call, else the first). The refresh reads accounts, payments, identifiers, requests in that order; progress lines
# are printed as each stage ends.
KILL_POINTS = {
    # the first chunk of requests is read, not yet added: accounts, payments and identifiers are read
    "while reading the inputs": ("graphlinker.ingest.usage:UsageBuilder.add_requests",) * 2,
    # the merged accounts are written (to the staged snapshot / in the Neo4j batch); usage is next
    "while writing the graph": ("graphlinker.store.local:LocalStore._write#2", "graphlinker.store.neo4j:Neo4jStore._write_usage"),
    # linking is done, community detection begins
    "while detecting communities": ("graphlinker.pipeline:detect_communities",) * 2,
    # the run is written (its directory / its unpublished Run node, clusters and links); its ledger and the switch are next
    "while publishing": ("graphlinker.store.local:LocalStore._write_commit", "graphlinker.store.neo4j:Neo4jStore._write_commit"),
}


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> list[Path]:
    return split_by_time(DEMO, tmp_path_factory.mktemp("slices"), 3)


def _env(settings: dict | None) -> dict:
    env = {**os.environ, "GRAPHLINKER_LOCK_TTL": "5"}  # a killed writer's Neo4j lease expires after 5 s
    if settings:
        env.update({"NEO4J_URI": settings["uri"], "NEO4J_USER": settings["user"], "NEO4J_PASSWORD": settings["password"] or "",
                    "NEO4J_DATABASE": settings["database"] or "neo4j"})
    return env


def _args(kind: str, workspace: Path, inputs: Path) -> list[str]:
    return ["refresh", str(inputs), "--store", kind, "--workspace", str(workspace), "--format", "json", "--progress",
            "--wait", "60"]


def _refresh(kind: str, workspace: Path, inputs: Path, settings: dict | None) -> int:
    result = subprocess.run([sys.executable, "-m", "graphlinker", *_args(kind, workspace, inputs)], capture_output=True,
                            text=True, env=_env(settings))
    assert result.returncode in (0, 3), result.stderr
    return result.returncode


def _local_phase(workspace: Path) -> dict:
    """What a stopped writer has left in the workspace so far."""
    lock = workspace / "refresh.lock"
    with open(lock) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = False
        except BlockingIOError:
            held = True
    head = json.loads((workspace / "HEAD").read_text())
    return {"lock_held": held, "lock_pid": json.loads(lock.read_text())["pid"], "latest": head["history"][-1],
            "staged": [p.name for p in (workspace / "snapshots").iterdir() if p.name.startswith(".stage-")],
            "unpublished_runs": [p.name for p in (workspace / "runs").iterdir() if p.name not in head["history"]]}


def _neo4j_phase(settings: dict) -> dict:
    from neo4j import GraphDatabase

    def one(query: str):
        records, _, _ = driver.execute_query(query, database_=settings["database"])
        return [dict(r) for r in records]

    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        lock = one("MATCH (l:Lock {name: 'refresh'}) RETURN l.holder AS holder, l.expires_at > datetime() AS live")[0]
        pending = one("MATCH (p:Pending {name: 'graph'}) RETURN p.batch AS batch")
        return {"lock_held": lock["live"], "lock_pid": json.loads(lock["holder"])["pid"],
                "latest": one("MATCH (r:Run {latest: true}) RETURN r.run_id AS run_id")[0]["run_id"],
                "staged": [row["batch"] for row in pending if row["batch"] is not None],
                "unpublished_runs": [r["run_id"] for r in one("MATCH (r:Run) WHERE NOT r.published RETURN r.run_id AS run_id")]}


def _assert_in_phase(name: str, child: Stopped, phase: dict, latest_before: str) -> None:
    """The stopped refresh is where ``name`` says: it holds the lock, nothing is published, and the stage matches."""
    assert phase["lock_held"] and phase["lock_pid"] == child.process.pid, (name, phase)
    assert phase["latest"] == latest_before, (name, phase)
    staged, run_written = bool(phase["staged"]), bool(phase["unpublished_runs"])
    done = [stage for stage in ("reading identifiers", "reading requests", "writing graph", "linking accounts",
                                "detecting communities", "scoring clusters", "publishing run") if child.printed(stage)]
    expected = {  # (graph staged, run written, the stages ended so far: the last one printed)
        "while reading the inputs": (False, False, "reading identifiers"),
        "while writing the graph": (True, False, "reading requests"),
        "while detecting communities": (True, False, "linking accounts"),
        "while publishing": (True, True, "scoring clusters"),
    }[name]
    assert (staged, run_written, done[-1] if done else None) == expected, (name, phase, child.lines)


def _open(kind: str, workspace: Path, settings: dict | None):
    if kind == "local":
        return LocalStore(workspace)
    from graphlinker.store.neo4j import Neo4jStore

    return Neo4jStore({**settings, "mirror": "off"})  # what Neo4j holds, not the local copy a writer left


def _profile(settings: dict) -> dict:
    """How many nodes of each label and relationships of each type the database holds: a dead writer's
    leftovers (an unpublished run, its clusters, links or ledger nodes) show here even where no reader looks."""
    from neo4j import GraphDatabase

    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        nodes, _, _ = driver.execute_query("MATCH (n) UNWIND labels(n) AS label RETURN label AS item, count(*) AS n",
                                           database_=settings["database"])
        relationships, _, _ = driver.execute_query("MATCH ()-[r]->() RETURN type(r) AS item, count(*) AS n",
                                                   database_=settings["database"])
    return {**{f"(:{r['item']})": r["n"] for r in nodes}, **{f"[:{r['item']}]": r["n"] for r in relationships}}


def _state(kind: str, workspace: Path, settings: dict | None, whole: bool = True) -> dict:
    """Everything a store holds, minus run ids and times (which differ between any two runs); not ``whole``:
    only what readers of reports see (the runs and the latest run's clusters)."""
    profile = _profile(settings) if kind == "neo4j" and whole else None
    with _open(kind, workspace, settings) as store:
        report = store.latest_report()
        seen = {"runs": [r["command"] for r in store.runs()], "latest": report["run_id"],
                "clusters": [(c["cluster_id"], c["accounts"], c["risk_score"], c["flagged"], c["reasons"], c["evidence"])
                             for c in report["clusters"]]}
        if not whole:
            return seen
        templates = store.templates().assign(signature=lambda t: t["signature"].map(lambda s: tuple(int(x) for x in s)))
        return {
            "usage": store.usage().astype({k: str for k in USAGE_KEY}).sort_values(USAGE_KEY, ignore_index=True),
            "stats": store.stats().astype({"account_id": str}).sort_values("account_id", ignore_index=True),
            "accounts": store.accounts().astype({"account_id": str}).sort_values("account_id", ignore_index=True),
            "templates": templates.astype({"template_id": str}).sort_values("template_id", ignore_index=True),
            "ledger": store.ledger().drop(columns="run_id").sort_values(["kind", "file_hash"], ignore_index=True),
            "keys": store.seen_keys(),
            "grouper": [{k: v.tolist() for k, v in part.items()} for part in store.grouper_state()],
            "profile": profile,
            **seen,
        }


def _assert_same(ours: dict, theirs: dict, where: str = "") -> None:
    for name in ("usage", "stats", "accounts", "templates", "ledger"):
        pd.testing.assert_frame_equal(ours[name], theirs[name], check_dtype=False, obj=f"{name} ({where})")
    assert np.array_equal(ours["keys"], theirs["keys"]), where
    for name in ("grouper", "runs", "clusters", "profile"):
        assert ours[name] == theirs[name], (name, where)


@pytest.fixture(params=["local", "neo4j"])
def kind_and_settings(request):
    if request.param == "local":
        return "local", None
    return "neo4j", request.getfixturevalue("neo4j_clean")


def _reset(kind: str, workspace: Path, settings: dict | None) -> None:
    if kind == "local":
        LocalStore(workspace).remove()
        return
    from neo4j import GraphDatabase

    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        with driver.session(database=settings["database"]) as session:  # CALL IN TRANSACTIONS needs an auto-commit query
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def test_killed_refreshes_rerun_to_the_uninterrupted_state(kind_and_settings, slices, tmp_path):
    kind, settings = kind_and_settings
    workspace = tmp_path / "ws"
    # the reference: slice 1, then slice 2, uninterrupted
    _refresh(kind, workspace, slices[0], settings)
    _refresh(kind, workspace, slices[1], settings)
    reference = _state(kind, workspace, settings)
    for name, points in KILL_POINTS.items():
        _reset(kind, workspace, settings)
        _refresh(kind, workspace, slices[0], settings)
        before = _state(kind, workspace, settings, whole=kind == "local")
        point = points[0] if kind == "local" else points[1]
        with stopped_at(point, _args(kind, workspace, slices[1]), _env(settings)) as child:
            phase = _local_phase(workspace) if kind == "local" else _neo4j_phase(settings)
            assert child.kill() == -signal.SIGKILL, name
        _assert_in_phase(name, child, phase, before["latest"])
        during = _state(kind, workspace, settings, whole=kind == "local")  # what readers see after the crash
        assert during["latest"] == before["latest"] and during["runs"] == before["runs"], name
        assert during["clusters"] == before["clusters"], name
        if kind == "local":  # the embedded store's graph is a snapshot: untouched until published
            _assert_same(during, before, name)
        assert _refresh(kind, workspace, slices[1], settings) == 0, name
        again = _state(kind, workspace, settings)  # on Neo4j, its "profile" shows the dead writer's leftovers are gone
        _assert_same({**again, "latest": None}, {**reference, "latest": None}, name)
        if kind == "local":  # crash leftovers (staging snapshots, unpublished run directories) are gone
            runs = [r["run_id"] for r in LocalStore(workspace).runs()]
            assert sorted(p.name for p in (workspace / "snapshots").iterdir()) == sorted(runs[-2:]), name  # current + previous
            assert sorted(p.name for p in (workspace / "runs").iterdir()) == sorted(runs), name
