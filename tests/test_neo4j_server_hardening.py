"""The managed Neo4j server's first start and restarts (issue 11), through the real CLI.

- The first start never leaves Neo4j's default password in place: the password is set with
  ``neo4j-admin dbms set-initial-password`` before the server first starts, so ``neo4j/neo4j``
  is refused from the first moment; the home is owner-only (0700 directories, 0600 files).
- ``neo4j stop`` then ``neo4j start --port P`` on the same port succeeds at once, although the
  stopped server's connections linger in TIME_WAIT/FIN_WAIT on that port; a port someone
  really listens on is still refused.

One fresh server home for the module (a first start costs ~20 s on two cores), plus the session
server of tests/neo4j_fixtures.py, which is started the same way.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from pathlib import Path

import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError
from typer.testing import CliRunner

from graphlinker.cli.app import app
from graphlinker.devserver import server
from graphlinker.errors import ExitCode

pytestmark = pytest.mark.neo4j

NEO4J_ENV = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE")


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result, result.stdout + result.stderr


def default_password_refused(uri: str) -> bool:
    try:
        with GraphDatabase.driver(uri, auth=("neo4j", "neo4j")) as driver:
            driver.verify_connectivity()
    except AuthError:
        return True
    return False


def loose_paths(home: Path) -> list[str]:
    """Paths under ``home`` (and itself) that its group or others may use at all."""
    paths = [home, *home.rglob("*")]
    return [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}" for p in paths if not p.is_symlink() and p.lstat().st_mode & 0o077]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A server home started for the first time through `graphlinker neo4j start`: (home, port, start output)."""
    saved = {name: os.environ.pop(name, None) for name in NEO4J_ENV}
    home = tmp_path_factory.mktemp("fresh-neo4j") / "home"
    result, output = cli("neo4j", "start", "--home", str(home), "--port", "0", "--heap", "512m", "--pagecache", "64m")
    try:
        assert result.exit_code == 0, output
        info = server.status(home)
        assert info is not None
        yield home, info, output
    finally:
        server.stop(home)
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value


# --------------------------------------------------------------------------- initial password and permissions


def test_first_start_never_accepts_the_default_password(fresh):
    home, info, output = fresh
    assert default_password_refused(info.uri)  # right after `start` returned
    settings = server.server_settings(home)
    password = (home / server.PASSWORD_FILE).read_text().strip()
    assert settings["password"] == password and len(password) >= 24
    assert password not in output and "Traceback" not in output
    with GraphDatabase.driver(info.uri, auth=("neo4j", password)) as driver:
        records, _, _ = driver.execute_query("SHOW CURRENT USER YIELD user, passwordChangeRequired", database_="system")
    assert records[0]["user"] == "neo4j" and records[0]["passwordChangeRequired"] is False
    assert (home / "data" / "dbms" / "auth.ini").exists()  # written by neo4j-admin before the first start
    assert not list((home / "run").glob("*.args"))  # the password's @-file is gone
    for path in (p for p in home.rglob("*") if p.is_file() and p.name != server.PASSWORD_FILE):
        assert password.encode() not in path.read_bytes(), path


def test_home_is_owner_only(fresh):
    home, _, _ = fresh
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("conf", "data", "logs", "run", "import", "plugins"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o700, name
    for path in (home / server.PASSWORD_FILE, home / "conf" / "neo4j.conf", home / "logs" / "console.log",
                 home / "run" / server.STATE_FILE, home / "data" / "dbms" / "auth.ini"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert loose_paths(home) == []  # nothing the server wrote either (it runs with umask 077)


def test_session_server_is_hardened_too(neo4j_server, neo4j_home):
    assert default_password_refused(neo4j_server["uri"])
    assert stat.S_IMODE(neo4j_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((neo4j_home / server.PASSWORD_FILE).stat().st_mode) == 0o600
    assert loose_paths(neo4j_home) == []


def test_a_home_with_loose_permissions_is_tightened(tmp_path):
    """An existing home (e.g. from an older graphlinker) becomes owner-only when its conf is written."""
    home = tmp_path / "old-home"
    (home / "conf").mkdir(parents=True)
    home.chmod(0o755)
    (home / "conf").chmod(0o755)
    server._write_conf(home, 7687, True, "64m")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "conf").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "conf" / "neo4j.conf").stat().st_mode) == 0o600


