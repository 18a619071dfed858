"""The whole-process benchmark: its medians and ratios, and one tiny run against a baseline worktree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "bench_run.py"
sys.path.insert(0, str(ROOT / "bench"))

import bench_run as B  # noqa: E402


def _runs(*pairs: tuple[float, float]) -> list[dict]:
    return [{"wall_s": wall, "peak_rss_mib": peak} for wall, peak in pairs]


def test_medians_and_ratios_against_each_baseline():
    summary = B.summarise({
        B.THIS_TREE: _runs((5.0, 800.0), (9.0, 900.0), (6.0, 700.0)),  # medians 6.0 s, 800 MiB
        "old": _runs((12.0, 1600.0), (13.0, 1700.0), (30.0, 1500.0)),  # medians 13.0 s, 1600 MiB: one slow outlier ignored
    })
    assert summary[B.THIS_TREE] == {"runs": 3, "median_wall_s": 6.0, "min_wall_s": 5.0, "max_wall_s": 9.0,
                                    "median_peak_rss_mib": 800.0}
    assert summary["old"]["median_wall_s"] == 13.0 and summary["old"]["max_wall_s"] == 30.0
    (label, r), = B.ratios(summary).items()
    assert label == "old"
    assert r["speedup"] == pytest.approx(13.0 / 6.0) and r["memory_ratio"] == pytest.approx(0.5)


def test_a_baseline_tree_is_imported_from_its_worktree(tmp_path):
    code = tmp_path / "checkout"
    env = B.tree_env(code)
    assert env["PYTHONPATH"].split(":")[0] == str(code)
    assert "PYTHONDONTWRITEBYTECODE" not in env  # every tree starts from its bytecode cache, as a user's does
    assert B.tree_env(None).get("PYTHONPATH") == os.environ.get("PYTHONPATH")  # this tree: the installed package


def test_a_run_that_would_import_another_tree_stops(tmp_path):
    # a "checkout" without graphlinker in it: the child would import the installed package instead
    with pytest.raises(SystemExit, match="would import graphlinker from"):
        B.check_imports(tmp_path / "not-a-checkout", tmp_path)
    B.check_imports(None, tmp_path)  # this tree: the installed package is this repository


@pytest.mark.slow
def test_tiny_run_against_head(tmp_path):
    """A tiny scenario, two rounds, this tree against HEAD's worktree: both reports scored, ratios printed."""
    work = tmp_path / "work"
    out = tmp_path / "run.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--scale", "0.05", "--runs", "2", "--baseline", "HEAD",
                           "--workdir", str(work), "--json", str(out)], capture_output=True, text=True, timeout=600)
    for checkout in work.glob("baseline-*"):  # the worktree the script made, unregistered again
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(checkout)], capture_output=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert list(result["runs"]) == [B.THIS_TREE, next(k for k in result["runs"] if k.startswith("HEAD ("))]
    for label, runs in result["runs"].items():
        assert len(runs) == 2 and all(r["wall_s"] > 0 and r["peak_rss_mib"] > 50 for r in runs)
        assert 0.0 <= result["quality"][label]["f1"] <= 1.0
        json.loads(Path(runs[-1]["report"]).read_text())  # a whole JSON report, as a user gets it
    assert "as fast" in proc.stdout and result["request_rows"] > 0
