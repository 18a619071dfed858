"""The local Neo4j server graphlinker fetches and starts itself (graphlinker.devserver.server, `graphlinker neo4j`).

Against a real server: the session one (tests/neo4j_fixtures.py) and ONE extra start/stop cycle
through the CLI in its own home. Prerequisite errors are checked with fakes, without a server.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from neo4j import GraphDatabase
from typer.testing import CliRunner

from graphlinker.cli.neo4j import neo4j_app
from graphlinker.devserver import server
from graphlinker.errors import ExitCode, StoreUnavailable

pytestmark = pytest.mark.neo4j

NEO4J_ENV = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE")


def cli(*args: str):
    result = CliRunner().invoke(neo4j_app, list(args))
    return result, result.stdout + result.stderr


def query_one(settings: dict, cypher: str):
    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        records, _, _ = driver.execute_query(cypher, database_=settings["database"])
        return records[0][0]


@pytest.fixture()
def no_neo4j_env(monkeypatch):
    for name in NEO4J_ENV:
        monkeypatch.delenv(name, raising=False)


def files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.name != server.PASSWORD_FILE and secret.encode() in p.read_bytes()]


# --------------------------------------------------------------------------- the session server


def test_session_server_answers_with_auth(neo4j_server, neo4j_home):
    assert query_one(neo4j_server, "RETURN 41 + 1") == 42
    assert neo4j_server["uri"].startswith("bolt://127.0.0.1:")
    assert neo4j_server["user"] == "neo4j" and neo4j_server["password"]
    with GraphDatabase.driver(neo4j_server["uri"], auth=("neo4j", "neo4j")) as driver:
        with pytest.raises(Exception, match="(?i)unauthorized|authentication"):
            driver.verify_connectivity()  # the default password was changed


def test_start_is_idempotent(neo4j_server, neo4j_home):
    running = server.status(neo4j_home)
    assert running is not None
    again = server.start(neo4j_home, bolt_port=0)
    assert again.pid == running.pid and again.uri == neo4j_server["uri"]
    result, output = cli("start", "--home", str(neo4j_home))
    assert result.exit_code == 0, output
    assert "already running" in output and str(running.pid) in output
    assert server.status(neo4j_home).pid == running.pid


def test_password_file_is_private_and_never_shown(neo4j_server, neo4j_home):
    password_file = neo4j_home / server.PASSWORD_FILE
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert password == neo4j_server["password"] and len(password) >= 24
    for args in (["status", "--home", str(neo4j_home)], ["status", "--json", "--home", str(neo4j_home)], ["start", "--home", str(neo4j_home)]):
        result, output = cli(*args)
        assert result.exit_code == 0, output
        assert password not in output
    assert files_containing(neo4j_home, password) == []  # not in logs, conf or run state


def test_status_json(neo4j_server, neo4j_home):
    result = CliRunner().invoke(neo4j_app, ["status", "--json", "--home", str(neo4j_home)])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["running"] is True and data["uri"] == neo4j_server["uri"] and data["home"] == str(neo4j_home)


def test_connection_settings_fall_back_to_the_started_server(neo4j_server, neo4j_home, monkeypatch, no_neo4j_env):
    assert server.connection_settings(neo4j_home) == neo4j_server
    monkeypatch.setenv("GRAPHLINKER_NEO4J_HOME", str(neo4j_home))
    settings = server.connection_settings()
    assert settings == neo4j_server
    assert query_one(settings, "RETURN 1") == 1


def test_env_vars_override(neo4j_server, neo4j_home, monkeypatch):
    monkeypatch.setenv("NEO4J_URI", "neo4j://db.example:7688")
    monkeypatch.setenv("NEO4J_USER", "analyst")
    monkeypatch.setenv("NEO4J_PASSWORD", "from-env")
    monkeypatch.setenv("NEO4J_DATABASE", "rings")
    expected = {"uri": "neo4j://db.example:7688", "user": "analyst", "password": "from-env", "database": "rings"}
    assert server.connection_settings(neo4j_home) == expected
    monkeypatch.delenv("NEO4J_DATABASE")
    assert server.connection_settings(neo4j_home)["database"] == "neo4j"


def test_neo4j_clean_deletes_nodes_and_keeps_schema(neo4j_server, request):
    with GraphDatabase.driver(neo4j_server["uri"], auth=(neo4j_server["user"], neo4j_server["password"])) as driver:
        driver.execute_query("CREATE CONSTRAINT probe_key IF NOT EXISTS FOR (p:Probe) REQUIRE p.key IS UNIQUE")
        driver.execute_query("UNWIND range(1, 2500) AS i CREATE (:Probe {key: i})-[:NEXT]->(:Other)")
        try:
            settings = request.getfixturevalue("neo4j_clean")
            assert settings == neo4j_server
            assert query_one(settings, "MATCH (n) RETURN count(n)") == 0
            assert query_one(settings, "MATCH ()-[r]->() RETURN count(r)") == 0
            assert query_one(settings, "SHOW CONSTRAINTS YIELD name WHERE name = 'probe_key' RETURN count(*)") == 1
        finally:
            driver.execute_query("DROP CONSTRAINT probe_key IF EXISTS")


def test_fetch_is_idempotent(neo4j_server, monkeypatch):
    assert server.is_fetched()

    def no_maven():
        raise AssertionError("fetch ran Maven although the cache is complete")

    monkeypatch.setattr(server, "maven_executable", no_maven)
    lib = server.fetch()
    assert lib == server.jars_dir() and any(lib.glob("neo4j-server-*.jar"))


# --------------------------------------------------------------------------- one extra start/stop cycle, via the CLI


def test_cli_start_status_stop_cycle(tmp_path, no_neo4j_env):
    home = tmp_path / "home"
    result, output = cli("start", "--home", str(home), "--port", "0", "--heap", "512m", "--pagecache", "64m")
    assert result.exit_code == 0, output
    assert result.stdout == ""  # messages go to stderr
    try:
        info = server.status(home)
        assert info is not None and info.auth
        password_file = home / server.PASSWORD_FILE
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        assert password not in output and "password in" in output
        settings = server.connection_settings(home)
        assert settings["password"] == password and query_one(settings, "RETURN 7") == 7

        result, output = cli("status", "--home", str(home))
        assert result.exit_code == 0 and str(info.pid) in output and password not in output
        result, output = cli("start", "--home", str(home), "--port", "0")
        assert result.exit_code == 0 and server.status(home).pid == info.pid and password not in output
    finally:
        result, output = cli("stop", "--home", str(home))
    assert result.exit_code == 0 and "stopped" in output
    assert server.status(home) is None and not (home / "run" / "graphlinker.json").exists()
    with pytest.raises(OSError):
        os.kill(info.pid, 0)
    result, output = cli("status", "--home", str(home))
    assert result.exit_code == int(ExitCode.STORE_UNAVAILABLE) and "not running" in output
    result, output = cli("stop", "--home", str(home))
    assert result.exit_code == 0 and "was not running" in output  # idempotent
    with pytest.raises(StoreUnavailable, match="graphlinker neo4j start"):
        server.connection_settings(home)
    assert files_containing(home, password) == []


# --------------------------------------------------------------------------- state and prerequisites, no server


def write_state(home: Path, pid: int) -> Path:
    (home / "run").mkdir(parents=True, exist_ok=True)
    path = home / "run" / "graphlinker.json"
    path.write_text(json.dumps({"pid": pid, "uri": "bolt://127.0.0.1:1", "port": 1, "auth": False}))
    return path


def test_stale_pid_file_is_cleaned_up(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = write_state(tmp_path, int(done.stdout))  # that process has exited
    assert server.status(tmp_path) is None
    assert not path.exists()
    path = write_state(tmp_path, os.getpid())  # alive, but not a Neo4j of this home (a recycled pid)
    result, output = cli("status", "--home", str(tmp_path))
    assert result.exit_code == int(ExitCode.STORE_UNAVAILABLE) and "not running" in output
    assert not path.exists()
    write_state(tmp_path, os.getpid())
    assert server.stop(tmp_path) is False  # never signals a process that is not its server
    path.write_text("{not json")
    assert server.status(tmp_path) is None and not path.exists()


def test_no_server_and_no_env_says_what_to_run(tmp_path, no_neo4j_env):
    with pytest.raises(StoreUnavailable, match="run `graphlinker neo4j start`"):
        server.connection_settings(tmp_path)


@pytest.fixture()
def without_java(monkeypatch):
    real_which = server.shutil.which
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("GRAPHLINKER_JAVA", raising=False)
    monkeypatch.setattr(server.shutil, "which", lambda name, *a, **k: None if name == "java" else real_which(name, *a, **k))


def test_missing_java_is_a_clear_error(tmp_path, without_java):
    with pytest.raises(StoreUnavailable, match="Java is not installed.*openjdk-17"):
        server.start(tmp_path / "home", bolt_port=0)
    result, output = cli("start", "--home", str(tmp_path / "home"), "--port", "0")
    assert result.exit_code == int(ExitCode.STORE_UNAVAILABLE)
    assert "error:" in output and "Java is not installed" in output and "Traceback" not in output


def test_old_java_is_a_clear_error(tmp_path, monkeypatch):
    fake = tmp_path / "java"
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n')
    fake.chmod(0o755)
    monkeypatch.setenv("GRAPHLINKER_JAVA", str(fake))
    with pytest.raises(StoreUnavailable, match="Java 11.*needs Java 17 or 21"):
        server.java_executable()


def test_missing_maven_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHLINKER_CACHE", str(tmp_path / "cache"))
    real_which = server.shutil.which
    monkeypatch.setattr(server.shutil, "which", lambda name, *a, **k: None if name == "mvn" else real_which(name, *a, **k))
    with pytest.raises(StoreUnavailable, match="Maven is not installed.*apt-get install maven"):
        server.fetch()


def test_failed_fetch_is_redone(tmp_path, monkeypatch):
    """The marker is written only after Maven succeeded, so an interrupted or failed fetch runs again."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake = bin_dir / "mvn"
    fake.write_text(
        "#!/bin/sh\n"
        f"echo run >> {calls}\n"
        'for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#-DoutputDirectory=}";; esac; done\n'
        'mkdir -p "$out" && touch "$out/partial.jar"\n'
        'if [ -n "$FAKE_MVN_FAIL" ]; then echo "[ERROR] Could not transfer artifact" >&2; exit 1; fi\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GRAPHLINKER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FAKE_MVN_FAIL", "1")
    with pytest.raises(StoreUnavailable, match="(?s)Maven Central failed.*Could not transfer"):
        server.fetch()
    assert not server.is_fetched() and not server.jars_dir().exists()
    monkeypatch.delenv("FAKE_MVN_FAIL")
    assert server.fetch() == server.jars_dir() and server.is_fetched()
    assert server.fetch() == server.jars_dir()  # complete: Maven is not run again
    assert calls.read_text().split() == ["run", "run"]
