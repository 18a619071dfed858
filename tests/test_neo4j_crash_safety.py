"""A load killed part-way through and run again ends in the same state as an uninterrupted load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from neo4j_fixtures import usage_relationships, wait_until_rewriting

from graphlinker.store.neo4j import Neo4jStore

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
USAGE_KEY = ["account_id", "kind", "value"]


def _env(settings: dict) -> dict:
    return {**os.environ, "NEO4J_URI": settings["uri"], "NEO4J_USER": settings["user"],
            "NEO4J_PASSWORD": settings["password"] or "", "NEO4J_DATABASE": settings["database"] or "neo4j",
            "GRAPHLINKER_LOCK_TTL": "6"}  # the killed process's lease expires after 6 s; the re-run waits for it


def _run(settings: dict) -> dict:
    result = subprocess.run([sys.executable, "-m", "graphlinker", "run", str(DEMO), "--store", "neo4j", "--format", "json", "--wait", "60"],
                            capture_output=True, text=True, env=_env(settings))
    assert result.returncode == 0, result.stderr
    assert settings["password"] not in result.stdout + result.stderr
    return json.loads(result.stdout)


def _snapshot(settings: dict):
    with Neo4jStore(settings) as store:
        return store.usage().sort_values(USAGE_KEY, ignore_index=True), store.stats().sort_values("account_id", ignore_index=True)


def test_killed_load_rerun_matches_uninterrupted(neo4j_clean):
    settings = neo4j_clean
    reference = _run(settings)
    reference_usage, reference_stats = _snapshot(settings)

    process = subprocess.Popen([sys.executable, "-m", "graphlinker", "run", str(DEMO), "--store", "neo4j"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(settings))
    baseline = usage_relationships(settings)
    # The run resets the graph and then writes it again: kill it once it has started writing afresh.
    wait_until_rewriting(settings, process, baseline)
    assert process.poll() is None, "the load finished before it could be interrupted"
    process.kill()
    process.wait()
    assert usage_relationships(settings) != baseline  # the graph really is half-written

    again = _run(settings)
    usage, stats = _snapshot(settings)
    pd.testing.assert_frame_equal(usage, reference_usage)
    pd.testing.assert_frame_equal(stats, reference_stats)
    def strip(r):
        return [(c["cluster_id"], c["risk_score"], c["flagged"], c["accounts"]) for c in r["clusters"]]

    assert strip(again) == strip(reference)
