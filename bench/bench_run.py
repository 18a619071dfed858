"""Benchmark: the whole `graphlinker run` process, as a user starts it, against earlier revisions.

Issue 13 measures "whole-process runs": interpreter start, imports, the run, printing the JSON report and the
interpreter's shutdown, which ``bench_scale.py`` (the pipeline's stages inside one process) leaves out. This runs
``python -m graphlinker run SCENARIO --workspace W --format json --no-progress > report.json`` under
``/usr/bin/time -v`` (wall seconds; peak RSS of the process and its children), ``--runs`` times per tree, the
trees alternating within each round (this tree, then each ``--baseline`` revision from a git worktree under
``--workdir``), so a machine that slows down mid-benchmark slows every tree alike. Each tree first runs once
unmeasured (numba compiles its kernels into a new worktree's cache on the first call). Printed: per tree the
median, minimum and maximum wall, the median peak RSS and the report's precision, recall and F1 against the
scenario's ``truth.csv``; per baseline the speed-up (its median wall over this tree's) and memory ratio (this
tree's median peak over its). ``--json`` writes every run. Not a test: it asserts nothing.

    python bench/bench_run.py --scale 5 --seed 1                                   # one run, ~1M request rows
    python bench/bench_run.py --scenario DIR --runs 3 --baseline 004d610 --json F  # medians, against 004d610

``--scenario`` takes any export directory (``bench_scale.py`` keeps its simulated ones under
``WORK/scenarios/seed1-200000`` and so on); without it one is simulated (``--scale``, ``--seed``) into
``--workdir``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchutil import checkout

ROOT = Path(__file__).resolve().parents[1]
THIS_TREE = "this tree"


def timed(command: list[str], stdout, env: dict | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """Run ``command`` under /usr/bin/time -v; return (wall seconds, peak RSS MiB)."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", *command], stdout=stdout, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=cwd)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-3000:]}")
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return wall, rss_kib / 1024


def tree_env(code: Path | None) -> dict:
    """The environment that makes ``python -m graphlinker`` import graphlinker from ``code`` (None: this tree).

    The child must not start in a directory holding another ``graphlinker`` package: ``python -m`` puts its
    working directory ahead of ``PYTHONPATH`` (:func:`run_once` starts it in the work directory)."""
    env = dict(os.environ)
    # as on a user's machine, every tree imports from its bytecode cache (the warm-up run writes it): a tree
    # compiled from source on each start would be slower by ~0.5 s here for a reason no user sees
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if code is not None:  # ahead of the installed (editable) package
        env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [env.get("PYTHONPATH")])])
    return env


def check_imports(code: Path | None, workdir: Path) -> None:
    """Stop unless a child started as :func:`run_once` starts it imports graphlinker from ``code``'s tree."""
    proc = subprocess.run([sys.executable, "-c", "import graphlinker; print(graphlinker.__file__)"], env=tree_env(code),
                          cwd=workdir, capture_output=True, text=True, check=True)
    imported = Path(proc.stdout.strip()).resolve().parents[1]
    expected = (code or ROOT).resolve()
    if imported != expected:
        sys.exit(f"a run meant for {expected} would import graphlinker from {imported}")


def run_once(scenario: Path, workdir: Path, label: str, code: Path | None) -> dict:
    """One whole ``graphlinker run`` of ``scenario`` in a fresh workspace; wall, peak and the report's path."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-")
    workspace, report = workdir / f"workspace-{slug}", workdir / f"report-{slug}.json"
    shutil.rmtree(workspace, ignore_errors=True)
    command = [sys.executable, "-m", "graphlinker", "run", str(scenario), "--workspace", str(workspace), "--format", "json",
               "--no-progress"]
    with open(report, "w") as out:
        wall, rss = timed(command, out, tree_env(code), cwd=workdir)
    shutil.rmtree(workspace, ignore_errors=True)
    return {"wall_s": wall, "peak_rss_mib": rss, "report": str(report)}


def quality(report: Path, truth: Path) -> dict:
    """Precision, recall and F1 of a report against ``truth.csv`` (``graphlinker evaluate``)."""
    proc = subprocess.run([sys.executable, "-m", "graphlinker", "evaluate", str(report), str(truth), "--format", "json"],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout)
    return {k: result.get(k) for k in ("precision", "recall", "f1", "lookalike_share_flagged")}


def summarise(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per tree: median, minimum and maximum wall, median peak RSS, number of runs."""
    out = {}
    for label, measured in runs.items():
        walls, peaks = [r["wall_s"] for r in measured], [r["peak_rss_mib"] for r in measured]
        out[label] = {"runs": len(measured), "median_wall_s": statistics.median(walls), "min_wall_s": min(walls),
                      "max_wall_s": max(walls), "median_peak_rss_mib": statistics.median(peaks)}
    return out


