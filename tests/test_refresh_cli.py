"""`graphlinker refresh | diff | runs | schedule` as a scheduler sees them: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphlinker.errors import LockHeld
from graphlinker.sim.slices import split_by_time
from graphlinker.store import LocalStore

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphlinker", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> list[Path]:
    return split_by_time(DEMO, tmp_path_factory.mktemp("slices"), 2)


def test_refresh_then_nothing_new(slices, tmp_path):
    ws = str(tmp_path / "ws")
    first = cli("refresh", str(slices[0]), "-w", ws, "--format", "json")
    assert first.returncode == 0, first.stderr
    diff = json.loads(first.stdout)
    assert diff["from_run"] is None and diff["counts"]["new"] > 0 and "new rows" in first.stderr
    again = cli("refresh", str(slices[0]), "-w", ws, "--format", "json")
    assert again.returncode == 3
    assert json.loads(again.stdout)["outcome"] == "nothing_new"
    assert "nothing new" in again.stderr and "error" not in again.stderr
    second = cli("refresh", str(slices[0]), str(slices[1]), "-w", ws)  # a known and a new input
    assert second.returncode == 0, second.stderr
    assert "already loaded, skipped" in second.stderr and "→" in second.stdout  # the diff table

    runs = cli("runs", "-w", ws, "--format", "json")
    records = json.loads(runs.stdout)
    assert [r["command"] for r in records] == ["refresh", "refresh"]
    assert all(r["outcome"] == "ok" and r["duration_s"] > 0 for r in records)
    assert {i["kind"] for i in records[1]["inputs"]} == {"accounts", "payments", "identifiers", "requests"}
    assert sum(i["new_rows"] for i in records[1]["inputs"]) > 0
    assert "2 run(s)" in cli("runs", "-w", ws).stdout

    last_two = json.loads(cli("diff", "-w", ws, "--format", "json").stdout)
    assert (last_two["from_run"], last_two["to_run"]) == (records[0]["run_id"], records[1]["run_id"])
    explicit = json.loads(cli("diff", records[0]["run_id"], records[1]["run_id"], "-w", ws, "--format", "json").stdout)
    assert explicit == last_two
    first_only = json.loads(cli("diff", records[0]["run_id"], "-w", ws, "--format", "json").stdout)
    assert first_only["from_run"] is None
    unknown = cli("diff", "run-nope", "-w", ws)
    assert unknown.returncode == 2 and "unknown run" in unknown.stderr


@pytest.mark.parametrize("args, code, message", [
    (["refresh", "/no/such/export"], 2, "does not exist"),
    (["refresh", "DEMO", "--format", "yaml"], 2, "yaml"),
    (["diff"], 2, "no run yet"),
    (["runs"], 2, "no run yet"),
    (["schedule", "DEMO", "--every", "0s"], 2, "every"),
])
def test_bad_use_exits_2(tmp_path, args, code, message):
    args = [str(DEMO) if a == "DEMO" else a for a in args]
    result = cli(*args, "-w", str(tmp_path / "ws"))
    assert result.returncode == code and message in result.stderr


def test_lock_held_exits_4_and_wait_waits(tmp_path):
    ws = tmp_path / "ws"
    store = LocalStore(ws)
    with store.lock("holder under test"):
        refused = cli("refresh", str(DEMO), "-w", str(ws))
        assert refused.returncode == 4 and "holder under test" in refused.stderr
        run = cli("run", str(DEMO), "-w", str(ws))
        assert run.returncode == 4
    waited = subprocess.Popen([sys.executable, "-m", "graphlinker", "refresh", str(DEMO), "-w", str(ws), "--wait", "30"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with store.lock("second holder"):
        time.sleep(2)  # the refresh started meanwhile and is waiting
    assert waited.wait(timeout=120) == 0, waited.stderr.read()


def test_schedule_runs_refresh_on_a_cadence(slices, tmp_path):
    ws = str(tmp_path / "ws")
    result = cli("schedule", str(slices[0]), "--every", "1s", "--max-runs", "2", "-w", ws, "--format", "json")
    assert result.returncode == 3  # the last refresh found nothing new
    assert "refresh #1 exited 0" in result.stderr and "refresh #2 exited 3" in result.stderr
    assert len(LocalStore(Path(ws)).runs()) == 1


def test_neo4j_lease_expires_after_its_holder_dies(neo4j_clean):
    from graphlinker.store.neo4j import Neo4jStore

    code = ("import json, sys, time; from graphlinker.store.neo4j import Neo4jStore\n"
            "store = Neo4jStore(json.loads(sys.argv[1]), lease_seconds=4)\n"
            "with store.lock('doomed holder'):\n"
            "    print('held', flush=True); time.sleep(120)\n")
    child = subprocess.Popen([sys.executable, "-c", code, json.dumps(neo4j_clean)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    time.sleep(5)  # longer than the TTL: only the heartbeat keeps the lease
    with Neo4jStore(neo4j_clean, lease_seconds=4) as store:
        with pytest.raises(LockHeld, match="doomed holder"):
            with store.lock("parent"):
                pass
        child.kill()
        child.wait()
        started = time.monotonic()
        with store.lock("parent", wait_seconds=30):
            waited = time.monotonic() - started
    assert 0 < waited <= 10  # the dead holder's lease ran out within its TTL (plus polling)
