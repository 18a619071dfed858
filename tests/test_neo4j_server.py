"""The local Neo4j server graphlinker fetches and starts itself (graphlinker.devserver.server, `graphlinker neo4j`).

Against a real server: the session one (tests/neo4j_fixtures.py) and ONE extra start/stop cycle
through the CLI in its own home. Prerequisite errors are checked with fakes, without a server.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import urllib.request
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
    assert data["http_port"] is None and data["browser_url"] is None  # no --browser: no HTTP connector
    assert listening_addresses(data["pid"]) == {("127.0.0.1", data["port"])}  # Bolt on loopback, nothing else


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
    assert server.plugins_fetched() and any(server.plugins_dir().glob(f"apoc-core-{server.APOC_VERSION}.jar"))


# --------------------------------------------------------------------------- plugins: GDS, APOC (and Browser, below)


def test_every_server_has_gds_and_apoc(neo4j_server, neo4j_home):
    """The session server (any managed server) loads the pinned GDS and APOC, with their procedures."""
    assert query_one(neo4j_server, "RETURN [gds.version(), apoc.version()]") == [server.GDS_VERSION, server.APOC_VERSION]
    procedures = query_one(neo4j_server, "SHOW PROCEDURES YIELD name WHERE name STARTS WITH 'gds.' OR name STARTS WITH 'apoc.' "
                                         "RETURN collect(name)")
    assert {"gds.louvain.stream", "gds.nodeSimilarity.filtered.stream", "gds.graph.drop", "apoc.path.expandConfig",
            "apoc.algo.cover"} <= set(procedures)
    conf = (neo4j_home / "conf" / "neo4j.conf").read_text().splitlines()
    assert "dbms.security.procedures.unrestricted=gds.*,apoc.*" in conf
    apoc_conf = (neo4j_home / "conf" / "apoc.conf").read_text().splitlines()
    assert {"apoc.import.file.enabled=false", "apoc.export.file.enabled=false"} <= set(apoc_conf)
    linked = {p.name: p.resolve() for p in (neo4j_home / "plugins").iterdir()}  # in plugins/, links into the cache
    assert linked == {jar.name: jar.resolve() for jar in server.plugins_dir().glob("*.jar")}


def test_gds_runs_an_algorithm_with_explicit_concurrency(neo4j_server):
    """A projection, Louvain on two triangles joined by one edge (two communities), and the drop."""
    edges = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]
    cypher = (
        "UNWIND $edges AS e WITH gds.graph.project('gl-test-' + randomUUID(), e[0], e[1], {}, {undirectedRelationshipTypes: ['*']}) AS g "
        "CALL (g) { CALL gds.louvain.stream(g.graphName, {concurrency: 1}) YIELD nodeId, communityId "
        "           RETURN collect([nodeId, communityId]) AS communities } "
        "CALL gds.graph.drop(g.graphName) YIELD graphName RETURN communities"
    )
    with GraphDatabase.driver(neo4j_server["uri"], auth=(neo4j_server["user"], neo4j_server["password"])) as driver:
        records, _, _ = driver.execute_query(cypher, edges=[list(e) for e in edges], database_=neo4j_server["database"])
        left = driver.execute_query("CALL gds.graph.list() YIELD graphName RETURN count(*) AS n", database_=neo4j_server["database"])
    community = dict(records[0]["communities"])
    assert community[0] == community[1] == community[2] != community[3] == community[4] == community[5]
    assert left.records[0]["n"] == 0


def _pom_property(pom: Path, name: str) -> str:
    import xml.etree.ElementTree as ET

    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    return ET.parse(pom).getroot().find(f"m:properties/m:{name}", namespace).text


def test_plugin_versions_are_pinned_in_the_packaged_pom():
    pom = server.plugins_pom_path()
    assert pom.is_file() and pom.parent.parent == server.pom_path().parent.parent
    assert _pom_property(pom, "gds.version") == server.GDS_VERSION
    assert _pom_property(pom, "apoc.version") == server.APOC_VERSION
    assert _pom_property(pom, "browser.version") == server.BROWSER_VERSION
    assert _pom_property(server.pom_path(), "neo4j.version") == server.NEO4J_VERSION


def test_plugin_jars_do_not_duplicate_the_servers_jars(neo4j_server):
    """plugins/ comes first on the classpath: a second version of a library the server has would shadow it.

    Jar names are ARTIFACT-VERSION.jar; two GDS artifacts share a name with a different server artifact
    (org.neo4j.gds:annotations and :neo4j-values, other packages), so they may appear in both.
    """
    def artifacts(directory: Path) -> set[str]:
        return {re.sub(r"-\d[\w.]*(?:-[A-Za-z]\w*)?\.jar$", "", jar.name) for jar in directory.glob("*.jar")}

    shared = artifacts(server.jars_dir()) & artifacts(server.plugins_dir())
    assert shared == {"annotations", "neo4j-values"}
    assert any(server.plugins_dir().glob("annotations-*.jar")) and not any(server.plugins_dir().glob("slf4j-api-*.jar"))


# --------------------------------------------------------------------------- one extra start/stop cycle, via the CLI


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket process ``pid`` listens on, from /proc (IPv4 and IPv6; ::ffff:a.b.c.d as a.b.c.d)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # /proc prints 32-bit words little-endian
            text = socket.inet_ntop(family, raw)
            found.add((text.removeprefix("::ffff:") if "." in text else text, int(port, 16)))  # Java: v4-mapped IPv6
    return found


def test_cli_start_status_stop_cycle(tmp_path, no_neo4j_env):
    """The one extra server: started by the CLI with --browser, so Browser is checked on it too."""
    home = tmp_path / "home"
    result, output = cli("start", "--home", str(home), "--port", "0", "--heap", "512m", "--pagecache", "64m", "--browser", "--http-port", "0")
    assert result.exit_code == 0, output
    assert result.stdout == ""  # messages go to stderr
    try:
        info = server.status(home)
        assert info is not None and info.auth
        assert info.http_port and info.browser_url == f"http://127.0.0.1:{info.http_port}/browser/"
        assert f"Neo4j Browser: {info.browser_url}" in output
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(info.browser_url, timeout=30) as response:
            page = response.read().decode("utf-8", "replace")
            assert response.status == 200 and response.headers.get_content_type() == "text/html"
        assert "<html" in page.lower() and "neo4j browser" in page.lower()
        conf = (home / "conf" / "neo4j.conf").read_text().splitlines()
        assert f"server.http.listen_address=127.0.0.1:{info.http_port}" in conf and "server.https.enabled=false" in conf
        listening = listening_addresses(info.pid)
        assert ("127.0.0.1", info.http_port) in listening and ("127.0.0.1", info.port) in listening
        assert {address for address, _ in listening} <= {"127.0.0.1", "::1"}, listening  # no connector beyond loopback
        assert query_one(server.server_settings(home), "RETURN gds.version()") == server.GDS_VERSION
        password_file = home / server.PASSWORD_FILE
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        assert password not in output and "password in" in output
        settings = server.connection_settings(home)
        assert settings["password"] == password and query_one(settings, "RETURN 7") == 7

        result, output = cli("status", "--home", str(home))
        assert result.exit_code == 0 and str(info.pid) in output and password not in output
        assert f"Neo4j Browser: {info.browser_url}" in output
        result, _ = cli("status", "--json", "--home", str(home))
        assert json.loads(result.stdout)["browser_url"] == info.browser_url
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


def fake_maven(tmp_path, monkeypatch, script: str) -> None:
    """An ``mvn`` on PATH that runs ``script`` (sh) instead of Maven, and an empty jar cache."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "mvn"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GRAPHLINKER_CACHE", str(tmp_path / "cache"))


