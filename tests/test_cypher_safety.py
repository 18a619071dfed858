"""`graphlinker cypher` and `graphlinker query run` are analysts' tools, not an open door (issue 11).

Everything here runs through the real CLI (``graphlinker.cli.app.app``) against the session's real
Neo4j server (tests/neo4j_fixtures.py), found the way users find it: ``$GRAPHLINKER_NEO4J_HOME``.

- LOAD CSV is refused by the commands (exit 2, one line), and the managed server itself will
  not fetch a URL or read a file even when LOAD CSV is sent straight through the driver;
- administration commands (users, roles, privileges, databases, servers, transactions,
  settings, CREATE/DROP/ALTER, dbms.* and other non-read procedures) are refused (exit 2), by
  the text check and, with that check switched off, by the server's own plan of the query;
- analyst queries have a transaction timeout (``--timeout``, default ``DEFAULT_QUERY_TIMEOUT``):
  a long cartesian product ends with exit 2 and a one-line message.
"""

from __future__ import annotations

import functools
import http.server
import threading
import time
from pathlib import Path

import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import ClientError
from typer.testing import CliRunner

from graphlinker.cli import query as query_cli
from graphlinker.cli.app import app
from graphlinker.devserver import server
from graphlinker.errors import ExitCode, InputError
from graphlinker.querypack import pack as queries

pytestmark = pytest.mark.neo4j

NEO4J_ENV = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE")
CARTESIAN = "UNWIND range(1, 100000) AS a UNWIND range(1, 100000) AS b RETURN count(*) AS pairs"


@pytest.fixture()
def analyst(neo4j_server, neo4j_home, monkeypatch):
    """The CLI as an analyst runs it: no NEO4J_* variables, the managed server found by its home."""
    for name in NEO4J_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRAPHLINKER_NEO4J_HOME", str(neo4j_home))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture()
