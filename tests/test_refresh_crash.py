"""kill -9 a real `graphlinker refresh` at several points, on both stores: readers keep seeing the
previous run, and running the refresh again ends in exactly the state of an uninterrupted refresh."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphlinker.sim.slices import split_by_time
from graphlinker.store import LocalStore

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
USAGE_KEY = ["account_id", "kind", "value"]
# Progress lines are printed as each stage ends: killing on one kills the process in the next stage.
KILL_POINTS = {
    "while hashing and reading": 0.3,  # seconds after start
    "while writing the graph": "reading requests",
    "while linking and detecting": "writing graph",
    "while publishing": "scoring clusters",
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


def _command(kind: str, workspace: Path, inputs: Path) -> list[str]:
    return [sys.executable, "-m", "graphlinker", "refresh", str(inputs), "--store", kind, "--workspace", str(workspace),
            "--format", "json", "--progress", "--wait", "60"]


def _refresh(kind: str, workspace: Path, inputs: Path, settings: dict | None) -> int:
    result = subprocess.run(_command(kind, workspace, inputs), capture_output=True, text=True, env=_env(settings))
    assert result.returncode in (0, 3), result.stderr
    return result.returncode


def _kill_during(kind: str, workspace: Path, inputs: Path, settings: dict | None, point) -> None:
    process = subprocess.Popen(_command(kind, workspace, inputs), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=_env(settings))
    if isinstance(point, float):
        time.sleep(point)
    else:
        for line in process.stderr:
            if point in line:
                break
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the refresh ended before it could be killed"


def _open(kind: str, workspace: Path, settings: dict | None):
    if kind == "local":
        return LocalStore(workspace)
    from graphlinker.store.neo4j import Neo4jStore

    return Neo4jStore(settings)


def _state(kind: str, workspace: Path, settings: dict | None) -> dict:
    """Everything a store holds, minus run ids and times (which differ between any two runs)."""
    with _open(kind, workspace, settings) as store:
        report = store.latest_report()
        templates = store.templates().assign(signature=lambda t: t["signature"].map(lambda s: tuple(int(x) for x in s)))
        return {
            "usage": store.usage().astype({k: str for k in USAGE_KEY}).sort_values(USAGE_KEY, ignore_index=True),
            "stats": store.stats().astype({"account_id": str}).sort_values("account_id", ignore_index=True),
            "accounts": store.accounts().astype({"account_id": str}).sort_values("account_id", ignore_index=True),
            "templates": templates.astype({"template_id": str}).sort_values("template_id", ignore_index=True),
            "ledger": store.ledger().drop(columns="run_id").sort_values(["kind", "file_hash"], ignore_index=True),
            "keys": store.seen_keys(),
            "grouper": [{k: v.tolist() for k, v in part.items()} for part in store.grouper_state()],
            "runs": [r["command"] for r in store.runs()],
            "clusters": [(c["cluster_id"], c["accounts"], c["risk_score"], c["flagged"], c["reasons"], c["evidence"])
                         for c in report["clusters"]],
            "latest": report["run_id"],
        }


def _assert_same(ours: dict, theirs: dict) -> None:
    for name in ("usage", "stats", "accounts", "templates", "ledger"):
        pd.testing.assert_frame_equal(ours[name], theirs[name], check_dtype=False, obj=name)
    assert np.array_equal(ours["keys"], theirs["keys"])
    for name in ("grouper", "runs", "clusters"):
        assert ours[name] == theirs[name], name


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
    for name, point in KILL_POINTS.items():
        _reset(kind, workspace, settings)
        _refresh(kind, workspace, slices[0], settings)
        before = _state(kind, workspace, settings)
        _kill_during(kind, workspace, slices[1], settings, point)
        during = _state(kind, workspace, settings)  # what readers see after the crash
        assert during["latest"] == before["latest"] and during["runs"] == before["runs"], name
        assert during["clusters"] == before["clusters"], name
        if kind == "local":  # the embedded store's graph is a snapshot: untouched until published
            _assert_same(during, before)
        assert _refresh(kind, workspace, slices[1], settings) == 0, name
        again = _state(kind, workspace, settings)
        _assert_same({**again, "latest": None}, {**reference, "latest": None})
    if kind == "local":  # crash leftovers (staging snapshots, unpublished run directories) are gone
        runs = [r["run_id"] for r in LocalStore(workspace).runs()]
        assert sorted(p.name for p in (workspace / "snapshots").iterdir()) == sorted(runs[-2:])  # current + previous
        assert sorted(p.name for p in (workspace / "runs").iterdir()) == sorted(
            r["run_id"] for r in LocalStore(workspace).runs())
