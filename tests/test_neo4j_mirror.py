"""The Neo4j store's columnar mirror (graphlinker.store.mirror), on the real server: it holds exactly
what reading Neo4j gives, a run or refresh does not read the usage graph back when it can trust it,
and it is not trusted when the graph changed behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from neo4j import GraphDatabase
from neo4j_fixtures import tables_in_neo4j

from graphlinker.ingest.readers import Quarantine
from graphlinker.pipeline import refresh, run
from graphlinker.settings import Settings
from graphlinker.sim.slices import split_by_time
from graphlinker.store import cypher
from graphlinker.store.neo4j import Neo4jStore

pytestmark = pytest.mark.neo4j

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> list[Path]:
    return split_by_time(DEMO, tmp_path_factory.mktemp("slices"), 3)


class Recording(Neo4jStore):
    """A Neo4j store that remembers every read statement it ran (the server is real; nothing is faked)."""

    def __init__(self, *args, **kwargs):
        self.statements: list[str] = []
        super().__init__(*args, **kwargs)

    def _read(self, statement: str, **params) -> pd.DataFrame:
        self.statements.append(statement)
        return super()._read(statement, **params)


def assert_same_as_neo4j(store: Neo4jStore, settings: dict) -> None:
    for name, expected in tables_in_neo4j(settings).items():
        pd.testing.assert_frame_equal(getattr(store, name)(), expected, obj=name)


def cypher_write(settings: dict, statement: str) -> None:
    with GraphDatabase.driver(settings["uri"], auth=(settings["user"], settings["password"])) as driver:
        driver.execute_query(statement, database_=settings["database"])


def test_tables_in_memory_and_in_the_mirror_equal_what_neo4j_holds(neo4j_clean, slices, tmp_path):
    settings = {**neo4j_clean, "mirror": str(tmp_path / "mirror")}
    with Recording(settings) as writer:
        run(slices[0], writer, Settings.load(), Quarantine(None))
        assert cypher.READ_USAGE not in writer.statements  # the graph it wrote was never read back
        assert_same_as_neo4j(writer, neo4j_clean)
    with Recording(settings) as later:  # a later process: the mirror, then a refresh on top of it
        refresh([slices[1]], later, Settings.load(), Quarantine(None))
        assert cypher.READ_USAGE not in later.statements
        assert not any(s in later.statements for s in (cypher.READ_USAGE_OF, cypher.READ_TEMPLATE_USAGE_OF))
        assert_same_as_neo4j(later, neo4j_clean)
    manifest = json.loads((Path(settings["mirror"]).glob("*/manifest.json").__next__()).read_text())
    with GraphDatabase.driver(neo4j_clean["uri"], auth=(neo4j_clean["user"], neo4j_clean["password"])) as driver:
        latest = driver.execute_query(cypher.READ_MIRROR_TOKEN, database_=neo4j_clean["database"]).records[0]["token"]
    assert manifest["token"] == latest


def test_a_graph_changed_by_hand_is_read_from_neo4j(neo4j_clean, slices, tmp_path):
    settings = {**neo4j_clean, "mirror": str(tmp_path / "mirror")}
    with Neo4jStore(settings) as writer:
        run(slices[0], writer, Settings.load(), Quarantine(None))
        before = len(writer.usage())
    cypher_write(neo4j_clean, "MATCH ()-[r:USED_IP]->() WITH r LIMIT 1 DELETE r")
    with Recording(settings) as later:
        usage = later.usage()
        assert cypher.READ_USAGE in later.statements  # the counts no longer match: not trusted
    assert len(usage) == before - 1
    pd.testing.assert_frame_equal(usage, tables_in_neo4j(neo4j_clean)["usage"])


def test_a_run_published_without_the_mirror_makes_it_stale(neo4j_clean, slices, tmp_path):
    mirrored = {**neo4j_clean, "mirror": str(tmp_path / "mirror")}
    with Neo4jStore(mirrored) as first:
        run(slices[0], first, Settings.load(), Quarantine(None))
    with Neo4jStore({**neo4j_clean, "mirror": "off"}) as elsewhere:  # another machine, say
        refresh([slices[1]], elsewhere, Settings.load(), Quarantine(None))
    with Recording(mirrored) as later:
        later.usage()
        assert cypher.READ_USAGE in later.statements
        assert_same_as_neo4j(later, neo4j_clean)


def test_mirror_off_writes_nothing(neo4j_clean, slices, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHLINKER_NEO4J_MIRROR", "off")
    monkeypatch.setenv("GRAPHLINKER_CACHE", str(tmp_path / "cache"))
    with Neo4jStore(neo4j_clean) as store:
        run(slices[0], store, Settings.load(), Quarantine(None))
    assert not (tmp_path / "cache").exists()