def test_failed_fetch_is_redone(tmp_path, monkeypatch):
    """The marker is written only after Maven succeeded, so an interrupted or failed fetch runs again."""
    calls = tmp_path / "calls"
    fake_maven(tmp_path, monkeypatch,
               f"echo run >> {calls}\n"
               'for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#-DoutputDirectory=}";; esac; done\n'
               'mkdir -p "$out" && touch "$out/partial.jar"\n'
               'if [ -n "$FAKE_MVN_FAIL" ]; then echo "[ERROR] Could not transfer artifact" >&2; exit 1; fi\n')
    monkeypatch.setenv("FAKE_MVN_FAIL", "1")
    with pytest.raises(StoreUnavailable, match="(?s)Maven Central failed.*Could not transfer"):
        server.fetch()
    assert not server.is_fetched() and not server.jars_dir().exists()
    monkeypatch.delenv("FAKE_MVN_FAIL")
    assert server.fetch() == server.jars_dir() and server.is_fetched()
    assert server.fetch() == server.jars_dir()  # complete: Maven is not run again
    assert calls.read_text().split() == ["run", "run", "run"]  # server (failed), server, plugins
    assert server.plugins_fetched() and (server.plugins_dir() / "partial.jar").exists()


def test_failed_plugin_fetch_is_exit_5_with_one_line(tmp_path, monkeypatch):
    """The server's jars are cached, the plugins' fetch fails: `neo4j start` and `fetch` say so in one line, exit 5."""
    fake_maven(tmp_path, monkeypatch,
               'for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#-DoutputDirectory=}";; -f) ;; esac; done\n'
               'case "$*" in *neo4j-plugins*) echo "[ERROR] Failed to collect dependencies: Could not transfer artifact '
               'org.neo4j.gds:proc:pom:2.13.9" >&2; exit 1;; esac\n'
               'mkdir -p "$out" && touch "$out/server.jar"\n')
    result, output = cli("start", "--home", str(tmp_path / "home"), "--port", "0")
    assert result.exit_code == int(ExitCode.STORE_UNAVAILABLE), output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.stderr.strip().splitlines()[-1] == line and "Traceback" not in output
    assert f"fetching the Neo4j plugins (GDS {server.GDS_VERSION}, APOC {server.APOC_VERSION}" in line
    assert "Maven Central failed (mvn exit code 1)" in line and "Could not transfer artifact" in line
    assert not server.plugins_fetched() and not server.plugins_dir().exists()
    assert (server.jars_dir() / "server.jar").exists()  # the server's part stays cached
    assert server.status(tmp_path / "home") is None
    done = subprocess.run([sys.executable, "-m", "graphlinker.devserver.server", "fetch"], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)
    assert done.returncode == int(ExitCode.STORE_UNAVAILABLE) and "fetching the Neo4j plugins" in done.stderr
    assert done.stdout == ""
