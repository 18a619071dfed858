"""The Spark benchmark's pure pieces: requests in another format, the process-tree meter, the report
comparison, the ratios and the crossover. No Spark is started here (tests/test_spark_engine.py does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_spark as S  # noqa: E402


def _scenario(tmp_path: Path) -> dict:
    """A tiny cached-scenario lookalike: parquet requests with a missing token count, and the small files."""
    source = tmp_path / "scenarios" / "seed1-3"
    source.mkdir(parents=True)
    table = pa.table({
        "account_id": ["a1", "a2", "a3"], "ts": ["2026-09-01T00:00:00Z", "2026-09-01T00:00:01Z", "2026-09-01T00:00:02Z"],
        "ip": ["1.2.3.4", "1.2.3.5", None], "user_agent": ["ua", "ua", "ua"], "model": ["m", "m", "m"],
        "prompt": ['say "hi", then\nstop', "ünïcode", ""],
        "input_tokens": pa.array([1, None, 3], pa.int64()), "output_tokens": pa.array([4, 5, None], pa.int64())})
    pq.write_table(table, source / "requests.parquet")
    for name in S.SMALL_FILES:
        (source / name).write_text("account_id\na1\n")
    return {"label": "3", "target_rows": 3, "seed": 1, "scale": 0.01, "rows": 3, "path": str(source), "cached": True}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_requests_are_copied_into_a_sibling_scenario_with_the_same_values(tmp_path, fmt):
    scenario = _scenario(tmp_path)
    made = S.scenario_in_format(scenario, fmt)
    path = Path(made["path"])
    assert path.name == f"seed1-3-{fmt}" and not made["cached"] and made["rows"] == 3
    assert sorted(p.name for p in path.iterdir()) == sorted([*S.SMALL_FILES, f"requests.{fmt}", "scenario.json"])
    if fmt == "jsonl":
        lines = [json.loads(line) for line in (path / "requests.jsonl").read_text("utf-8").splitlines()]
        assert [line["input_tokens"] for line in lines] == [1, None, 3]  # integers, null when missing, never 1.0
        assert lines[0]["prompt"] == 'say "hi", then\nstop' and lines[1]["prompt"] == "ünïcode"
    else:
        frame = pd.read_csv(path / "requests.csv", dtype=str, keep_default_na=False)
        assert list(frame["input_tokens"]) == ["1", "", "3"] and frame["prompt"][0] == 'say "hi", then\nstop'
    again = S.scenario_in_format(scenario, fmt)  # cached: not written again
    assert again["cached"] and again["rows"] == 3 and again["source"] == scenario["path"]
    assert S.scenario_in_format(scenario, "parquet")["path"] == scenario["path"]


def test_the_copy_is_read_as_the_parquet_original_is(tmp_path):
    from graphlinker.ingest.readers import ExportReader, Quarantine

    scenario = _scenario(tmp_path)
    path = Path(S.scenario_in_format(scenario, "jsonl")["path"])

    def rows(file: Path) -> pd.DataFrame:
        return ExportReader(file.parent, Quarantine(None), files={"requests": file}).read("requests")

    original, copy = rows(Path(scenario["path"]) / "requests.parquet"), rows(path / "requests.jsonl")
    pd.testing.assert_frame_equal(original, copy)


def test_stat_lines_are_parsed_even_with_spaces_and_parens_in_the_name():
    fields = ["S", "42"] + ["0"] * 9 + ["150", "50"] + ["0"] * 8 + ["1000"] + ["0"] * 20
    ppid, comm, rss, ticks = S.parse_stat("123 (a (b) c) " + " ".join(fields))
    assert (ppid, comm, rss, ticks) == (42, "a (b) c", 1000 * S.PAGE, 200)
    assert S.parse_stat("garbage") is None


def test_the_tree_sum_covers_every_descendant_and_splits_driver_jvm_and_workers():
    mib = S.MIB
    table = {1: (0, "init", 5 * mib, 0), 10: (1, "python", 400 * mib, 0), 11: (10, "java", 3000 * mib, 0),
             12: (11, "python", 200 * mib, 0), 13: (12, "python", 150 * mib, 0), 14: (12, "python", 160 * mib, 0),
             20: (1, "python", 999 * mib, 0)}  # 20: not ours
    assert sorted(S.descendants(table, 10)) == [10, 11, 12, 13, 14]
    parts = S.tree_rss(table, 10)
    assert parts == {"total": 3910 * mib, "driver": 400 * mib, "jvm": 3000 * mib, "workers": 510 * mib, "processes": 5}
    assert S.tree_rss(table, 99)["total"] == 0  # gone


def test_the_sampler_sees_a_real_child_tree(tmp_path):
    # a child that starts a grandchild holding ~64 MiB: the tree's peak is above the child's own
    code = ("import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, '-c', 'b = bytearray(64 << 20); import time; time.sleep(1.5)']); "
            "time.sleep(1.5); p.wait()")
    proc = subprocess.Popen([sys.executable, "-c", code])
    sampler = S.TreeSampler(proc.pid, interval=0.05).start()
    proc.wait()
    time.sleep(0.1)
    sampler.stop()
    result = sampler.result()
    assert result["samples"] >= 5 and result["peak_processes"] == 2
    assert result["peak_tree_mib"] >= 64 + result["peak_breakdown_mib"]["driver"] * 0.9
    assert result["peak_breakdown_mib"]["workers"] >= 64 and result["peak_breakdown_mib"]["jvm"] == 0
    assert result["other_cpu_s"] >= 0 and os.getpid() not in S.descendants(S.read_proc(), proc.pid)


def _report(flagged: list[list[str]], other: list[list[str]] = (), **summary) -> dict:
    clusters = [{"cluster_id": f"f{i}", "flagged": True, "accounts": list(reversed(m))} for i, m in enumerate(flagged)]
    clusters += [{"cluster_id": f"o{i}", "flagged": False, "accounts": m} for i, m in enumerate(other)]
    return {"clusters": clusters, "summary": {"accounts": 10, "clusters": len(clusters), **summary}}


def test_reports_compare_on_sorted_flagged_members_and_the_summary():
    a = _report([["a", "b"], ["c", "d", "e"]], [["x", "y"]])
    b = _report([["e", "d", "c"], ["b", "a"]], [["x", "y"]])  # other order, other cluster ids: the same
    b["clusters"][0]["cluster_id"] = "zzz"
    same = S.compare_reports(a, b)
    assert same["same_clusters"] and same["same_all_clusters"] and same["summary_diff"] == {}
    moved = S.compare_reports(a, _report([["a", "b", "c"], ["d", "e"]], [["x", "y"]]))
    assert not moved["same_clusters"] and moved["same_summary"] and moved["flagged_only_spark"] == 2
    unflagged = S.compare_reports(a, _report([["a", "b"], ["c", "d", "e"]], [["x", "z"]], hubs=3))
    assert not unflagged["same_clusters"] and unflagged["same_flagged"] and not unflagged["same_all_clusters"]
    assert unflagged["summary_diff"] == {"hubs": [None, 3]}


def test_linear_fit_and_crossover():
    assert S.linear_fit([(1e6, 10.0)]) is None
    fixed, per_row = S.linear_fit([(1e6, 12.0), (5e6, 52.0), (3e6, 32.0)])
    assert fixed == pytest.approx(2.0) and per_row == pytest.approx(1e-5)
    # Spark: 60 s fixed, 5 s per million rows; embedded: 2 s fixed, 10 s per million → equal at 11.6M rows
    embedded = [(1e6, 12.0), (5e6, 52.0)]
    later = S.crossover(embedded, [(1e6, 65.0), (5e6, 85.0)])
    assert later["rows"] == pytest.approx(11.6e6) and "11.6M" in later["verdict"]
    assert later["fit"]["spark"]["s_per_million_rows"] == pytest.approx(5.0)
    never = S.crossover(embedded, [(1e6, 70.0), (5e6, 150.0)])
    assert never["rows"] is None and never["verdict"].startswith("never")
    assert S.crossover(embedded, [(1e6, 1.5), (5e6, 5.5)])["verdict"].startswith("Spark is faster at every size")
    assert S.crossover(embedded[:1], [(1e6, 5.0)])["fit"] is None


def test_ratios_and_extrapolation_skip_failed_runs():
    def run(label, engine, rows, wall, ingest, peak, failed=False):
        return {"label": label, "engine": engine, "rows": rows, "wall_s": wall, "ingest_s": ingest,
                "rest_s": wall - ingest, "peak_tree_mib": peak, **({"failed": True} if failed else {})}

    runs = [run("1M", "embedded", 1e6, 20.0, 10.0, 1000.0), run("1M", "spark", 1e6, 80.0, 70.0, 5000.0),
            run("5M", "embedded", 5e6, 100.0, 50.0, 4000.0), run("5M", "spark", 5e6, 0.0, 0.0, 0.0, failed=True)]
    (q,) = S.ratios(runs)
    assert q["label"] == "1M" and q["wall"] == pytest.approx(4.0) and q["ingest"] == pytest.approx(7.0)
    assert q["rest"] == pytest.approx(1.0) and q["peak_tree"] == pytest.approx(5.0)
    assert S.extrapolate(runs)["wall_s"]["verdict"] == "needs two sizes or more"


def test_last_error_line_finds_the_python_or_java_error():
    text = ("Traceback (most recent call last):\n  File \"x.py\", line 1\n"
            "py4j.protocol.Py4JJavaError: An error occurred while calling o1.parquet.\n"
            "\tat org.apache.spark.Foo(Foo.scala:1)\n")
    assert S.last_error_line(text).startswith("py4j.protocol.Py4JJavaError")
    assert S.last_error_line("") is None


def test_the_cli_equivalent_names_the_engine_and_split_size(tmp_path):
    embedded = S.cli_equivalent(tmp_path / "s", tmp_path / "w", "embedded", "local[2]", None, None)
    assert embedded.endswith("--format json") and "--engine" not in embedded
    spark = S.cli_equivalent(tmp_path / "s", tmp_path / "w", "spark", "local[2]", 32, None)
    assert "--engine spark --master local[2]" in spark and "split_mb = 32" in spark
