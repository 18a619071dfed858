"""`graphlinker refresh | diff | runs | schedule` as a scheduler sees them: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
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


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` holds ``path`` open (Linux /proc): a refresh opens the lock file, then tries to lock it."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == str(path):
                return True
        except OSError:  # the descriptor closed meanwhile
            continue
    return False


def _until(condition, timeout: float = 120, what: str = "") -> None:
    """Poll ``condition`` until it holds (an event); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def start_waiting_refresh():
    """start(ws, wait): `graphlinker refresh DEMO -w WS --wait WAIT`, returned once it has opened the workspace's lock
    file (an event: it has hashed its inputs and now tries the lock) or has ended. Killed at teardown if still running."""
    children: list[subprocess.Popen] = []

    def start(ws: Path, wait: str) -> subprocess.Popen:
        child = subprocess.Popen([sys.executable, "-m", "graphlinker", "refresh", str(DEMO), "-w", str(ws), "--wait", wait],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        children.append(child)
        _until(lambda: child.poll() is not None or _has_open(child.pid, ws / "refresh.lock"), what="the lock attempt")
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()


needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="watches the child's open files in /proc")


@needs_proc
def test_lock_held_exits_4_at_once_or_after_its_wait(tmp_path, start_waiting_refresh):
    ws = tmp_path / "ws"
    store = LocalStore(ws)
    with store.lock("holder under test"):
        # each command returns while this test still holds the lock: it did not wait for the lock to be released
        refused = cli("refresh", str(DEMO), "-w", str(ws))
        assert refused.returncode == 4 and "holder under test" in refused.stderr
        run = cli("run", str(DEMO), "-w", str(ws))
        assert run.returncode == 4 and "holder under test" in run.stderr
        waiting = start_waiting_refresh(ws, "2")
        reached = time.monotonic()  # seen a poll late at most (more on a busy machine): hence 1 s below, not 2
        assert waiting.wait(timeout=120) == 4, waiting.stderr.read()
        # a lower bound, which no slowness can break: from its first try of the lock it waited ~2 s, then gave up
        assert time.monotonic() - reached >= 1.0
        assert "holder under test" in waiting.stderr.read()
        assert store.runs() == [] and not (ws / "HEAD").exists()  # nothing was written


@needs_proc
def test_refresh_with_wait_blocks_until_the_lock_is_released(tmp_path, start_waiting_refresh):
    ws = tmp_path / "ws"
    store = LocalStore(ws)
    with store.lock("holder under test"):
        waiting = start_waiting_refresh(ws, "120")
        assert waiting.poll() is None, waiting.stderr.read()  # it reached the lock and was not refused: it waits
        assert json.loads((ws / "refresh.lock").read_text())["command"] == "holder under test"  # the lock is still ours
        assert not (ws / "HEAD").exists()  # ... and the refresh has published nothing
        released = datetime.now(UTC)
    assert waiting.wait(timeout=300) == 0, waiting.stderr.read()
    runs = store.runs()
    assert [r["command"] for r in runs] == ["refresh"]
    assert datetime.fromisoformat(runs[0]["started_at"]) >= released  # its work began only after the release


def test_schedule_runs_refresh_on_a_cadence(slices, tmp_path):
    ws = str(tmp_path / "ws")
    result = cli("schedule", str(slices[0]), "--every", "1s", "--max-runs", "2", "-w", ws, "--format", "json")
    assert result.returncode == 3  # the last refresh found nothing new
    assert "refresh #1 exited 0" in result.stderr and "refresh #2 exited 3" in result.stderr
    assert len(LocalStore(Path(ws)).runs()) == 1


def _lease(settings: dict) -> dict:
    """The Neo4j store's lock node as the server sees it, with the server's clock (milliseconds since the epoch)."""
    from neo4j import GraphDatabase

    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        records, _, _ = driver.execute_query(
            "MATCH (l:Lock {name: 'refresh'}) RETURN l.holder AS holder, l.expires_at.epochMillis AS expires, "
            "datetime().epochMillis AS now", database_=settings["database"])
    return dict(records[0])


def test_neo4j_lease_expires_after_its_holder_dies(neo4j_clean):
    from graphlinker.store.neo4j import Neo4jStore

    code = ("import json, sys, time; from graphlinker.store.neo4j import Neo4jStore\n"
            "store = Neo4jStore(json.loads(sys.argv[1]), lease_seconds=4)\n"
            "with store.lock('doomed holder'):\n"
            "    print('held', flush=True); time.sleep(120)\n")
    child = subprocess.Popen([sys.executable, "-c", code, json.dumps(neo4j_clean)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        first = _lease(neo4j_clean)
        assert "doomed holder" in first["holder"]
        # the event: the server's clock passes the lease's first expiry; only the heartbeat can have kept it since
        _until(lambda: _lease(neo4j_clean)["now"] > first["expires"], timeout=60, what="the first lease to run out")
        renewed = _lease(neo4j_clean)
        assert renewed["expires"] > renewed["now"] and "doomed holder" in renewed["holder"]
        with Neo4jStore(neo4j_clean, lease_seconds=4) as store:
            with pytest.raises(LockHeld, match="doomed holder"):
                with store.lock("parent"):
                    pass
            child.kill()
            child.wait()
            last = _lease(neo4j_clean)  # no heartbeat after this: the lease ends at last["expires"]
            assert last["now"] < last["expires"]  # a beat is at most 4/3 s old, so the lease has seconds left ...
            with pytest.raises(LockHeld, match="doomed holder"):  # ... and the dead holder still holds it
                with store.lock("parent"):
                    pass
            with store.lock("parent", wait_seconds=30):
                taken = _lease(neo4j_clean)
        assert "parent" in taken["holder"]
        assert taken["now"] >= last["expires"]  # taken only once the dead holder's lease had run out, not before
    finally:
        child.kill()
        child.wait()
