"""Benchmark: `graphlinker run` on a simulated scenario of ~1M request rows.

Prints wall time and peak resident memory of the run (measured by GNU time -v,
so the figure includes every child allocation), plus precision/recall of the
report against the scenario's truth. Not a test: it asserts nothing.

    python bench/bench_run.py --scale 5 --seed 1          # ~1M request rows
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(command: list[str], stdout) -> tuple[float, float]:
    """Run ``command`` under /usr/bin/time -v; return (wall seconds, peak RSS MiB)."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", *command], stdout=stdout, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return wall, rss_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="Keep the scenario and workspace here.")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="graphlinker-bench-"))
    scenario, workspace = workdir / "scenario", workdir / "workspace"
    exe = [sys.executable, "-m", "graphlinker"]

    wall, rss = timed([*exe, "simulate", str(scenario), "--seed", str(args.seed), "--scale", str(args.scale), "--requests-format", "parquet"], subprocess.DEVNULL)
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(scenario / "requests.parquet").metadata.num_rows
    print(f"simulate: scale {args.scale} seed {args.seed}: {rows:,} request rows in {wall:.1f}s, peak RSS {rss:.0f} MiB")

    report_path = workdir / "report.json"
    with open(report_path, "w") as out:
        wall, rss = timed([*exe, "run", str(scenario), "--workspace", str(workspace), "--format", "json", "--no-progress"], out)
    print(f"run: {rows:,} request rows in {wall:.1f}s ({rows / wall:,.0f} rows/s), peak RSS {rss:.0f} MiB")

    evaluation = subprocess.run([*exe, "evaluate", str(report_path), str(scenario / "truth.csv"), "--format", "json"], capture_output=True, text=True, check=True)
    result = json.loads(evaluation.stdout)
    print(
        f"quality: precision {result['precision']:.3f} recall {result['recall']:.3f} F1 {result['f1']:.3f}; "
        f"look-alike accounts flagged {result['lookalike_share_flagged']:.3f} ({result['lookalike_groups_flagged']} groups)"
    )
    print(f"artefacts in {workdir}")


if __name__ == "__main__":
    main()
