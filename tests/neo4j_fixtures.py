"""Pytest plugin: a real, throwaway Neo4j 5.26 server for the tests that need one.

Load it from tests/conftest.py with ``pytest_plugins = ["neo4j_fixtures"]`` (tests/ is on sys.path
there, from any working directory; ``"tests.neo4j_fixtures"`` only works when pytest runs from the repo root). ``neo4j_server`` starts one
server per test session in a temporary home on a free port (fetching the jars first if needed) and
stops it at the end; if it cannot start, every test using it FAILS — tests needing Neo4j are never
skipped. ``neo4j_clean`` gives the same settings with every node deleted (indexes and constraints kept).

Every test using these fixtures is marked ``neo4j`` by tests/conftest.py, so ``-m "not neo4j"`` never
starts a server; ``neo4j_server`` refuses (fails the test, loudly) when a test without the marker asks
for it, so a marking the conftest missed cannot go unnoticed.
"""

from __future__ import annotations

import pytest

from graphlinker.devserver import server as neo4j_server_module
from graphlinker.errors import GraphlinkerError

RUNNING: list[pytest.Item] = []  # the test whose setup, call or teardown is running (kept by tests/conftest.py)


def refuse_unmarked(what: str) -> None:
    """Fail the running test, loudly, if it is not marked ``neo4j`` but is about to start a Neo4j server:
    under ``-m "not neo4j"`` no server may start, and this is what makes a missed mark visible."""
    item = RUNNING[-1] if RUNNING else None
    if item is not None and item.get_closest_marker("neo4j") is None:
        pytest.fail(f"{item.nodeid} {what} but is not marked neo4j, so -m 'not neo4j' would start a server "
                    "(tests/conftest.py needs_neo4j decides the mark)", pytrace=False)


@pytest.fixture(scope="session")
def neo4j_home(tmp_path_factory: pytest.TempPathFactory):
    """The session server's home directory (data, logs, conf, password, run/graphlinker.json)."""
    return tmp_path_factory.mktemp("neo4j-home")


@pytest.fixture(scope="session")
def neo4j_server(neo4j_home) -> dict:
    """Connection settings ``{uri, user, password, database}`` of the session's throwaway server (auth on)."""
    refuse_unmarked("asks for the session's Neo4j server")
    try:
        neo4j_server_module.start(neo4j_home, bolt_port=0, auth=True, heap="1g", pagecache="256m", timeout=300)
        settings = neo4j_server_module.server_settings(neo4j_home)  # never $NEO4J_URI: neo4j_clean wipes it
    except GraphlinkerError as exc:
        neo4j_server_module.stop(neo4j_home)
        pytest.fail(f"the test Neo4j server could not start: {exc}", pytrace=False)
    try:
        yield settings
    finally:
        neo4j_server_module.stop(neo4j_home)


@pytest.fixture()
def neo4j_clean(neo4j_server: dict) -> dict:
    """The session server's settings after deleting every node and relationship (schema is kept)."""
    from neo4j import GraphDatabase

    auth = (neo4j_server["user"], neo4j_server["password"])
    with GraphDatabase.driver(neo4j_server["uri"], auth=auth) as driver:
        with driver.session(database=neo4j_server["database"]) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    return neo4j_server


def usage_relationships(settings: dict) -> int:
    """How many account–identifier usage relationships the server holds: watched by the tests that
    interrupt a load once it has started rewriting the graph (an event, not a clock)."""
    from neo4j import GraphDatabase

    auth = (settings["user"], settings["password"]) if settings.get("password") else None
    with GraphDatabase.driver(settings["uri"], auth=auth) as driver:
        records, _, _ = driver.execute_query("MATCH ()-[r:USED_IP|SENT_TEMPLATE|HAS_IDENTIFIER]->() RETURN count(r) AS n",
                                             database_=settings["database"])
        return records[0]["n"]


def wait_until_rewriting(settings: dict, process, loaded: int, timeout: float = 180) -> None:
    """Return once ``process`` (a full run) has emptied the graph and written part of it again."""
    import time

    seen_reset, deadline = False, time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        count = usage_relationships(settings)
        seen_reset = seen_reset or count < loaded
        if seen_reset and 0 < count < loaded:
            return
        time.sleep(0.05)


USAGE_TABLES = ("accounts", "stats", "usage", "templates")


def tables_in_neo4j(settings: dict) -> dict:
    """Every usage-graph table as Neo4j holds it, read through the store with its local mirror off."""
    from graphlinker.store.neo4j import Neo4jStore

    with Neo4jStore({**settings, "mirror": "off"}) as store:
        return {name: getattr(store, name)() for name in USAGE_TABLES}