# --------------------------------------------------------------------------- stop, then start on the same port


def lingering_sockets(port: int) -> list[str]:
    """TCP sockets bound locally to ``port`` in TIME_WAIT or FIN_WAIT (from /proc/net/tcp{,6})."""
    states = {"04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "0B": "CLOSING", "09": "LAST_ACK"}
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if int(local.rsplit(":", 1)[1], 16) == port and state in states:
                found.append(states[state])
    return found


def leave_time_wait(port: int) -> None:
    """One connection to ``port`` closed from the port's side first: that end is left in TIME_WAIT."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the active close: this end (local port `port`) goes to TIME_WAIT
        client.recv(1)  # the peer sees the FIN ...
        client.close()  # ... and answers with its own, completing the close


def plain_bind_fails(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def test_stop_then_start_on_the_same_port(fresh):
    home, info, _ = fresh
    port = info.port
    password = (home / server.PASSWORD_FILE).read_text().strip()
    # an open connection while the server stops: the server closes it first, so its end lingers on `port`
    driver = GraphDatabase.driver(info.uri, auth=("neo4j", password))
    try:
        driver.execute_query("RETURN 1")
        result, output = cli("neo4j", "stop", "--home", str(home))
        assert result.exit_code == 0 and "stopped" in output, output
    finally:
        driver.close()
    # Whether the server's end of that connection lingers depends on which side closed first; make sure
    # one does: a connection on `port` whose port side closes first stays in TIME_WAIT for a minute.
    leave_time_wait(port)
    assert lingering_sockets(port), "no lingering connection: the test would not exercise TIME_WAIT"
    assert plain_bind_fails(port)  # what the old probe saw: "port already in use"

    result, output = cli("neo4j", "start", "--home", str(home), "--port", str(port), "--heap", "512m", "--pagecache", "64m")
    assert result.exit_code == 0, output
    assert "already in use" not in output and password not in output
    again = server.status(home)
    assert again is not None and again.port == port and again.pid != info.pid
    with GraphDatabase.driver(again.uri, auth=("neo4j", password)) as driver:
        assert driver.execute_query("RETURN 41 + 1 AS n").records[0]["n"] == 42
    assert default_password_refused(again.uri)


def test_a_port_in_use_is_still_refused(tmp_path, monkeypatch):
    for name in NEO4J_ENV:
        monkeypatch.delenv(name, raising=False)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert not server._port_free(port)
        result, output = cli("neo4j", "start", "--home", str(tmp_path / "home"), "--port", str(port))
    assert result.exit_code == ExitCode.STORE_UNAVAILABLE, output
    assert "already in use" in output and len(result.stderr.strip().splitlines()) == 1
    assert server.status(tmp_path / "home") is None


def test_a_password_starting_with_a_dash_is_set(tmp_path):
    """token_urlsafe starts with "-" about once in 64: neo4j-admin must not read it as an option."""
    from neo4j import GraphDatabase

    from graphlinker.devserver import server

    home = tmp_path / "dash-home"
    home.mkdir(mode=0o700)
    (home / "password").write_text("-starts-with-a-dash-0123\n")
    (home / "password").chmod(0o600)
    server.start(home, bolt_port=0, auth=True, heap="256m", pagecache="64m", timeout=300)
    try:
        settings = server.server_settings(home)
        assert settings["password"] == "-starts-with-a-dash-0123"
        with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
            driver.verify_connectivity()
    finally:
        server.stop(home)
