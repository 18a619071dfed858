"""Detection engine "gds": community detection inside Neo4j by its Graph Data Science library.

The contract that it gives the embedded engine's clusters (a run end to end with ``--store neo4j``, GDS's
catalog left empty) is in tests/test_store_contract.py. Here: what it refuses (one line, exit 2), that a
failing GDS call still drops its projection, that it is seeded and deterministic and keeps the ids it was
given, and the concurrency it chooses. The server is the session's real one (``neo4j_server``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from neo4j import GraphDatabase

from graphlinker.analysis import gds_communities
from graphlinker.analysis.detection import detect_communities
from graphlinker.errors import ConfigError
from graphlinker.settings import Settings
from graphlinker.store import LocalStore
from graphlinker.store.neo4j import Neo4jStore

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphlinker", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def _catalog(settings: dict) -> list[str]:
    auth = (settings["user"], settings["password"]) if settings.get("password") else None
    with GraphDatabase.driver(settings["uri"], auth=auth, notifications_min_severity="OFF") as driver:
        records, _, _ = driver.execute_query("CALL gds.graph.list() YIELD graphName RETURN graphName",
                                             database_=settings["database"])
    return [r["graphName"] for r in records]


def _rings() -> pd.DataFrame:
    """Three 6-cliques joined by weak links: any modularity method finds the three."""
    rows = [(f"r{g}-{i}", f"r{g}-{j}", 1.0) for g in range(3) for i in range(6) for j in range(i + 1, 6)]
    rows += [(f"r{g}-0", f"r{(g + 1) % 3}-1", 0.05) for g in range(3)]
    return pd.DataFrame(rows, columns=["account_a", "account_b", "weight"])


# --- refused: one line, exit 2 -----------------------------------------------------------------
def test_gds_on_the_embedded_store_is_a_one_line_config_error(tmp_path):
    config = tmp_path / "gds.toml"
    config.write_text('[detection]\nengine = "gds"\n')
    result = _cli("run", str(DEMO), "--workspace", str(tmp_path / "ws"), "--config", str(config), "--store", "local")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: detection engine 'gds' runs inside Neo4j: use --store neo4j (or set NEO4J_URI), "
                      "or choose another [detection] engine"], result.stderr
    with pytest.raises(ConfigError, match="runs inside Neo4j"):
        detect_communities(_rings(), engine="gds", store=LocalStore(tmp_path / "ws2"))


def test_settings_it_cannot_honour_are_refused():
    with pytest.raises(ConfigError, match="GDS Louvain has no resolution"):
        detect_communities(_rings(), engine="gds", resolution=1.5, gds_algorithm="louvain")


def test_gds_settings_are_validated(tmp_path):
    config = tmp_path / "detection.toml"
    config.write_text("[detection]\ngds_concurrency = -1\n")
    with pytest.raises(ConfigError, match=r"detection\.gds_concurrency: must be an integer >= 0"):
        Settings.load(config)
    config.write_text('[detection]\ngds_algorithm = "walktrap"\n')
    with pytest.raises(ConfigError, match=r"detection\.gds_algorithm"):
        Settings.load(config)


def test_automatic_concurrency_is_half_the_cpus_within_1_to_4():
    assert [gds_communities.auto_concurrency(c) for c in (1, 2, 3, 4, 6, 8, 64)] == [1, 1, 1, 2, 3, 4, 4]


# --- on the real server ---------------------------------------------------------------------------
@pytest.mark.neo4j
@pytest.mark.parametrize("algorithm", ["louvain", "leiden"])
def test_seeded_deterministic_and_the_catalog_is_left_empty(neo4j_clean, algorithm):
    with Neo4jStore(neo4j_clean) as store:
        first = detect_communities(_rings(), engine="gds", seed=7, store=store, gds_algorithm=algorithm)
        again = detect_communities(_rings().sample(frac=1.0, random_state=1), engine="gds", seed=7, store=store,
                                   gds_algorithm=algorithm)  # the same links in another order
    pd.testing.assert_frame_equal(first, again)
    assert first.groupby("community")["account_id"].apply(lambda s: sorted({a.split("-")[0] for a in s})).tolist() \
        == [["r0"], ["r1"], ["r2"]]
    assert _catalog(neo4j_clean) == []


@pytest.mark.neo4j
def test_a_failing_gds_call_still_drops_its_projection(neo4j_clean):
    """Concurrency 1000 passes our settings but GDS refuses it after the projection exists: dropped all the same."""
    with Neo4jStore(neo4j_clean) as store:
        with pytest.raises(Exception) as failure:
            detect_communities(_rings(), engine="gds", store=store, gds_concurrency=1000)
        assert store.failure(failure.value) is not None  # a Neo4j error the CLI reports in one line
    assert _catalog(neo4j_clean) == []


@pytest.mark.neo4j
def test_gds_labels_follow_the_ids_given(neo4j_clean):
    """The integer ids projected come back as they were sent (not GDS's internal numbering)."""
    auth = (neo4j_clean["user"], neo4j_clean["password"])
    with GraphDatabase.driver(neo4j_clean["uri"], auth=auth, notifications_min_severity="OFF") as driver:
        # node 0..2 and 3..5 are two triangles; 5 first in the rows, so first-seen order is not id order
        src, dst = np.array([5, 4, 3, 0, 1, 0, 2]), np.array([4, 3, 5, 1, 2, 2, 3])
        weights = np.array([1, 1, 1, 1, 1, 1, 0.01])
        labels = gds_communities.gds_labels(driver, neo4j_clean["database"], src, dst, weights, 1, 1.0, 1, "louvain")
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4] == labels[5]


def test_gds_on_the_embedded_store_is_refused_before_loading(tmp_path):
    """Minutes of loading must not come before a refusal the settings already imply."""
    from contextlib import contextmanager

    from graphlinker.ingest.readers import Quarantine
    from graphlinker.pipeline import run
    from graphlinker.settings import Settings

    class Stages:
        def __init__(self):
            self.started = []

        @contextmanager
        def stage(self, name, total=None):
            self.started.append(name)
            yield lambda advance=1: None

    config = tmp_path / "gds.toml"
    config.write_text('[detection]\nengine = "gds"\n')
    stages = Stages()
    with pytest.raises(ConfigError, match="runs inside Neo4j"):
        run(DEMO, LocalStore(tmp_path / "ws"), Settings.load(config), Quarantine(None), stages)
    assert stages.started == []

