"""No raw prompt survives ingestion: not in the workspace, not in Neo4j, not in logs or reports.

A scenario is loaded through the CLI into each store; then every file of the
workspace (Parquet read cell by cell, everything else as text) and every string
property of every node and relationship in Neo4j is searched for verbatim prompt
text. The search must be able to fail: a planted raw prompt is found by the
same search (``test_the_search_finds_a_planted_prompt``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from neo4j import GraphDatabase

from graphlinker.sim.scenario import simulate

# Prompts without any slot can coincide with the fixed text of another template (the
# short "explain X like I'm five" inside a longer prompt); those are only checked for
# whole-value equality. Prompts with a slot (digits, quotes, e-mail, URL) are searched
# as substrings of everything stored.
WITH_SLOT = r"[0-9\"@]|https?://|(?:^|\s)'[^']+'"
MIN_CHARS = 20
SAMPLE = 600


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphlinker", *args], capture_output=True, text=True, env=env)


def raw_prompts(scenario: Path) -> pd.Series:
    path = next(scenario.glob("requests.*"))
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return frame["prompt"].dropna().drop_duplicates()


def leaks(prompts: pd.Series, blob: str, values: set[str]) -> list[str]:
    """Prompts found verbatim in ``blob`` (sampled prompts with a slot) or equal to a stored value (all prompts)."""
    long_enough = prompts[prompts.str.len() >= MIN_CHARS]
    with_slot = long_enough[long_enough.str.contains(WITH_SLOT, regex=True)]
    sample = with_slot.sample(n=min(SAMPLE, len(with_slot)), random_state=0)
    found = [p for p in sample if p in blob]
    found += sorted(values & set(long_enough))
    return found


def workspace_strings(workspace: Path) -> tuple[str, set[str]]:
    """All text of a workspace: Parquet cells (lists flattened) and every other file's bytes decoded."""
    blobs, values = [], set()
    for path in sorted(workspace.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            for column in frame.columns:
                for value in frame[column].dropna():
                    items = value if hasattr(value, "__len__") and not isinstance(value, (str, bytes)) else [value]
                    for item in items:
                        values.add(str(item))
        else:
            blobs.append(path.read_bytes().decode("utf-8", errors="ignore"))
    return "\n".join(blobs + sorted(values)), values


def neo4j_strings(settings: dict) -> tuple[str, set[str]]:
    """Every string (and string-list item) property of every node and relationship in the database."""
    auth = (settings["user"], settings["password"]) if settings["password"] else None
    query = """
    CALL { MATCH (n) RETURN properties(n) AS props UNION ALL MATCH ()-[r]->() RETURN properties(r) AS props }
    UNWIND keys(props) AS key
    WITH props[key] AS value
    WITH CASE WHEN value IS :: LIST<ANY> THEN value ELSE [value] END AS items
    UNWIND items AS item
    WITH item WHERE item IS :: STRING
    RETURN DISTINCT item
    """
    with GraphDatabase.driver(settings["uri"], auth=auth) as driver:
        records, _, _ = driver.execute_query(query, database_=settings["database"])
    values = {r["item"] for r in records}
    return "\n".join(sorted(values)), values


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("privacy-scenario")
    simulate(path, seed=5, scale=0.12)
    return path


def test_no_raw_prompt_in_the_workspace_logs_or_reports(scenario, tmp_path):
    workspace = tmp_path / "ws"
    outputs = []
    for args in (["run", str(scenario), "--format", "json", "--progress"], ["report", "--format", "csv"],
                 ["templates", "--format", "json"], ["templates", "--format", "csv"], ["templates"]):
        result = cli(*args, "--workspace", str(workspace))
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    blob, values = workspace_strings(workspace)
    prompts = raw_prompts(scenario)
    assert len(values) > 1000  # the search saw the stored tables, not an empty workspace
    leaked = leaks(prompts, blob + "\n".join(outputs), values)
    assert not leaked, leaked[:3]


def test_no_raw_prompt_in_neo4j(scenario, neo4j_clean, tmp_path):
    settings = neo4j_clean
    env = {**os.environ, "NEO4J_URI": settings["uri"], "NEO4J_USER": settings["user"],
           "NEO4J_PASSWORD": settings["password"] or "", "NEO4J_DATABASE": settings["database"] or "neo4j"}
    outputs = []
    for args in (["run", str(scenario), "--format", "json"], ["templates", "--format", "json"]):
        result = cli(*args, "--store", "neo4j", "--workspace", str(tmp_path / "ws"), env=env)
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    blob, values = neo4j_strings(settings)
    assert any(v.startswith("acct_") for v in values) and len(values) > 1000
    leaked = leaks(raw_prompts(scenario), blob + "\n".join(outputs), values)
    assert not leaked, leaked[:3]
    listed = json.loads(outputs[-2])["templates"]
    assert listed and all(t["accounts"] for t in listed)
    # the search can fail: a raw prompt in any string property is found
    planted = next(p for p in raw_prompts(scenario) if len(p) >= MIN_CHARS and "0" in p)
    auth = (settings["user"], settings["password"]) if settings["password"] else None
    with GraphDatabase.driver(settings["uri"], auth=auth) as driver:
        driver.execute_query("CREATE (:Probe {notes: ['x', $text]})", text=f"said: {planted}", database_=settings["database"])
    blob, values = neo4j_strings(settings)
    assert leaks(pd.Series([planted]), blob, values) == [planted]


def test_the_search_finds_a_planted_prompt(scenario, tmp_path):
    """The searches above can fail: a raw prompt written into a workspace table is found."""
    prompts = raw_prompts(scenario)
    planted = prompts[prompts.str.contains(WITH_SLOT, regex=True) & (prompts.str.len() >= MIN_CHARS)].iloc[0]
    workspace = tmp_path / "ws"
    workspace.mkdir()
    pd.DataFrame({"note": [f"prefix {planted} suffix"]}).to_parquet(workspace / "t.parquet")
    blob, values = workspace_strings(workspace)
    assert planted in leaks(pd.Series([planted]), blob, values)
    assert leaks(pd.Series([planted]), "", {planted}) == [planted]