def web_server(tmp_path):
    """A loopback HTTP server with ``/x.csv``; ``.requests`` lists every request it received."""
    (tmp_path / "x.csv").write_text("secret,value\n1,2\n")
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            requests.append(format % args)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(tmp_path)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.requests = requests
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/x.csv"
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def assert_refused(result, *fragments: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr with no traceback; returns that line."""
    assert result.exit_code == ExitCode.BAD_INPUT, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), (fragment, lines[0])
    return lines[0]


def write_pack(directory: Path, name: str, cypher: str, params: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.cypher"
    path.write_text(
        f"// name: {name}\n// title: {name}\n// description: a test query\n{params}// returns: value\n{cypher}\n"
    )
    return directory


# --------------------------------------------------------------------------- LOAD CSV


def load_csv_statements(url: str) -> list[str]:
    return [
        f"LOAD CSV FROM '{url}' AS row RETURN row",
        f"load csv with headers from '{url}' as row return row.secret AS secret",
        "LOAD /* split */ CSV FROM $url AS row RETURN row",
        "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row LIMIT 1",
        "CYPHER 5 LOAD CSV FROM 'file:///x.csv' AS row RETURN row",
    ]


def test_cypher_refuses_load_csv(analyst, web_server):
    for statement in load_csv_statements(web_server.url):
        result = analyst("cypher", statement, "-p", f"url={web_server.url}", "-f", "json")
        assert_refused(result, "LOAD CSV is not allowed")
    assert web_server.requests == []  # the server never fetched


def test_query_run_refuses_load_csv(analyst, web_server, tmp_path, monkeypatch):
    pack = write_pack(tmp_path / "pack", "fetch-url", "LOAD CSV FROM $url AS row RETURN row AS value",
                      params="// param: url: str — what to fetch (example: http://127.0.0.1/x.csv)\n")
    monkeypatch.setenv("GRAPHLINKER_QUERIES", str(pack))
    assert_refused(analyst("query", "run", "fetch-url", "-p", f"url={web_server.url}"), "LOAD CSV")
    assert web_server.requests == []


def test_managed_server_does_not_fetch_urls_or_read_files(neo4j_server, neo4j_home, web_server):
    """LOAD CSV sent straight through the driver (no graphlinker check in the way) fetches nothing."""
    conf = (neo4j_home / "conf" / "neo4j.conf").read_text().splitlines()
    for key, value in server.SECURITY_SETTINGS.items():
        assert f"{key}={value}" in conf
    port = web_server.server_address[1]
    auth = (neo4j_server["user"], neo4j_server["password"])
    with GraphDatabase.driver(neo4j_server["uri"], auth=auth) as driver:
        for url, why in (
            (web_server.url, "blocked"),
            (f"http://localhost:{port}/x.csv", "blocked"),
            (f"http://[::1]:{port}/x.csv", "blocked"),
            ("file:///etc/passwd", "allow_csv_import_from_file_urls"),
        ):
            with pytest.raises(ClientError, match=why):
                driver.execute_query(f"LOAD CSV FROM '{url}' AS row RETURN row", database_=neo4j_server["database"])
    assert web_server.requests == []


def test_apoc_does_not_fetch_urls_read_or_write_files(neo4j_server, neo4j_home, web_server, tmp_path):
    """APOC (on every managed server) opens no hole around the LOAD CSV restrictions, even straight through the driver.

    Its URL loaders meet internal.dbms.cypher_ip_blocklist; file import and export are off in conf/apoc.conf;
    only streaming exports (no file) work.
    """
    port = web_server.server_address[1]
    secret = tmp_path / "secret.json"
    secret.write_text('{"secret": 1}')
    refusals = {
        f"CALL apoc.load.json('{web_server.url}')": "blocked via the configuration property internal.dbms.cypher_ip_blocklist",
        f"CALL apoc.load.json('http://localhost:{port}/x.csv')": "cypher_ip_blocklist",
        f"CALL apoc.load.jsonArray('http://[::1]:{port}/x.csv')": "cypher_ip_blocklist",
        f"CALL apoc.load.xml('{web_server.url}')": "cypher_ip_blocklist",
        f"CALL apoc.import.csv([{{fileName: '{web_server.url}', labels: ['X']}}], [], {{}})": "cypher_ip_blocklist",
        f"CALL apoc.load.json('file://{secret}')": "Import from files not enabled",
        f"CALL apoc.load.json('{secret}')": "Import from files not enabled",
        f"CALL apoc.load.xml('file://{secret}')": "Import from files not enabled",
        f"CALL apoc.import.json('file://{secret}')": "Import from files not enabled",
        "CALL apoc.export.json.all('out.json', {})": "Export to files not enabled",
        "CALL apoc.export.csv.all('out.csv', {})": "Export to files not enabled",
        "CALL apoc.export.graphml.all('out.graphml', {})": "Export to files not enabled",
    }
    auth = (neo4j_server["user"], neo4j_server["password"])
    with GraphDatabase.driver(neo4j_server["uri"], auth=auth) as driver:
        for statement, why in refusals.items():
            with pytest.raises(ClientError, match=why):
                driver.execute_query(statement, database_=neo4j_server["database"])
        records, _, _ = driver.execute_query(  # a streaming export writes no file: allowed
            "CALL apoc.export.json.query('RETURN 42 AS answer', null, {stream: true}) YIELD data RETURN data",
            database_=neo4j_server["database"],
        )
    assert '"answer":42' in records[0]["data"]
    assert web_server.requests == []  # no request reached the web server
    assert [p for p in (neo4j_home / "import").rglob("*")] == []
    assert not list(neo4j_home.rglob("out.*"))


# --------------------------------------------------------------------------- administration commands

ADMIN_COMMANDS = [
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "SHOW USERS",
    "SHOW ROLES",
    "SHOW PRIVILEGES",
    "SHOW DATABASES",
    "SHOW SERVERS",
    "SHOW TRANSACTIONS",
    "SHOW TRANSACTIONS YIELD transactionId, currentQuery RETURN transactionId, currentQuery",
    "SHOW SETTINGS",
    "SHOW CURRENT USER",
    "CREATE USER mallory SET PASSWORD 'correct-horse-battery'",
    "CREATE ROLE mallory",
    "CREATE DATABASE other",
    "CREATE INDEX junk_x IF NOT EXISTS FOR (n:Junk) ON (n.x)",
    "CREATE CONSTRAINT junk_key IF NOT EXISTS FOR (n:Junk) REQUIRE n.key IS UNIQUE",
    "DROP USER neo4j",
    "DROP DATABASE neo4j",
    "DROP INDEX junk_x IF EXISTS",
    "ALTER USER neo4j SET PASSWORD 'correct-horse-battery'",
    "ALTER CURRENT USER SET PASSWORD FROM 'a' TO 'correct-horse-battery'",
    "ALTER DATABASE neo4j SET ACCESS READ ONLY",
    "STOP DATABASE neo4j",
    "GRANT ROLE admin TO mallory",
    "CALL dbms.listConfig()",
    "CALL dbms.listConfig() YIELD name, value RETURN name, value",
    "CALL dbms.components()",
    "CALL db.clearQueryCaches()",
    "CALL `dbms`.listConfig() YIELD name RETURN name",
    "CALL db.prepareForReplanning()",
    "CALL db.createLabel('Junk')",
    "CALL tx.setMetaData({who: 'mallory'})",
    "CYPHER 5 SHOW USERS",
    "USE neo4j SHOW TRANSACTIONS",
]


@pytest.mark.parametrize("statement", ADMIN_COMMANDS)
def test_cypher_refuses_administration_commands(analyst, statement):
    line = assert_refused(analyst("cypher", statement))
    assert any(word in line for word in ("administration commands are not allowed", "is not allowed", "query tried to write")), line


# What only the server's plan can tell (the text check is switched off): the EXPLAIN layer alone
# refuses every command the server would run. Commands Community does not support at all
# (SHOW ROLES, DROP DATABASE, ...) fail at planning, which is a refusal too (exit 2).
UNSUPPORTED_IN_COMMUNITY = {
    "SHOW ROLES", "SHOW PRIVILEGES", "SHOW SERVERS", "CREATE ROLE mallory", "CREATE DATABASE other",
    "DROP DATABASE neo4j", "ALTER DATABASE neo4j SET ACCESS READ ONLY", "STOP DATABASE neo4j", "GRANT ROLE admin TO mallory",
}


@pytest.mark.parametrize("statement", ADMIN_COMMANDS)
def test_the_servers_plan_refuses_administration_commands(analyst, statement, monkeypatch):
    monkeypatch.setattr(queries, "check_statement", lambda text: None)
    monkeypatch.setattr(query_cli, "check_statement", lambda text: None)
    line = assert_refused(analyst("cypher", statement))
    if statement not in UNSUPPORTED_IN_COMMUNITY:
        assert "not allowed" in line, line


def test_the_servers_plan_refuses_load_csv(analyst, web_server, monkeypatch):
    monkeypatch.setattr(queries, "check_statement", lambda text: None)
    monkeypatch.setattr(query_cli, "check_statement", lambda text: None)
    assert_refused(analyst("cypher", f"LOAD CSV FROM '{web_server.url}' AS row RETURN row"), "LOAD CSV is not allowed")
    assert web_server.requests == []


def test_query_run_refuses_administration_commands(analyst, tmp_path, monkeypatch):
    """A pack query that passes the pack's static check is still refused when it runs."""
    pack = tmp_path / "pack"
    write_pack(pack, "list-users", "SHOW USERS YIELD user RETURN user AS value")
    write_pack(pack, "list-transactions", "SHOW TRANSACTIONS YIELD currentQuery RETURN currentQuery AS value")
    write_pack(pack, "list-settings", "SHOW SETTINGS YIELD name RETURN name AS value")
    monkeypatch.setenv("GRAPHLINKER_QUERIES", str(pack))
    for name in ("list-users", "list-transactions", "list-settings"):
        assert_refused(analyst("query", "run", name), "administration commands are not allowed")


def test_pack_refuses_backticked_procedure_calls(analyst, tmp_path, monkeypatch):
    pack = write_pack(tmp_path / "pack", "config", "CALL `dbms`.listConfig() YIELD name RETURN name AS value")
    monkeypatch.setenv("GRAPHLINKER_QUERIES", str(pack))
    assert_refused(analyst("query", "run", "config"))


def test_terminate_transactions_leaves_other_sessions_alone(analyst, neo4j_server):
    auth = (neo4j_server["user"], neo4j_server["password"])
    with GraphDatabase.driver(neo4j_server["uri"], auth=auth) as driver:
        with driver.session(database=neo4j_server["database"]) as session:
            tx = session.begin_transaction(metadata={"probe": "victim"})
            try:
                assert tx.run("RETURN 1 AS one").single()["one"] == 1
                records, _, _ = driver.execute_query(
                    "SHOW TRANSACTIONS YIELD transactionId, metaData WHERE metaData.probe = 'victim' RETURN transactionId",
                    database_=neo4j_server["database"],
                )
                victim = records[0]["transactionId"]
                assert_refused(analyst("cypher", f"TERMINATE TRANSACTIONS '{victim}'"), "TERMINATE TRANSACTIONS")
                assert_refused(analyst("cypher", "TERMINATE TRANSACTIONS $id", "-p", f"id={victim}"))
                assert tx.run("RETURN 2 AS two").single()["two"] == 2  # still alive
            finally:
                tx.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "MATCH (n) RETURN count(n) AS nodes",
        "SHOW INDEXES YIELD name RETURN count(*) AS indexes",
        "SHOW CONSTRAINTS",
        "SHOW PROCEDURES YIELD name WHERE name STARTS WITH 'db.' RETURN count(*) AS n",
        "SHOW FUNCTIONS YIELD name RETURN count(*) AS n",
        "CALL db.labels() YIELD label RETURN collect(label) AS labels",
        "CALL db.info()",
        "PROFILE MATCH (n) RETURN count(n) AS nodes",
        "EXPLAIN MATCH (n) RETURN n",
        "CYPHER 5 MATCH (n) RETURN count(n) AS nodes",
        "MATCH (n) WHERE n.note = 'LOAD CSV FROM x; SHOW USERS; CALL dbms.listConfig()' RETURN count(n) AS n",
        "// SHOW USERS\nMATCH (n) RETURN count(n) AS n",
        "WITH {show: 1, terminate: 2, load: 3} AS m RETURN m.show + m.terminate AS n",
    ],
)
def test_reads_still_run(analyst, statement):
    result = analyst("cypher", statement, "-f", "json")
    assert result.exit_code == 0, result.output


