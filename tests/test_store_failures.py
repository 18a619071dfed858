"""A store that goes away, a full or read-only disk, a corrupt run pointer: exit 5, one line, no traceback.

Schedulers act on the exit code (README, "Exit codes"): 5 is "retry later", 1 is "a bug".
Every case runs the real CLI in a subprocess; the Neo4j cases use a real server of their own,
which they stop and start.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from neo4j import GraphDatabase
from neo4j_fixtures import usage_relationships, wait_until_rewriting

from graphlinker.devserver import server as neo4j_server
from graphlinker.store.failures import from_neo4j, redact

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


def _cli(*args: str, env: dict | None = None, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphlinker", *args], capture_output=True, text=True,
                          env=env or dict(os.environ), preexec_fn=preexec_fn, timeout=600)


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# --- Neo4j goes away ------------------------------------------------------------------------------
@pytest.fixture()
def own_server(tmp_path):
    """A server of this test's own (stopped and started by the test); stopped at the end."""
    home = tmp_path / "neo4j"
    neo4j_server.start(home, bolt_port=0, auth=True, heap="512m", pagecache="128m", timeout=300)
    try:
        yield home
    finally:
        neo4j_server.stop(home)


def _env(settings: dict) -> dict:
    return {**os.environ, "NEO4J_URI": settings["uri"], "NEO4J_USER": settings["user"],
            "NEO4J_PASSWORD": settings["password"], "NEO4J_DATABASE": settings["database"] or "neo4j",
            "GRAPHLINKER_LOCK_TTL": "6"}


