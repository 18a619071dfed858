"""The Spark engine's contract: on the same input it leaves the store exactly what the embedded engine leaves.

Both engines ingest the same export into fresh embedded stores; every table the store holds after ingest
(accounts, usage, totals, templates with signatures and exemplars), the run's commit (ledger rows, event
keys, grouper state), the quarantine and the clusters must be equal. Spark runs in local mode on a
session shared by the test session (``spark`` fixture in conftest.py).
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from graphlinker.cli.app import app
from graphlinker.engine import with_engine
from graphlinker.errors import ConfigError, NothingNew
from graphlinker.ingest.readers import Quarantine
from graphlinker.pipeline import refresh, run
from graphlinker.settings import Settings
from graphlinker.sim.scenario import simulate
from graphlinker.sim.slices import split_by_time
from graphlinker.store import LocalStore

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"
USAGE_KEY = ["account_id", "kind", "value"]


def spark_settings(split_mb: int = 64, base: Settings | None = None) -> Settings:
    settings = with_engine(base or Settings.load(), "spark", "local[2]")
    return replace(settings, engine={**settings.engine, "split_mb": split_mb})


def both_engines(tmp_path: Path, export: Path, split_mb: int = 64, base: Settings | None = None) -> dict:
    """The export run on each engine into its own embedded store."""
    out = {}
    base = base or Settings.load()
    for name, settings in (("embedded", base), ("spark", spark_settings(split_mb, base))):
        store = LocalStore(tmp_path / f"ws-{name}")
        quarantine_dir = tmp_path / f"quarantine-{name}"
        outcome = run(export, store, settings, Quarantine(quarantine_dir))
        out[name] = {"store": store, "outcome": outcome, "quarantine": quarantine_dir}
    return out


def essentials(report: dict) -> list:
    return [(c["size"], c["risk_score"], c["flagged"], c["accounts"], c["reasons"]) for c in report["clusters"]]


def assert_same_store(a: LocalStore, b: LocalStore) -> None:
    pd.testing.assert_frame_equal(a.usage().sort_values(USAGE_KEY, ignore_index=True),
                                  b.usage().sort_values(USAGE_KEY, ignore_index=True))
    pd.testing.assert_frame_equal(a.stats().sort_values("account_id", ignore_index=True),
                                  b.stats().sort_values("account_id", ignore_index=True))
    pd.testing.assert_frame_equal(a.accounts().sort_values("account_id", ignore_index=True),
                                  b.accounts().sort_values("account_id", ignore_index=True))
    ta, tb = a.templates().set_index("template_id").sort_index(), b.templates().set_index("template_id").sort_index()
    assert ta.index.tolist() == tb.index.tolist()
    for column in ("exemplar", "extraction_tags", "prompt_count", "account_count", "first_seen", "last_seen"):
        assert ta[column].tolist() == tb[column].tolist(), column
    assert [list(s) for s in ta["signature"]] == [list(s) for s in tb["signature"]]
    np.testing.assert_array_equal(a.seen_keys(), b.seen_keys())
    ledger = ["name", "kind", "rows", "new_rows", "file_hash"]
    pd.testing.assert_frame_equal(a.ledger()[ledger].reset_index(drop=True), b.ledger()[ledger].reset_index(drop=True))
    sa, sb = a.grouper_state(), b.grouper_state()
    assert len(sa) == len(sb)
    for part_a, part_b in zip(sa, sb, strict=True):
        for name in ("template_ids", "texts", "representative", "signatures", "settings"):
            np.testing.assert_array_equal(part_a[name], part_b[name], err_msg=name)


def quarantine_lines(directory: Path) -> list[dict]:
    """Every quarantine record without its null fields (JSON Lines records list every key of their chunk)."""
    lines = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            lines.append({"file": path.name, **{k: v for k, v in json.loads(line).items() if v is not None}})
    return sorted(lines, key=lambda r: (r["file"], r.get("row_number") or 0, r["reason"]))


def test_demo_gives_the_same_store_quarantine_and_clusters(spark, tmp_path):
    result = both_engines(tmp_path, DEMO)
    assert_same_store(result["embedded"]["store"], result["spark"]["store"])
    embedded, on_spark = result["embedded"]["outcome"], result["spark"]["outcome"]
    assert essentials(on_spark.report) == essentials(embedded.report)
    assert on_spark.report["summary"] == embedded.report["summary"]
    assert on_spark.new_rows == embedded.new_rows > 0


@pytest.fixture(scope="module")
def jsonl_export(tmp_path_factory) -> Path:
    """A small simulated scenario, requests as JSON Lines, with bad lines and exact repeats spread through it."""
    out = tmp_path_factory.mktemp("jsonl")
    simulate(out, seed=3, scale=0.05, file_format="jsonl")
    requests = out / "requests.jsonl"
    lines = requests.read_bytes().splitlines(keepends=True)
    bad = [b'{"account_id": "a-bad", "ts": "not a time", "prompt": "x"}\n', b"{not json\n", b"\n",
           b'{"account_id": "a-bad", "ts": "2026-01-01T00:00:00Z", "input_tokens": -3, "prompt": "hello"}\n',
           b'{"account_id": "a-bad", "ts": "2026-01-01T00:00:00Z", "ip": "999.1.1.1", "prompt": "\xff\xfe"}\n']
    mixed = []
    for i, line in enumerate(lines):
        mixed.append(line)
        if i % 997 == 5:
            mixed.append(bad[(i // 997) % len(bad)])
        if i % 1499 == 7:
            mixed.append(line)  # an exact repeat: loaded once
    requests.write_bytes(b"".join(mixed))
    (out / "truth.csv").unlink(missing_ok=True)
    return out


def test_jsonl_in_many_splits_gives_the_same_store_quarantine_and_clusters(spark, tmp_path, jsonl_export):
    size = (jsonl_export / "requests.jsonl").stat().st_size
    assert size > 3 << 20  # several 1 MB splits
    result = both_engines(tmp_path, jsonl_export, split_mb=1)
    assert_same_store(result["embedded"]["store"], result["spark"]["store"])
    embedded, on_spark = result["embedded"]["outcome"], result["spark"]["outcome"]
    assert on_spark.quarantine == embedded.quarantine and sum(embedded.quarantine.values()) >= 5
    assert quarantine_lines(result["spark"]["quarantine"]) == quarantine_lines(result["embedded"]["quarantine"])
    assert essentials(on_spark.report) == essentials(embedded.report)


def test_templates_are_grouped_in_the_embedded_engines_chunks(spark, tmp_path, jsonl_export):
    """Single linkage chains more in one big batch than in chunks: the Spark engine groups chunk by chunk as the
    embedded engine does (here chunks of 4,000 rows across 1 MB splits), and leaves the same templates and state."""
    base = Settings.load()
    base = replace(base, inputs={**base.inputs, "chunk_rows": 4000})
    result = both_engines(tmp_path, jsonl_export, split_mb=1, base=base)
    assert len(result["embedded"]["store"].grouper_state()) == 1
    assert_same_store(result["embedded"]["store"], result["spark"]["store"])


def test_crowded_buckets_are_capped_per_sorted_run_as_embedded(spark, tmp_path, jsonl_export, monkeypatch):
    """The embedded bucket index caps a crowded LSH bucket per sorted run: with a cap of 2 slots and small
    chunks (many runs, crowded buckets) the Spark grouping must still find exactly the embedded templates
    (at 1M rows and the default cap of 16, capping per bucket instead changed 6 templates and 3 clusters)."""
    from graphlinker.templates.minhash import MinHashGrouper

    monkeypatch.setattr(MinHashGrouper, "max_bucket", 2)  # read on the driver by both engines
    base = Settings.load()
    base = replace(base, inputs={**base.inputs, "chunk_rows": 1500})
    result = both_engines(tmp_path, jsonl_export, split_mb=1, base=base)
    assert_same_store(result["embedded"]["store"], result["spark"]["store"])


def test_parquet_row_groups_as_splits(spark, tmp_path, jsonl_export):
    export = tmp_path / "parquet"
    shutil.copytree(jsonl_export, export)
    (export / "requests.jsonl").unlink()
    simulate(export, seed=4, scale=0.05, file_format="parquet")
    table = pq.read_table(export / "requests.parquet")
    pq.write_table(table, export / "requests.parquet", row_group_size=max(1, table.num_rows // 7))
    assert pq.ParquetFile(export / "requests.parquet").num_row_groups >= 7
    result = both_engines(tmp_path, export, split_mb=1)
    assert_same_store(result["embedded"]["store"], result["spark"]["store"])
    assert essentials(result["spark"]["outcome"].report) == essentials(result["embedded"]["outcome"].report)


def test_refreshes_on_spark_match_embedded_refreshes_and_either_engine_resumes_the_other(spark, tmp_path):
    slices = split_by_time(DEMO, tmp_path / "slices", 3)
    plans = {"embedded": ["embedded"] * 3, "spark": ["spark"] * 3, "mixed": ["spark", "embedded", "spark"]}
    stores, reports = {}, {}
    for plan, engines in plans.items():
        store = LocalStore(tmp_path / f"ws-{plan}")
        for piece, engine in zip(slices, engines, strict=True):
            settings = spark_settings() if engine == "spark" else Settings.load()
            reports.setdefault(plan, []).append(refresh([piece], store, settings, Quarantine(None)).report)
        stores[plan] = store
    for plan in ("spark", "mixed"):
        assert_same_store(stores["embedded"], stores[plan])
        for ours, theirs in zip(reports[plan], reports["embedded"], strict=True):
            assert [c["cluster_id"] for c in ours["clusters"]] == [c["cluster_id"] for c in theirs["clusters"]]
            assert essentials(ours) == essentials(theirs)
    with pytest.raises(NothingNew):  # the same files again: nothing read, nothing written
        refresh([slices[0]], stores["spark"], spark_settings(), Quarantine(None))


def test_a_row_seen_before_is_not_loaded_again(spark, tmp_path):
    """A refresh whose file repeats rows an earlier run loaded (under another file hash) loads only the new rows."""
    store = LocalStore(tmp_path / "ws")
    run(DEMO, store, spark_settings(), Quarantine(None))
    again = tmp_path / "again"
    again.mkdir()
    with gzip.open(DEMO / "requests.csv.gz", "rt") as source:
        lines = source.read().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    (again / "requests.csv").write_text(header + "".join(body[:50]) + body[0])  # rows loaded before, and a repeat
    before = store.stats()["requests"].sum()
    with pytest.raises(NothingNew):
        refresh([again / "requests.csv"], store, spark_settings(), Quarantine(None))
    assert store.stats()["requests"].sum() == before


def test_cli_run_with_engine_spark_and_bad_engine_options(spark, tmp_path, no_store_from_env):
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(DEMO), "--workspace", str(tmp_path / "ws"), "--engine", "spark",
                                 "--master", "local[2]", "--format", "json", "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["accounts"] == 212 and report["summary"]["flagged_clusters"] >= 1
    bad = runner.invoke(app, ["run", str(DEMO), "--workspace", str(tmp_path / "ws2"), "--engine", "sparc"])
    assert bad.exit_code == 2 and "engine must be one of embedded, spark" in bad.output
    stray = runner.invoke(app, ["run", str(DEMO), "--workspace", str(tmp_path / "ws3"), "--master", "local[2]"])
    assert stray.exit_code == 2 and "--engine spark" in stray.output


def test_leader_linkage_is_refused_before_anything_is_written(spark, tmp_path):
    settings = spark_settings()
    settings = replace(settings, templates={**settings.templates, "linkage": "leader"})
    store = LocalStore(tmp_path / "ws")
    with pytest.raises(ConfigError, match="linkage"):
        run(DEMO, store, settings, Quarantine(None))
    assert store.runs() == []


def test_spark_ingest_into_neo4j_gives_the_embedded_graph_and_clusters(spark, neo4j_clean, tmp_path):
    """Ingest on Spark, then linking, detection, scoring and publishing on the Neo4j store, as with either engine."""
    from graphlinker.store.neo4j import Neo4jStore

    reference_store = LocalStore(tmp_path / "ws")
    reference = run(DEMO, reference_store, Settings.load(), Quarantine(None)).report
    with Neo4jStore(neo4j_clean) as store:
        report = run(DEMO, store, spark_settings(), Quarantine(None)).report
        usage = store.usage().sort_values(USAGE_KEY, ignore_index=True).astype({c: str for c in USAGE_KEY})
        theirs = reference_store.usage().sort_values(USAGE_KEY, ignore_index=True).astype({c: str for c in USAGE_KEY})
        pd.testing.assert_frame_equal(usage, theirs, check_dtype=False)
    assert essentials(report) == essentials(reference)