def test_check_statement_without_a_server():
    for statement in [s for s in ADMIN_COMMANDS if "`" not in s]:  # a backticked name is left to the plan
        with pytest.raises(InputError):
            queries.check_statement(statement)
    for statement in ("MATCH (n) RETURN n", "SHOW INDEXES", "SHOW ALL CONSTRAINTS", "SHOW BUILT IN FUNCTIONS",
                      "SHOW PROCEDURES EXECUTABLE BY CURRENT USER YIELD name", "CREATE (n:X)", "CREATE p = (a)-[:R]->(b)",
                      "MATCH (n) RETURN n.show AS show"):
        queries.check_statement(statement)  # writes are left to the server's plan and READ access


def test_refused_before_connecting(monkeypatch):
    """No server needed to refuse: exit 2, not 5, with Neo4j unreachable."""
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    monkeypatch.setenv("NEO4J_PASSWORD", "")
    for statement in ("LOAD CSV FROM 'http://127.0.0.1:1/' AS r RETURN r", "SHOW USERS", "TERMINATE TRANSACTIONS 'x'"):
        assert_refused(CliRunner().invoke(app, ["cypher", statement]))


# --------------------------------------------------------------------------- timeout


def test_cypher_timeout_stops_a_cartesian_product(analyst):
    began = time.monotonic()
    result = analyst("cypher", CARTESIAN, "--timeout", "1")
    elapsed = time.monotonic() - began
    assert_refused(result, "timeout", "--timeout")
    assert elapsed < 60, elapsed  # the server stopped it (it would run for many minutes)