def test_neo4j_stopped_while_loading_is_exit_5_and_the_next_run_recovers(own_server):
    settings = neo4j_server.server_settings(own_server)
    port = int(settings["uri"].rsplit(":", 1)[1])
    reference = _cli("run", str(DEMO), "--store", "neo4j", "--format", "json", env=_env(settings))
    assert reference.returncode == 0, reference.stderr
    loaded = usage_relationships(settings)

    process = subprocess.Popen([sys.executable, "-m", "graphlinker", "run", str(DEMO), "--store", "neo4j", "--format", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(settings))
    # Stop the server once the run has emptied the graph and started writing it again (an event, not a clock).
    wait_until_rewriting(settings, process, loaded)
    assert process.poll() is None, "the run finished before the server could be stopped"
    neo4j_server.stop(own_server)
    _, stderr = process.communicate(timeout=300)
    result = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
    assert result.returncode == 5, stderr
    line = _one_line_error(result)
    assert "Neo4j" in line and settings["password"] not in stderr

    neo4j_server.start(own_server, bolt_port=port, auth=True, heap="512m", pagecache="128m", timeout=300)
    again = _cli("run", str(DEMO), "--store", "neo4j", "--format", "json", "--wait", "60", env=_env(settings))
    assert again.returncode == 0, again.stderr
    def strip(out):
        return [(c["cluster_id"], c["flagged"], c["accounts"]) for c in json.loads(out)["clusters"]]

    assert strip(again.stdout) == strip(reference.stdout)


def test_unreachable_neo4j_is_exit_5_and_never_prints_the_uri_password(tmp_path):
    port = neo4j_server._free_port()  # nothing listens there
    env = {**os.environ, "NEO4J_URI": f"bolt://analyst:s3cret-pw@127.0.0.1:{port}", "NEO4J_USER": "analyst",
           "NEO4J_PASSWORD": "s3cret-pw"}
    for args in (["run", str(DEMO), "--store", "neo4j"], ["report", "--store", "neo4j"],
                 ["cypher", "MATCH (n) RETURN count(n) AS n"]):
        result = _cli(*args, env=env)
        assert result.returncode == 5, (args, result.stderr)
        _one_line_error(result)
        assert "s3cret-pw" not in result.stderr + result.stdout, args


def _server_error(settings: dict, query: str, before: str | None = None, after: str | None = None) -> Exception:
    """The exception the real server raises for ``query`` (``before``/``after`` run around it)."""
    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        if before:
            driver.execute_query(before, database_=settings["database"])
        try:
            driver.execute_query(query, database_=settings["database"])
        except Exception as exc:  # noqa: BLE001 - the exception is what the test looks at
            return exc
        finally:
            if after:
                driver.execute_query(after, database_=settings["database"])
    raise AssertionError(f"the server accepted {query!r}")


def _terminated_error(settings: dict) -> Exception:
    """A long query terminated from another session, as an administrator (or a shutdown) would."""
    import threading

    caught: list[Exception] = []
    auth = (settings["user"], settings["password"])

    def long_query():
        with GraphDatabase.driver(settings["uri"], auth=auth) as driver:
            try:
                driver.execute_query("UNWIND range(1, 100000000) AS x WITH x WHERE x = -1 RETURN count(x) AS n",
                                     database_=settings["database"])
            except Exception as exc:  # noqa: BLE001
                caught.append(exc)

    thread = threading.Thread(target=long_query)
    thread.start()
    with GraphDatabase.driver(settings["uri"], auth=auth) as driver:
        deadline = time.monotonic() + 60
        while not caught and thread.is_alive() and time.monotonic() < deadline:
            rows, _, _ = driver.execute_query("SHOW TRANSACTIONS YIELD transactionId, currentQuery "
                                              "WHERE currentQuery STARTS WITH 'UNWIND range(1, 100000000)' RETURN transactionId",
                                              database_=settings["database"])
            if rows:
                driver.execute_query("TERMINATE TRANSACTIONS $ids", ids=[r["transactionId"] for r in rows],
                                     database_=settings["database"])
                break
            time.sleep(0.1)
    thread.join(120)
    assert caught, "the long query was not terminated"
    return caught[0]


def test_server_failures_are_classified_by_what_they_mean(neo4j_server):
    """Real server errors: a query over the memory limit or with a syntax error is 2 (fix the query);
    a transaction terminated on the server is 5 (retry); so is a database that does not exist."""
    settings = neo4j_server
    # Community edition cannot lower the memory limit at run time (dbms.setConfigValue is Enterprise), so
    # this one is built as the driver builds it from the server's FAILURE message (status code from the
    # Neo4j Status Codes reference).
    from neo4j.exceptions import Neo4jError

    memory = Neo4jError._hydrate_neo4j(code="Neo.TransientError.General.MemoryPoolOutOfMemoryError",
                                       message="The allocation of an extra 2.0 MiB would use more than the limit 4.0 MiB.")
    syntax = _server_error(settings, "MATCH (n RETURN n")
    terminated = _terminated_error(settings)
    uri = "bolt://u:pw@127.0.0.1:7687"
    assert int(from_neo4j(memory, uri).exit_code) == 2, memory
    assert int(from_neo4j(syntax, uri).exit_code) == 2, syntax
    assert int(from_neo4j(terminated, uri).exit_code) == 5, terminated
    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        try:
            driver.execute_query("RETURN 1", database_="no-such-db")
        except Exception as exc:  # noqa: BLE001
            missing = exc
    assert int(from_neo4j(missing, uri).exit_code) == 5, missing
    assert all("pw@" not in str(from_neo4j(e, uri)) for e in (memory, syntax, terminated, missing))


def test_redact_masks_only_the_password():
    assert redact("cannot reach bolt://neo4j:hunter2@db.internal:7687 now") == "cannot reach bolt://neo4j:***@db.internal:7687 now"
    assert redact("neo4j+s://db.example.com:7687") == "neo4j+s://db.example.com:7687"


# --- the embedded workspace -----------------------------------------------------------------------
def _published(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    first = _cli("run", str(DEMO), "--workspace", str(workspace), "--format", "json")
    assert first.returncode == 0, first.stderr
    return workspace


def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


def test_full_disk_is_exit_5_and_the_last_run_survives(tmp_path):
    """A write that cannot complete (file-size limit here; a full tmpfs where this user may mount one)."""
    workspace = _published(tmp_path)
    before = _cli("report", "--workspace", str(workspace), "--format", "json")

    def small_files():  # writes past 64 KiB fail with EFBIG instead of killing the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = _cli("run", str(DEMO), "--workspace", str(workspace), preexec_fn=small_files)
    assert result.returncode == 5, result.stderr
    assert "workspace" in _one_line_error(result) or "File too large" in result.stderr
    after = _cli("report", "--workspace", str(workspace), "--format", "json")
    assert after.returncode == 0 and after.stdout == before.stdout


def test_full_tmpfs_is_exit_5(tmp_path):
    if not _can_mount():
        pytest.skip("needs root to mount a small tmpfs (the file-size-limit test covers the same path)")
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("mount refused in this container")
    try:
        result = _cli("run", str(DEMO), "--workspace", str(mount / "ws"))
        assert result.returncode == 5, result.stderr
        line = _one_line_error(result)
        assert "No space left on device" in line and "free space" in line
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_read_only_workspace_is_exit_5(tmp_path):
    workspace = _published(tmp_path)
    if _can_mount():
        bound = subprocess.run(["mount", "--bind", "-o", "ro", str(workspace), str(workspace)], capture_output=True)
        if bound.returncode != 0:
            pytest.skip("read-only bind mount refused in this container")
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(workspace)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(workspace)], capture_output=True)
            pytest.skip("read-only remount refused in this container")
        def undo():
            subprocess.run(["umount", "-l", str(workspace)], capture_output=True)
    else:
        for path in [workspace, *workspace.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        def undo():
            for path in [workspace, *workspace.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
    try:
        result = _cli("run", str(DEMO), "--workspace", str(workspace))
        assert result.returncode == 5, result.stderr
        line = _one_line_error(result)
        assert str(workspace) in line
        readable = _cli("report", "--workspace", str(workspace), "--format", "json")
        assert readable.returncode == 0, readable.stderr  # reading the last run still works
    finally:
        undo()


@pytest.mark.parametrize("command", [["report"], ["run", str(DEMO)], ["runs"]])
def test_corrupt_head_names_the_file_and_the_last_good_run(tmp_path, command):
    workspace = _published(tmp_path)
    good = json.loads((workspace / "HEAD").read_text())["snapshot"]
    (workspace / "HEAD").write_text('{"snapshot": "run-2026')  # torn by hand
    result = _cli(*command, "--workspace", str(workspace))
    assert result.returncode == 5, result.stderr
    line = _one_line_error(result)
    assert str(workspace / "HEAD") in line and good in line
    # following the message's advice restores the workspace
    advice = line.split("`echo '", 1)[1].split("' >", 1)[0]
    (workspace / "HEAD").write_text(advice)
    assert _cli("report", "--workspace", str(workspace), "--format", "json").returncode == 0


def test_cypher_terminated_on_the_server_is_exit_5(neo4j_server):
    """`graphlinker cypher` whose transaction an administrator terminates: retry later (5), not bad input."""
    settings = neo4j_server
    env = {**os.environ, "NEO4J_URI": settings["uri"], "NEO4J_USER": settings["user"],
           "NEO4J_PASSWORD": settings["password"], "NEO4J_DATABASE": settings["database"] or "neo4j"}
    marker = "UNWIND range(1, 200000000) AS x WITH x WHERE x = -7"
    process = subprocess.Popen([sys.executable, "-m", "graphlinker", "cypher", f"{marker} RETURN count(x) AS n", "--timeout", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            rows, _, _ = driver.execute_query("SHOW TRANSACTIONS YIELD transactionId, currentQuery "
                                              "WHERE currentQuery STARTS WITH $marker RETURN transactionId",
                                              marker=marker, database_=settings["database"])
            if rows:
                driver.execute_query("TERMINATE TRANSACTIONS $ids", ids=[r["transactionId"] for r in rows],
                                     database_=settings["database"])
                break
            time.sleep(0.1)
    _, stderr = process.communicate(timeout=120)
    result = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
    assert result.returncode == 5, stderr
    assert "Terminated" in _one_line_error(result)


def test_workspace_is_owner_only(tmp_path):
    """Reports and quarantined rows name accounts: every directory of the workspace is 0700, every file 0600."""
    export = tmp_path / "export"
    shutil.copytree(DEMO, export)
    with open(export / "accounts.csv", "a") as handle:
        handle.write(",2026-01-01T00:00:00Z,example.com,US,\n")  # no account id: quarantined
    workspace = tmp_path / "ws"
    old_umask = os.umask(0o022)  # a typical, permissive umask
    try:
        assert _cli("run", str(export), "--workspace", str(workspace)).returncode == 0
    finally:
        os.umask(old_umask)
    assert any((workspace / "quarantine").rglob("*.jsonl")), "the bad row is quarantined"
    for path in [workspace, *workspace.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