def ratios(summary: dict[str, dict], this: str = THIS_TREE) -> dict[str, dict]:
    """Per baseline: speed-up (its median wall over this tree's) and memory ratio (this tree's median peak over its)."""
    mine = summary[this]
    return {label: {"speedup": s["median_wall_s"] / mine["median_wall_s"],
                    "memory_ratio": mine["median_peak_rss_mib"] / s["median_peak_rss_mib"]}
            for label, s in summary.items() if label != this}


def simulated(workdir: Path, scale: float, seed: int) -> Path:
    scenario = workdir / "scenario"
    wall, rss = timed([sys.executable, "-m", "graphlinker", "simulate", str(scenario), "--seed", str(seed), "--scale", str(scale),
                       "--requests-format", "parquet"], subprocess.DEVNULL)
    print(f"simulate: scale {scale} seed {seed} in {wall:.1f}s, peak RSS {rss:.0f} MiB", flush=True)
    return scenario


def request_rows(scenario: Path) -> int | None:
    import pyarrow.parquet as pq

    files = sorted(scenario.glob("requests*.parquet"))
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files) if files else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--scenario", type=Path, default=None, help="an export directory to run (default: simulate one)")
    parser.add_argument("--scale", type=float, default=5.0, help="simulator scale when no --scenario (5: ~1M request rows)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="measured runs per tree (the median is reported)")
    parser.add_argument("--baseline", action="append", default=[], metavar="REV",
                        help="also run graphlinker at this git revision (a worktree under --workdir); repeatable")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the scenario, worktrees and reports here")
    parser.add_argument("--json", type=Path, default=None, help="write every run and the summary to this file")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="graphlinker-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = args.scenario.resolve() if args.scenario else simulated(workdir, args.scale, args.seed)
    trees: dict[str, Path | None] = {THIS_TREE: None}
    for rev in args.baseline:
        made = checkout(ROOT, workdir, rev)
        trees[f"{rev} ({made['commit'][:12]})"] = made["path"]
    rows = request_rows(scenario)
    print(f"scenario {scenario}: {'?' if rows is None else f'{rows:,}'} request rows; trees: {', '.join(trees)}; {args.runs} run(s) each, alternating",
          flush=True)
    for label, code in trees.items():  # unmeasured: numba's compile cache of each tree
        check_imports(code, workdir)
        run_once(scenario, workdir, f"warm-up {label}", code)
    runs: dict[str, list[dict]] = {label: [] for label in trees}
    for round_no in range(args.runs):
        for label, code in trees.items():
            measured = run_once(scenario, workdir, label, code)
            measured["load_after"] = os.getloadavg()[0]
            runs[label].append(measured)
            print(f"round {round_no + 1} {label}: {measured['wall_s']:.2f}s, peak RSS {measured['peak_rss_mib']:.0f} MiB", flush=True)
    truth = scenario / "truth.csv"
    qualities = {label: quality(Path(r[-1]["report"]), truth) if truth.exists() else {} for label, r in runs.items()}
    summary = summarise(runs)
    print(f"\n{'tree':<28} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MiB':>9} {'precision':>9} {'recall':>7} {'F1':>6}")
    for label, s in summary.items():
        q = qualities[label]
        cells = "".join(f" {q[k]:>{w}.3f}" if q.get(k) is not None else f" {'-':>{w}}" for k, w in (("precision", 9), ("recall", 7), ("f1", 6)))
        print(f"{label:<28} {s['median_wall_s']:>9.2f} {s['min_wall_s']:>7.2f} {s['max_wall_s']:>7.2f} "
              f"{s['median_peak_rss_mib']:>9.0f}{cells}")
    compared = ratios(summary)
    for label, r in compared.items():
        print(f"this tree against {label}: {r['speedup']:.2f}x as fast, {r['memory_ratio']:.2f} of the peak memory")
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "bench_run", "command": " ".join([Path(sys.executable).name, *sys.argv]),
                                         "scenario": str(scenario), "request_rows": rows, "runs": runs, "summary": summary,
                                         "ratios": compared, "quality": qualities, "cpus": os.cpu_count()}, indent=2) + "\n")
        print(f"wrote {args.json}")
    print(f"artefacts in {workdir}")


if __name__ == "__main__":
    main()