def test_query_run_timeout(analyst, tmp_path, monkeypatch):
    pack = write_pack(
        tmp_path / "pack", "all-pairs",
        "UNWIND range(1, $n) AS a UNWIND range(1, $n) AS b RETURN count(*) AS value",
        params="// param: n: int in 1..1000000 = 100000 — how many (example: 10)\n",
    )
    monkeypatch.setenv("GRAPHLINKER_QUERIES", str(pack))
    assert_refused(analyst("query", "run", "all-pairs", "--timeout", "1"), "timeout")
    result = analyst("query", "run", "all-pairs", "-p", "n=10", "--timeout", "30", "-f", "json")
    assert result.exit_code == 0 and '"value": 100' in result.stdout, result.output


def test_default_timeout_applies(neo4j_server, monkeypatch):
    assert queries.DEFAULT_QUERY_TIMEOUT == 60
    monkeypatch.setattr(queries, "DEFAULT_QUERY_TIMEOUT", 1.0)
    with pytest.raises(InputError, match="stopped by its 1 s timeout"):
        queries.run_cypher(neo4j_server, CARTESIAN)
    assert queries.run_cypher(neo4j_server, "RETURN 1 AS one", timeout=0)[1] == [{"one": 1}]  # 0: no limit


def test_timeout_option_is_documented_and_checked(analyst):
    for args in (["cypher", "--help"], ["query", "run", "--help"]):
        result = analyst(*args)
        assert result.exit_code == 0 and "--timeout" in result.stdout and "60" in result.stdout
    result = analyst("cypher", "RETURN 1", "--timeout", "-1")
    assert result.exit_code == ExitCode.BAD_INPUT and result.stdout == ""
